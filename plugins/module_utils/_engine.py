# -*- coding: utf-8 -*-
# Copyright (c) fleetota.cloud developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Vendor-neutral orchestration behind the modules: read, plan, act, wait.

The platform client knows the vendor; this file knows the order of things, which is the
same for all of them. Clock and sleep are injected so tests can run the wait loop fast.
"""

import math
import time

from ansible_collections.fleetota.cloud.plugins.module_utils import _plan as plan
from ansible_collections.fleetota.cloud.plugins.module_utils._cache import LOCK_WAIT_TIMEOUTS, StartLock
from ansible_collections.fleetota.cloud.plugins.module_utils._errors import AuthError, ConfigError, FleetotaError, OutcomeUnknownError
from ansible_collections.fleetota.cloud.plugins.module_utils._models import Progress, StartResult
from ansible_collections.fleetota.cloud.plugins.module_utils._versions import parse_version, same_version


def clean_device_ids(devices, option='devices'):
    """Validate a list of device ids: non-empty strings, duplicates dropped, order kept."""
    if not devices:
        raise ConfigError('%s is empty: give at least one device id' % option)
    ids = []
    seen = set()
    for index, value in enumerate(devices):
        text = '' if value is None else str(value).strip()
        if not text:
            raise ConfigError('%s[%d] is empty: every entry must be a device id' % (option, index))
        if text not in seen:
            seen.add(text)
            ids.append(text)
    return ids


def _versions_text(firmwares):
    versions = sorted(set(fw.version for fw in firmwares if fw.parsed_version is not None), key=parse_version)
    return ', '.join(versions) if versions else 'none'


def device_info(device, catalog, fits, include_unreleased, last_upgrade_failed=None):
    latest = plan.latest_firmware(device, catalog, fits, include_unreleased)
    latest_version = latest.version if latest is not None else None
    current = device.current_version
    upgrade_available = False
    if latest is not None:
        current_parsed = plan.try_parse_version(current)
        upgrade_available = current_parsed is None or latest.parsed_version > current_parsed
    return {
        'id': device.id,
        'name': device.name,
        'product': device.product,
        'hardware_version': device.hardware_version,
        'online': device.online,
        'current_version': current,
        'latest_version': latest_version,
        'upgrade_available': upgrade_available,
        'upgrading': device.upgrading,
        'last_upgrade_failed': last_upgrade_failed,
    }


def _sort_firmwares(firmwares):
    return sorted(firmwares, key=lambda fw: (str(fw.product), str(fw.hardware_version), fw.parsed_version is None,
                                             fw.parsed_version if fw.parsed_version is not None else 0), reverse=False)


def _listed(firmware, product, hardware_version, include_unreleased):
    if not (firmware.released or include_unreleased):
        return False
    if product is not None and firmware.product != str(product):
        return False
    return hardware_version is None or firmware.hardware_version == hardware_version


def run_info(client, devices=None, product=None, hardware_version=None, include_unreleased=False):
    """What firmware exists and, for the devices asked about, what they run and could run."""
    result = {'changed': False}
    ordered = None
    if devices is not None:
        ids = clean_device_ids(devices)
        found = client.get_devices(ids)
        unknown = [device_id for device_id in ids if device_id not in found]
        if unknown:
            raise ConfigError('%d device id(s) not found on %s: %s' % (len(unknown), client.platform, first_few(unknown)))
        ordered = [found[device_id] for device_id in ids]
    catalog = client.list_firmwares(devices=ordered, product=product, hardware_version=hardware_version)
    visible = [fw for fw in catalog if _listed(fw, product, hardware_version, include_unreleased)]
    result['firmwares'] = [fw.to_dict() for fw in _sort_firmwares(visible)]
    if ordered is not None:
        result['devices'] = [device_info(device, catalog, client.firmware_fits, include_unreleased, client.last_upgrade_failed(device))
                             for device in ordered]
    return result


# Refusals in a row (each after the client renewed its session or token) that end a wait early.
AUTH_REFUSALS_TO_STOP = 3


class UpgradeRun:
    """One firmware_upgrade invocation: validate, plan, act, wait, report."""

    def __init__(self, client, devices, version=None, firmware_id=None, allow_downgrade=False, force=False, include_unreleased=False,
                 wait=True, wait_timeout=3600.0, poll_interval=10.0, clock=time.monotonic, sleep=time.sleep):
        self.client = client
        self.ids = clean_device_ids(devices)
        if (version is None) == (firmware_id is None):
            raise ConfigError('give exactly one of version and firmware_id (got %s)' % ('both' if version is not None else 'neither'))
        if version is not None:
            version = str(version).strip()
            if version != plan.LATEST:
                try:
                    parse_version(version)
                except ValueError as exc:
                    raise ConfigError("version: %s, or 'latest'" % exc)
        self.version = version
        self.firmware_id = firmware_id
        self.allow_downgrade = allow_downgrade
        self.force = force
        self.include_unreleased = include_unreleased
        self.wait = wait
        if not _positive_number(wait_timeout):
            raise ConfigError("wait_timeout '%s' is not valid: expected a positive, finite number of seconds" % (wait_timeout,))
        if not _positive_number(poll_interval):
            raise ConfigError("poll_interval '%s' is not valid: expected a positive, finite number of seconds" % (poll_interval,))
        self.wait_timeout = float(wait_timeout)
        self.poll_interval = float(poll_interval)
        self.clock = clock
        self.sleep = sleep
        self.items = []
        self.requested = False
        # id -> why: devices whose upgrade request's outcome is unknown and that showed no sign of it yet
        self.unconfirmed = {}

    # -- plan ----------------------------------------------------------------------------

    def _find_firmware(self, catalog):
        wanted = str(self.firmware_id).strip()
        for firmware in catalog:
            if str(firmware.id) == wanted:
                if not firmware.released and not self.include_unreleased:
                    raise ConfigError('firmware_id %s (%s) is a test/unreleased firmware: set include_unreleased=true to install it'
                                      % (wanted, firmware.version))
                return firmware
        raise ConfigError('firmware_id %s is not in the %s catalog for the products of these devices; available ids: %s' % (
            wanted, self.client.platform, first_few(['%s (%s %s)' % (fw.id, fw.product, fw.version) for fw in _sort_firmwares(catalog)], 10) or 'none'))

    def make_plan(self):
        found = self.client.get_devices(self.ids)
        devices = [found[device_id] for device_id in self.ids if device_id in found]
        unknown = [device_id for device_id in self.ids if device_id not in found]
        catalog = self.client.list_firmwares(devices=devices) if devices else []
        fixed = self._find_firmware(catalog) if self.firmware_id is not None else None
        pinned = self.version not in (None, plan.LATEST)
        usable = [fw for fw in catalog if fw.released or self.include_unreleased]
        offered = pinned and any(fw.parsed_version == parse_version(self.version) for fw in usable)
        items, needing = [], []
        for device_id in self.ids:
            device = found.get(device_id)
            if device is None:
                items.append(plan.plan_unknown(device_id, self.client.platform))
                continue
            firmware, reason = plan.resolve_target(device, catalog, self.client.firmware_fits, version=self.version, firmware=fixed,
                                                   include_unreleased=self.include_unreleased, explain=self.client.firmware_misfit)
            if firmware is None:
                # A device at or past a pinned version needs no firmware, whether or not the vendor still offers it.
                item = plan.plan_unoffered(device, self.version, self.allow_downgrade, self.force) if pinned else None
                if item is None and pinned and not offered:
                    needing.append(device_id)
                items.append(item or plan.plan_incompatible(device, reason))
            else:
                item = plan.plan_device(device, firmware, self.allow_downgrade, self.force)
                blocker = self.client.upgrade_blocker(firmware, device) if item.status == plan.WOULD_UPGRADE else None
                if blocker:
                    # Known before any write: check mode reports it, and the run sends nothing for it.
                    item.status, item.msg = plan.FAILED, blocker
                items.append(item)
        if needing:
            hidden = any(fw.parsed_version == parse_version(self.version) for fw in catalog)
            raise ConfigError('version %s is %s for the products of these devices; available versions: %s (%s)' % (
                self.version,
                'a test/unreleased firmware (set include_unreleased=true to install it)' if hidden else 'not in the %s catalog' % self.client.platform,
                _versions_text(usable), _needing_text(needing)))
        self.items = items
        return unknown

    # -- act -----------------------------------------------------------------------------

    def _start(self):
        batches = {}
        for item in self.items:
            if item.status == plan.WOULD_UPGRADE:
                batches.setdefault(str(item.firmware.id), []).append(item)
        unknown = []
        for key in sorted(batches):
            batch = batches[key]
            try:
                answers = self.client.start_upgrade(batch[0].firmware, [item.device for item in batch], upgrade_timeout=self.wait_timeout)
            except OutcomeUnknownError as exc:
                # Sent, but it may or may not have been applied: never repeated; the devices' state decides (below).
                answers = dict((item.id, StartResult(StartResult.UNKNOWN, str(exc))) for item in batch)
            except FleetotaError as exc:
                for item in batch:
                    item.status, item.msg = plan.FAILED, 'upgrade request failed: %s' % exc
                continue
            for item in batch:
                answer = answers.get(item.id) or StartResult(StartResult.FAILED, 'no answer for this device')
                if answer.status == StartResult.STARTED:
                    item.status, self.requested = plan.STARTED, True
                    item.msg = 'upgrade to %s started' % item.target_version
                elif answer.status == StartResult.IN_PROGRESS:
                    item.status, item.msg = plan.IN_PROGRESS, answer.msg
                elif answer.status == StartResult.UNKNOWN:
                    self.requested = True
                    unknown.append((item, answer.msg or 'the upgrade request got no clear answer'))
                else:
                    item.status, item.msg = plan.FAILED, answer.msg
        if unknown:
            self._settle_unknown(unknown)

    def _settle_unknown(self, unknown):
        """Decide per device after an upgrade request whose outcome is unknown (lost, late or unreadable answer).

        Such a request is never sent again: the original may still be processed after a retry's upgrade
        finished, and the device would be flashed twice. The devices' own state says what happened: one
        upgrading, or already at the target, got it and is waited for; one idle at its old version may
        still get it (a late request), so it is waited for as well, and reported failed (nothing re-sent)
        only if it never starts before wait_timeout.
        """
        try:
            found = self.client.get_devices([item.id for item, _reason in unknown])
            reread_error = None
        except FleetotaError as exc:
            found, reread_error = {}, exc
        for item, reason in unknown:
            device = found.get(item.id)
            if device is not None:
                item.device, item.current_version = device, device.current_version
            if device is not None and device.upgrading:
                item.status = plan.IN_PROGRESS
                item.msg = 'the upgrade request got no clear answer (%s); the device is upgrading: waiting for it' % reason
            elif device is not None and same_version(device.current_version, item.target_version) and not item.forced:
                item.status = plan.STARTED
                item.msg = 'the upgrade request got no clear answer (%s); the device is at %s' % (reason, item.target_version)
            else:
                seen = ('re-reading the device failed too (%s)' % reread_error if reread_error is not None
                        else 'the device showed no upgrade at %s' % (device.current_version if device is not None else 'its old version'))
                self.unconfirmed[item.id] = '%s; %s' % (reason, seen)
                item.status = plan.STARTED if self.wait else plan.FAILED
                item.msg = _unknown_outcome(self.unconfirmed[item.id])

    def _wait(self):
        pending = dict((item.id, item) for item in self.items if item.status in (plan.STARTED, plan.IN_PROGRESS))
        # A device counts as having worked on the upgrade once seen busy; until then an idle
        # device at its old version has simply not picked the job up yet.
        seen_busy = set(item.id for item in pending.values() if item.device.upgrading)
        deadline = self.clock() + self.wait_timeout
        phases = {}
        read_error, refused = None, 0
        while pending:
            # A read that fails while waiting says nothing about the devices: it is retried at the poll
            # interval until wait_timeout, and only a device's own state decides its outcome.
            try:
                progress = self.client.poll([item.device for item in pending.values()])
                read_error, refused = None, 0
            except AuthError as exc:
                # The client already renewed its session or token for this read: refused again and again,
                # the credentials were revoked and no later read will succeed. Stop waiting, outcome unknown.
                progress, read_error, refused = {}, exc, refused + 1
                if refused >= AUTH_REFUSALS_TO_STOP:
                    self._stop_waiting(pending, phases, 'reading the upgrade progress was refused %d times in a row (%s)' % (refused, exc))
                    return
            except FleetotaError as exc:
                progress, read_error = {}, exc
            for device_id in list(pending):
                item, state = pending[device_id], progress.get(device_id)
                if state is None:
                    continue
                item.current_version = state.current_version
                phases[device_id] = state.phase
                at_target = same_version(state.current_version, item.target_version)
                if state.state == Progress.UPGRADING:
                    seen_busy.add(device_id)
                elif device_id in self.unconfirmed and device_id not in seen_busy and not at_target:
                    continue    # no sign of the request yet (a failure shown now is an earlier upgrade's)
                elif state.state == Progress.FAILED:
                    item.status, item.msg = plan.FAILED, state.msg or 'the upgrade failed'
                    del pending[device_id]
                elif at_target and (device_id in seen_busy or not item.forced):
                    item.status, item.msg = plan.SUCCEEDED, 'now at %s' % item.target_version
                    del pending[device_id]
                elif device_id in seen_busy and not at_target:
                    item.status = plan.FAILED
                    item.msg = 'the upgrade ended at version %s instead of %s' % (state.current_version, item.target_version)
                    del pending[device_id]
            if not pending:
                return
            remaining = deadline - self.clock()
            if remaining <= 0:
                for device_id, item in pending.items():
                    if device_id in self.unconfirmed and device_id not in seen_busy:
                        item.status = plan.FAILED
                        item.msg = _unknown_outcome(self.unconfirmed[device_id],
                                                    'it did not start within wait_timeout=%ss' % _number(self.wait_timeout))
                    elif read_error is not None:
                        item.status = plan.TIMED_OUT
                        item.msg = ('not confirmed at %s after wait_timeout=%ss: its state could not be read (last read error: %s; '
                                    'last seen: %s); the upgrade may still finish' % (
                                        item.target_version, _number(self.wait_timeout), read_error, phases.get(device_id) or 'no progress report'))
                    else:
                        item.status = plan.TIMED_OUT
                        item.msg = 'not at %s after wait_timeout=%ss (last seen: %s); the upgrade may still finish' % (
                            item.target_version, _number(self.wait_timeout), phases.get(device_id) or 'no progress report')
                return
            self.sleep(min(self.poll_interval, remaining))

    @staticmethod
    def _stop_waiting(pending, phases, reason):
        """End the wait before wait_timeout: every device still pending has an unknown outcome (timed_out, never failed)."""
        for device_id, item in pending.items():
            item.status = plan.TIMED_OUT
            item.msg = 'stopped waiting: %s; last seen: %s; the upgrade may still finish' % (reason, phases.get(device_id) or 'no progress report')

    # -- two runs, one controller -------------------------------------------------------------

    def _start_lock(self):
        transport = self.client.transport
        timeout = getattr(transport, 'timeout', None) or 30.0
        return StartLock(self.client.platform, getattr(transport, 'endpoint', ''), self.client.account, LOCK_WAIT_TIMEOUTS * float(timeout))

    def _locked_start(self, lock, generation):
        """Start under the account's start lock, after re-reading the devices another run may have started since the plan."""
        if not any(item.status == plan.WOULD_UPGRADE for item in self.items):
            return
        with lock:
            if lock.held:
                self._replan(lock.started_since(generation))
            sent = [item.id for item in self.items if item.status == plan.WOULD_UPGRADE]
            try:
                self._start()
            finally:
                lock.record(sent)

    def _replan(self, changed):
        """Plan again the devices about to be started that another run sent since our plan (all of them when changed is None):
        one now upgrading is waited for, not restarted; one now at the target is already current."""
        items = [item for item in self.items if item.status == plan.WOULD_UPGRADE and (changed is None or item.id in changed)]
        if not items:
            return
        fresh = self.client.get_devices([item.id for item in items])
        for item in items:
            device = fresh.get(item.id)
            if device is None:
                continue        # no longer listed: the start request reports it
            again = plan.plan_device(device, item.firmware, self.allow_downgrade, self.force)
            item.device = device
            if again.status != plan.WOULD_UPGRADE:
                item.previous_version, item.current_version = again.previous_version, again.current_version
                item.action, item.status, item.forced = again.action, again.status, again.forced
                item.msg = '%s (changed since the plan: another run acted on this device)' % again.msg

    # -- report --------------------------------------------------------------------------

    def run(self, check_mode=False):
        """Returns (result, failure message or None)."""
        lock = None if check_mode else self._start_lock()
        generation = lock.generation() if lock is not None else None     # read before the plan: what later holders sent
        unknown = self.make_plan()
        if unknown:
            return self._report(check_mode), 'no upgrade was sent: %d device id(s) not found on %s: %s' % (
                len(unknown), self.client.platform, first_few(unknown))
        if not check_mode:
            self._locked_start(lock, generation)
            if self.wait:
                self._wait()
        result = self._report(check_mode)
        if lock is not None and lock.warning:
            result['warnings'] = [lock.warning]
        failed = [item for item in self.items if item.status in (plan.FAILED, plan.TIMED_OUT)]
        if failed:
            shown = '; '.join('%s: %s' % (item.id, item.msg) for item in failed[:5])
            more = ' (and %d more)' % (len(failed) - 5) if len(failed) > 5 else ''
            return result, '%d of %d device(s) did not complete: %s%s' % (len(failed), len(self.items), shown, more)
        return result, None

    def _report(self, check_mode):
        summary = plan.summarize(self.items)
        if check_mode:
            changed = summary[plan.WOULD_UPGRADE] > 0
        else:
            changed = self.requested or any(
                item.device is not None and not same_version(item.previous_version, item.current_version) for item in self.items)
        counts = ', '.join('%d %s' % (count, status.replace('_', ' ')) for status, count in summary.items() if count)
        return {
            'changed': changed,
            'devices': [item.result() for item in self.items],
            'summary': summary,
            'jobs': list(self.client.jobs),
            'msg': counts or 'nothing to do',
            'diff': self.diff(),
        }

    def diff(self):
        before, after = [], []
        for item in self.items:
            if item.action == plan.UPGRADE and item.status != plan.FAILED:
                before.append('%s: %s\n' % (item.id, item.previous_version))
                after.append('%s: %s\n' % (item.id, item.target_version))
        return {'before': ''.join(before), 'after': ''.join(after), 'before_header': 'firmware', 'after_header': 'firmware'}


def _unknown_outcome(reason, seen=None):
    return ("the upgrade request's outcome is unknown (%s)%s; nothing was re-sent, so that the device cannot be flashed twice: "
            "check it in the vendor's console, or re-run (a re-run waits for an upgrade under way)" % (reason, '; ' + seen if seen else ''))


def _positive_number(value):
    """A real number above 0: not a bool, not NaN (which compares false with everything), not infinity."""
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value) and value > 0


def first_few(items, shown=5):
    """The first `shown` items and how many more: a message about 5,000 ids stays a line, not 50 KB."""
    items = [str(item) for item in items]
    more = ' ... and %d more' % (len(items) - shown) if len(items) > shown else ''
    return ', '.join(items[:shown]) + more


def _needing_text(ids):
    return 'needed by %d device(s): %s' % (len(ids), first_few(ids))


def _number(value):
    return int(value) if float(value).is_integer() else value
