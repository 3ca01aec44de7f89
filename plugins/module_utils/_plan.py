# -*- coding: utf-8 -*-
# Copyright (c) fleetota.cloud developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The plan: per device, current -> target -> action. Computed once, used by check mode,
diff and the real run alike, so check mode cannot say something the run would not do."""

from ansible_collections.fleetota.cloud.plugins.module_utils._versions import try_parse_version

LATEST = 'latest'

# actions
UPGRADE = 'upgrade'
NONE = 'none'
DOWNGRADE_REFUSED = 'downgrade_refused'
INCOMPATIBLE = 'incompatible'

# statuses
SUCCEEDED = 'succeeded'
ALREADY_CURRENT = 'already_current'
STARTED = 'started'
IN_PROGRESS = 'in_progress'
WOULD_UPGRADE = 'would_upgrade'
SKIPPED = 'skipped'
FAILED = 'failed'
TIMED_OUT = 'timed_out'
# stopped before it ran: the vendor canceled its pending upgrade (max_failures passed, or the run was interrupted)
CANCELED = 'canceled'
# offline at plan time and left alone (offline=skip, or offline=queue where the vendor queues nothing): a later run picks it up
DEFERRED_OFFLINE = 'deferred_offline'
# offline, sent where the vendor keeps the upgrade queued until the device reconnects (offline=queue): not waited for
QUEUED = 'queued'
STATUSES = (SUCCEEDED, ALREADY_CURRENT, STARTED, IN_PROGRESS, WOULD_UPGRADE, SKIPPED, FAILED, TIMED_OUT, CANCELED, DEFERRED_OFFLINE, QUEUED)

# failure kinds of a failed or timed_out device
FAILURE_FAILED = 'failed'           # the upgrade ran on the device and failed
FAILURE_TIMED_OUT = 'timed_out'     # not confirmed at the target within wait_timeout
FAILURE_OFFLINE = 'offline'         # the vendor refused it because the device is offline (offline=fail)
FAILURE_REFUSED = 'refused'         # refused before anything ran on the device: blocker, not found, the vendor refused the request
FAILURE_KINDS = (FAILURE_FAILED, FAILURE_TIMED_OUT, FAILURE_OFFLINE, FAILURE_REFUSED)


class PlanItem:
    """One device's line of the plan, updated in place as the run acts and waits."""

    __slots__ = ('id', 'device', 'firmware', 'previous_version', 'target_version', 'current_version', 'action', 'status', 'msg', 'forced',
                 'attempts', 'failure')

    def __init__(self, device_id, device=None, firmware=None, action=NONE, status=SKIPPED, msg=None):
        self.id = device_id
        self.device = device
        self.firmware = firmware
        self.previous_version = device.current_version if device is not None else None
        self.current_version = self.previous_version
        self.target_version = firmware.version if firmware is not None else None
        self.action = action
        self.status = status
        self.msg = msg
        self.forced = False
        self.attempts = 0           # upgrade requests sent for this device by this run (vendor retries included where known)
        self.failure = None         # the kind of a failed or timed_out device (FAILURE_KINDS)

    def fail(self, kind, msg, status=FAILED):
        """End the device failed (or timed_out) with the kind of its failure."""
        self.status, self.failure, self.msg = status, kind, msg

    def result(self):
        return {
            'id': self.id,
            'previous_version': self.previous_version,
            'target_version': self.target_version,
            'current_version': self.current_version,
            'action': self.action,
            'status': self.status,
            'msg': self.msg,
            'attempts': self.attempts,
            'failure': self.failure if self.status in (FAILED, TIMED_OUT) else None,
        }


def _newest(firmwares):
    ranked = [fw for fw in firmwares if fw.parsed_version is not None]
    if not ranked:
        return None
    # Highest version; among equal versions prefer a released one, then the newest catalog entry.
    return max(ranked, key=lambda fw: (fw.parsed_version, fw.released, str(fw.id)))


def describe_hardware(device):
    text = 'product %s' % device.product
    if device.hardware_version:
        text += ' hardware %s' % device.hardware_version
    return text


def latest_firmware(device, catalog, fits, include_unreleased=False):
    """The newest firmware in the catalog that fits the device (released only, unless asked)."""
    return _newest([fw for fw in catalog if (fw.released or include_unreleased) and fits(fw, device)])


def resolve_target(device, catalog, fits, version=None, firmware=None, include_unreleased=False, explain=None):
    """Return (firmware, None) or (None, reason) for what `device` should run.

    `explain(firmware, device)` may give the platform's own reason why a firmware does not fit.
    """
    if firmware is not None:
        if fits(firmware, device):
            return firmware, None
        reason = explain(firmware, device) if explain is not None else None
        return None, reason or 'firmware %s (%s) is for product %s hardware %s; the device is %s' % (
            firmware.id, firmware.version, firmware.product, firmware.hardware_version or 'any', describe_hardware(device))
    if version == LATEST:
        newest = latest_firmware(device, catalog, fits, include_unreleased)
        if newest is None:
            return None, 'no %sfirmware in the catalog fits %s' % ('' if include_unreleased else 'released ', describe_hardware(device))
        return newest, None
    wanted = try_parse_version(version)
    matches = [fw for fw in catalog if fits(fw, device) and fw.parsed_version == wanted and (fw.released or include_unreleased)]
    if not matches:
        reasons = []
        if explain is not None:
            for candidate in catalog:
                if candidate.parsed_version == wanted and (candidate.released or include_unreleased):
                    reason = explain(candidate, device)
                    if reason and reason not in reasons:
                        reasons.append(reason)
        if reasons:
            return None, '; '.join(reasons)
        return None, 'version %s is not in the catalog for %s' % (version, describe_hardware(device))
    return _newest(matches), None


def plan_device(device, firmware, allow_downgrade=False, force=False):
    """Decide the action for one device with a resolved target firmware."""
    item = PlanItem(device.id, device, firmware)
    current = try_parse_version(device.current_version)
    target = firmware.parsed_version
    if device.upgrading:
        item.action, item.status = UPGRADE, IN_PROGRESS
        item.msg = 'an upgrade is already in progress; it is waited for, not restarted'
        return item
    if current is None:
        item.action, item.status = UPGRADE, WOULD_UPGRADE
        item.msg = "current version '%s' is unknown; upgrading to %s" % (device.current_version, firmware.version)
    elif current == target and not force:
        item.action, item.status = NONE, ALREADY_CURRENT
        item.msg = 'already at %s' % firmware.version
    elif current == target:
        item.action, item.status, item.forced = UPGRADE, WOULD_UPGRADE, True
        item.msg = 'already at %s; re-sent because force=true' % firmware.version
    elif current > target and not allow_downgrade:
        item.action, item.status = DOWNGRADE_REFUSED, SKIPPED
        item.msg = 'runs %s, newer than the target %s; set allow_downgrade=true to downgrade' % (device.current_version, firmware.version)
    elif current > target:
        item.action, item.status = UPGRADE, WOULD_UPGRADE
        item.msg = 'downgrade from %s to %s (allow_downgrade=true)' % (device.current_version, firmware.version)
    else:
        item.action, item.status = UPGRADE, WOULD_UPGRADE
        item.msg = 'upgrade from %s to %s' % (device.current_version, firmware.version)
    return item


def plan_unoffered(device, version, allow_downgrade=False, force=False):
    """The plan of a device whose target `version` the catalog does not offer it, or None when it needs that firmware.

    Vendors drop old versions from what they offer (Tuya lists only what a device can upgrade to), so
    the running version alone decides: a device already at the target is current, one newer than
    the target is refused a downgrade, whether or not the vendor still offers the target.
    """
    current = try_parse_version(device.current_version)
    wanted = try_parse_version(version)
    if current is None or wanted is None or device.upgrading:
        return None
    item = PlanItem(device.id, device, None)
    item.target_version = version
    if current == wanted and not force:
        item.action, item.status = NONE, ALREADY_CURRENT
        item.msg = 'already at %s' % version
        return item
    if current > wanted and not allow_downgrade:
        item.action, item.status = DOWNGRADE_REFUSED, SKIPPED
        item.msg = 'runs %s, newer than the target %s; set allow_downgrade=true to downgrade' % (device.current_version, version)
        return item
    return None


def plan_incompatible(device, reason):
    return PlanItem(device.id, device, None, action=INCOMPATIBLE, status=SKIPPED, msg=reason)


def plan_unknown(device_id, platform):
    item = PlanItem(device_id, None, None, action=NONE)
    item.fail(FAILURE_REFUSED, 'device %s not found on %s' % (device_id, platform))
    return item


def summarize(items):
    summary = dict((status, 0) for status in STATUSES)
    for item in items:
        summary[item.status] = summary.get(item.status, 0) + 1
    return summary
