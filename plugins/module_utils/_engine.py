# -*- coding: utf-8 -*-
# Copyright (c) fleetota.cloud developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Vendor-neutral orchestration behind the modules: read, plan, act, wait.

The platform client knows the vendor; this file knows the order of things, which is the
same for all of them. Clock and sleep are injected so tests can run the wait loop fast.
"""

import math
import signal
import threading
import time

from ansible_collections.fleetota.cloud.plugins.module_utils import _plan as plan
from ansible_collections.fleetota.cloud.plugins.module_utils._cache import LOCK_WAIT_TIMEOUTS, NoLock, StartLock
from ansible_collections.fleetota.cloud.plugins.module_utils._errors import AuthError, ConfigError, FleetotaError, OutcomeUnknownError
from ansible_collections.fleetota.cloud.plugins.module_utils._models import CancelResult, Progress, StartResult
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

# What firmware_upgrade does with a device offline at plan time.
OFFLINE_SKIP = 'skip'
OFFLINE_QUEUE = 'queue'
OFFLINE_FAIL = 'fail'
OFFLINE_CHOICES = (OFFLINE_SKIP, OFFLINE_QUEUE, OFFLINE_FAIL)

# The signals that stop a run at its next safe point (the module installs the handlers).
STOP_SIGNALS = ('SIGTERM', 'SIGINT')


def failure_limit(value, total, option='max_failures'):
    """The most failures allowed among `total` devices, from a count (int or digit string) or a percent ('10%', rounded down); None = no limit."""
    if value is None:
        return None
    bad = ConfigError("%s '%s' is not valid: expected a count of devices (0 or more, e.g. 2) or a percent of this call's devices "
                      "from 0%% to 100%% (e.g. '10%%')" % (option, value))
    if isinstance(value, bool):
        raise bad
    if isinstance(value, int):
        if value < 0:
            raise bad
        return value
    text = str(value).strip()
    if text.endswith('%'):
        number = text[:-1].strip()
        try:
            percent = float(number)
        except ValueError:
            raise bad
        if not number or not math.isfinite(percent) or percent < 0 or percent > 100:
            raise bad
        return int(math.floor(total * percent / 100.0 + 1e-9))
    if text.isdigit():
        return int(text)
    raise bad


def signal_name(signum):
    try:
        return signal.Signals(signum).name
    except ValueError:
        return 'signal %s' % signum


class StopOnSignals:
    """Install `handler(signum, frame)` for SIGTERM and SIGINT while in the block; the previous handlers come back after.

    The handler only records the signal (a write under way keeps its answer); the run acts on it at its next safe point.
    """

    def __init__(self, handler):
        self.handler = handler
        self.saved = {}

    def __enter__(self):
        for name in STOP_SIGNALS:
            signum = getattr(signal, name, None)
            if signum is None:
                continue
            try:
                self.saved[signum] = signal.signal(signum, self.handler)
            except (ValueError, OSError):
                pass        # not the main thread: signals stay as they were
        return self

    def __exit__(self, *exc_info):
        for signum, previous in self.saved.items():
            signal.signal(signum, previous if previous is not None else signal.SIG_DFL)
        self.saved = {}
        return False


class UpgradeRun:
    """One firmware_upgrade invocation: validate, plan, act, wait (retry, abort), report."""

    def __init__(self, client, devices, version=None, firmware_id=None, allow_downgrade=False, force=False, include_unreleased=False,
                 wait=True, wait_timeout=3600.0, poll_interval=10.0, max_failures=None, retries=0, retry_delay=60.0, offline=OFFLINE_FAIL,
                 clock=time.monotonic, sleep=None):
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
        self.max_failures_text = None if max_failures is None else str(max_failures).strip()
        self.max_failures = failure_limit(max_failures, len(self.ids))
        if isinstance(retries, bool) or not isinstance(retries, int) or retries < 0:
            raise ConfigError("retries '%s' is not valid: expected a whole number of retries, 0 or more" % (retries,))
        if isinstance(retry_delay, bool) or not isinstance(retry_delay, (int, float)) or not math.isfinite(retry_delay) or retry_delay < 0:
            raise ConfigError("retry_delay '%s' is not valid: expected a finite number of seconds, 0 or more" % (retry_delay,))
        if offline not in OFFLINE_CHOICES:
            raise ConfigError("offline '%s' is not valid: expected one of %s" % (offline, ', '.join(OFFLINE_CHOICES)))
        self.retries = retries
        self.retry_delay = float(retry_delay)
        self.offline = offline
        self.clock = clock
        self.sleep = sleep
        self.items = []
        self.requested = False
        # id -> why: devices whose upgrade request's outcome is unknown and that showed no sign of it yet
        self.unconfirmed = {}
        self.native = False             # the vendor retries failed devices itself (client.native_retries)
        self.lock = None
        self.aborted = None             # why the run stopped early (max_failures passed, a signal), or None
        self.stop_signal = None         # the signal that asked the run to stop
        self._wake = threading.Event()
        # the wait's state (see _wait)
        self.pending = {}
        self.seen_busy = set()
        self.retrying = {}              # id -> (when the retry is due, item)
        self.retried = {}               # id -> retries the engine sent
        self.phases = {}
        self.deadline = None

    # -- signals ---------------------------------------------------------------------------

    def interrupt(self, signum, frame=None):
        """The signal handler: remember the signal and wake a sleep; the run stops at its next safe point, never mid-request.

        `signum` is a signal number, or a text saying why the run must stop (the controller watch: ansible-playbook is gone).
        """
        if self.stop_signal is None:
            self.stop_signal = signum
        self._wake.set()

    def _interruption(self, when=''):
        """'interrupted by SIGTERM' + when, or 'interrupted' + when + ': ' + the reason given to interrupt()."""
        if isinstance(self.stop_signal, str):
            return 'interrupted%s: %s' % (when, self.stop_signal)
        return 'interrupted by %s%s' % (signal_name(self.stop_signal), when)

    def _sleep(self, seconds):
        if self.stop_signal is not None:
            return
        if self.sleep is None:
            self._wake.wait(seconds)        # wakes early when interrupt() is called
        else:
            self.sleep(seconds)

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
                    item.fail(plan.FAILURE_REFUSED, blocker)
                elif item.status == plan.WOULD_UPGRADE and device.online is False:
                    self._plan_offline(item)
                items.append(item)
        if needing:
            hidden = any(fw.parsed_version == parse_version(self.version) for fw in catalog)
            raise ConfigError('version %s is %s for the products of these devices; available versions: %s (%s)' % (
                self.version,
                'a test/unreleased firmware (set include_unreleased=true to install it)' if hidden else 'not in the %s catalog' % self.client.platform,
                _versions_text(usable), _needing_text(needing)))
        self.items = items
        return unknown

    def _plan_offline(self, item):
        """A device offline at plan time: left alone (skip), sent to the vendor's queue (queue), or failed (fail): sent as any other
        where the vendor refuses offline devices, which says so, and not sent where the vendor would queue it."""
        platform = self.client.platform
        if self.offline == OFFLINE_FAIL:
            if self.client.queues_offline:
                # Sent, it would stay queued at the vendor and install whenever the device reconnects, long after this run.
                item.fail(plan.FAILURE_OFFLINE, 'offline at start: nothing sent (offline=fail), since %s would keep the upgrade queued '
                          'and install it whenever the device reconnects; offline=queue sends it anyway, offline=skip defers it' % platform)
            return
        if self.offline == OFFLINE_QUEUE and self.client.queues_offline:
            item.status = plan.QUEUED
            item.msg = ('offline: the upgrade to %s is sent to %s, which keeps it queued and installs it when the device reconnects '
                        '(offline=queue); not waited for' % (item.target_version, platform))
        elif self.offline == OFFLINE_QUEUE:
            item.status = plan.DEFERRED_OFFLINE
            item.msg = ('offline: nothing sent, %s queues nothing for a device that reconnects later (offline=queue); '
                        'a later run upgrades it once it is online' % platform)
        else:
            item.status = plan.DEFERRED_OFFLINE
            item.msg = 'offline: nothing sent (offline=skip); a later run upgrades it once it is online'

    # -- act -----------------------------------------------------------------------------

    def _start(self):
        batches = {}
        for item in self.items:
            # QUEUED here is the plan's "send it to the vendor's queue" (offline=queue): nothing was sent yet.
            if item.status in (plan.WOULD_UPGRADE, plan.QUEUED) and item.attempts == 0:
                batches.setdefault(str(item.firmware.id), []).append(item)
        extra = {'retries': self.retries, 'retry_delay': self.retry_delay} if self.native else {}
        self._send(batches, lambda firmware, devices: self.client.start_upgrade(firmware, devices, upgrade_timeout=self.wait_timeout, **extra))

    def _send(self, batches, request, retry=False):
        """Send one request per firmware batch and record each device's answer; an unknown answer is settled by the devices' state."""
        unknown = []
        for key in sorted(batches):
            batch = batches[key]
            for item in batch:
                item.attempts += 1
            try:
                answers = request(batch[0].firmware, [item.device for item in batch])
            except OutcomeUnknownError as exc:
                # Sent, but it may or may not have been applied: never repeated; the devices' state decides (below).
                answers = dict((item.id, StartResult(StartResult.UNKNOWN, str(exc))) for item in batch)
            except FleetotaError as exc:
                for item in batch:
                    item.fail(plan.FAILURE_REFUSED, '%s request failed: %s' % ('retry' if retry else 'upgrade', exc))
                continue
            for item in batch:
                answer = answers.get(item.id) or StartResult(StartResult.FAILED, 'no answer for this device')
                if answer.status == StartResult.UNKNOWN:
                    self.requested = True
                    unknown.append((item, answer.msg or 'the upgrade request got no clear answer'))
                else:
                    self._answer(item, answer, retry)
        if unknown:
            self._settle_unknown(unknown)

    def _answer(self, item, answer, retry):
        platform = self.client.platform
        if answer.status == StartResult.STARTED:
            item.status, item.failure, self.requested = plan.STARTED, None, True
            item.msg = ('retry %d of %d: upgrade to %s started' % (self.retried.get(item.id, 0), self.retries, item.target_version) if retry
                        else 'upgrade to %s started' % item.target_version)
        elif answer.status == StartResult.IN_PROGRESS:
            item.status, item.failure, item.msg = plan.IN_PROGRESS, None, answer.msg
        elif answer.status == StartResult.QUEUED:
            item.status, item.failure, self.requested = plan.QUEUED, None, True
            item.msg = ('%s; not waited for' % answer.msg if answer.msg else
                        'offline: %s keeps the upgrade to %s queued and installs it when the device reconnects; not waited for'
                        % (platform, item.target_version))
        elif answer.status == StartResult.OFFLINE:
            why = answer.msg or '%s refused the upgrade: the device is offline' % platform
            if self.offline == OFFLINE_FAIL:
                item.fail(plan.FAILURE_OFFLINE, why)
            else:
                item.status, item.failure = plan.DEFERRED_OFFLINE, None
                item.msg = '%s; a later run upgrades it once it is online (offline=%s)' % (why, self.offline)
        else:
            item.fail(plan.FAILURE_REFUSED, answer.msg or 'the upgrade request was refused')

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
            item.failure = None
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
                if self.wait:
                    item.status, item.msg = plan.STARTED, _unknown_outcome(self.unconfirmed[item.id])
                else:
                    item.fail(plan.FAILURE_REFUSED, _unknown_outcome(self.unconfirmed[item.id]))

    # -- wait ----------------------------------------------------------------------------

    def _wait(self):
        self.pending = dict((item.id, item) for item in self.items if item.status in (plan.STARTED, plan.IN_PROGRESS))
        # A device counts as having worked on the upgrade once seen busy; until then an idle
        # device at its old version has simply not picked the job up yet.
        self.seen_busy = set(item.id for item in self.pending.values() if item.device.upgrading)
        self.deadline = self.clock() + self.wait_timeout
        pending = self.pending
        read_error, refused = None, 0
        while True:
            if self.stop_signal is not None:
                self._interrupted()
                return
            self._judge()
            now = self.clock()
            due = [item for when, item in self.retrying.values() if when <= now]
            if due:
                self._retry(due)
            if not pending and not self.retrying:
                return
            if pending:
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
                        self._stop_waiting('reading the upgrade progress was refused %d times in a row (%s)' % (refused, exc))
                        return
                except FleetotaError as exc:
                    progress, read_error = {}, exc
                self._progress(progress)
                self._judge()
            if not pending and not self.retrying:
                return
            remaining = self.deadline - self.clock()
            if remaining <= 0:
                self._time_out(read_error)
                return
            pause = min(self.poll_interval, remaining) if pending else remaining
            if self.retrying:
                pause = min(pause, max(0.0, min(when for when, _item in self.retrying.values()) - self.clock()))
            self._sleep(pause)

    def _progress(self, progress):
        pending, phases = self.pending, self.phases
        for device_id in list(pending):
            item, state = pending[device_id], progress.get(device_id)
            if state is None:
                continue
            item.current_version = state.current_version
            phases[device_id] = state.phase
            if self.native and state.attempts is not None:
                item.attempts = max(item.attempts, state.attempts)
            at_target = same_version(state.current_version, item.target_version)
            if state.state == Progress.UPGRADING:
                self.seen_busy.add(device_id)
            elif device_id in self.unconfirmed and device_id not in self.seen_busy and not at_target:
                continue    # no sign of the request yet (a failure shown now is an earlier upgrade's)
            elif state.state == Progress.FAILED:
                self._ended(item, plan.FAILURE_FAILED, state.msg or 'the upgrade failed', retryable=True)
            elif at_target and (device_id in self.seen_busy or not item.forced):
                item.status, item.failure = plan.SUCCEEDED, None
                item.msg = 'now at %s' % item.target_version + (' (after %d attempts)' % item.attempts if item.attempts > 1 else '')
                del pending[device_id]
            elif device_id in self.seen_busy and not at_target:
                self._ended(item, plan.FAILURE_FAILED, 'the upgrade ended at version %s instead of %s' % (state.current_version, item.target_version),
                            retryable=True)

    def _ended(self, item, kind, msg, status=plan.FAILED, retryable=False):
        """A device's attempt ended failed or timed_out: retried later when it has retries left and the retry fits, else final."""
        self.pending.pop(item.id, None)
        item.fail(kind, msg, status)
        used = self.retried.get(item.id, 0)
        if not retryable or self.native or self.aborted is not None or not self.retries:
            return
        if used >= self.retries:
            item.msg = '%s; retries spent (%d attempts)' % (msg, item.attempts)
            return
        now = self.clock()
        if now + self.retry_delay >= self.deadline:
            item.msg = '%s; not retried (%d of retries=%d left): a retry after retry_delay=%ss would not fit in wait_timeout=%ss' % (
                msg, self.retries - used, self.retries, _number(self.retry_delay), _number(self.wait_timeout))
            return
        self.retrying[item.id] = (now + self.retry_delay, item)
        item.msg = '%s; retry %d of %d after retry_delay=%ss' % (msg, used + 1, self.retries, _number(self.retry_delay))

    def _retry(self, items):
        """Re-read the devices due for a retry and start again those idle and not at the target (under the start lock, batched per firmware)."""
        for item in items:
            del self.retrying[item.id]
        with (self.lock if self.lock is not None else NoLock()):
            try:
                fresh = self.client.get_devices([item.id for item in items])
            except FleetotaError as exc:
                for item in items:
                    self._ended(item, item.failure, '%s; re-reading the device before its retry failed (%s)' % (item.msg, exc), item.status,
                                retryable=False)
                return
            batches = {}
            for item in items:
                device = fresh.get(item.id)
                if device is None:
                    item.msg = '%s; not retried: the device is no longer listed by %s' % (item.msg, self.client.platform)
                    continue
                item.device, item.current_version = device, device.current_version
                if device.upgrading:
                    item.status, item.failure = plan.IN_PROGRESS, None
                    item.msg = 'upgrading again before its retry was sent; waiting for it'
                    self.pending[item.id] = item
                    self.seen_busy.add(item.id)
                elif same_version(device.current_version, item.target_version):
                    item.status, item.failure = plan.SUCCEEDED, None
                    item.msg = 'now at %s' % item.target_version
                else:
                    self.retried[item.id] = self.retried.get(item.id, 0) + 1
                    self.seen_busy.discard(item.id)        # a new attempt: it must show itself busy again
                    self.unconfirmed.pop(item.id, None)
                    batches.setdefault(str(item.firmware.id), []).append(item)
            sent = [item.id for batch in batches.values() for item in batch]
            if not sent:
                return
            upgrade_timeout = max(1.0, self.deadline - self.clock())
            try:
                self._send(batches, lambda firmware, devices: self.client.retry_upgrade(firmware, devices, upgrade_timeout=upgrade_timeout),
                           retry=True)
            finally:
                if self.lock is not None:
                    self.lock.record(sent)
        for batch in batches.values():
            for item in batch:
                if item.status in (plan.STARTED, plan.IN_PROGRESS):
                    self.pending[item.id] = item
                    if item.device.upgrading:
                        self.seen_busy.add(item.id)

    def _time_out(self, read_error):
        for device_id, item in list(self.pending.items()):
            if device_id in self.unconfirmed and device_id not in self.seen_busy:
                item.fail(plan.FAILURE_REFUSED, _unknown_outcome(self.unconfirmed[device_id],
                                                                 'it did not start within wait_timeout=%ss' % _number(self.wait_timeout)))
            elif read_error is not None:
                item.fail(plan.FAILURE_TIMED_OUT, 'not confirmed at %s after wait_timeout=%ss: its state could not be read (last read error: %s; '
                          'last seen: %s); the upgrade may still finish' % (item.target_version, _number(self.wait_timeout), read_error,
                                                                            self.phases.get(device_id) or 'no progress report'), plan.TIMED_OUT)
            else:
                msg = 'not at %s after wait_timeout=%ss (last seen: %s); the upgrade may still finish' % (
                    item.target_version, _number(self.wait_timeout), self.phases.get(device_id) or 'no progress report')
                left = self.retries - self.retried.get(device_id, 0)
                if left > 0 and not self.native and device_id in self.seen_busy:
                    msg += '; not retried (%d of retries=%d left): wait_timeout has passed, a retry would not fit' % (left, self.retries)
                item.fail(plan.FAILURE_TIMED_OUT, msg, plan.TIMED_OUT)
        self.pending.clear()
        for _when, item in self.retrying.values():
            item.msg = '%s; not retried: wait_timeout=%ss has passed' % (item.msg, _number(self.wait_timeout))
        self.retrying.clear()

    def _stop_waiting(self, reason):
        """End the wait before wait_timeout: every device still pending has an unknown outcome (timed_out, never failed)."""
        for device_id, item in self.pending.items():
            item.fail(plan.FAILURE_TIMED_OUT, 'stopped waiting: %s; last seen: %s; the upgrade may still finish' % (
                reason, self.phases.get(device_id) or 'no progress report'), plan.TIMED_OUT)
        self.pending.clear()
        for _when, item in self.retrying.values():
            item.msg = '%s; not retried: %s' % (item.msg, reason)
        self.retrying.clear()

    # -- stop: max_failures passed, a signal, or the controller gone ---------------------------------------------------

    def _judge(self):
        """Abort once the devices that ended failed or timed_out, retries spent, pass max_failures."""
        if self.max_failures is None or self.aborted is not None:
            return
        failed = [item for item in self.items if item.status in (plan.FAILED, plan.TIMED_OUT) and item.id not in self.retrying]
        if len(failed) > self.max_failures:
            limit = self.max_failures_text
            if limit.endswith('%'):
                limit = '%s of %d devices = %d' % (limit, len(self.ids), self.max_failures)
            self._stop('max_failures (%s) passed: %d device(s) ended failed or timed_out' % (limit, len(failed)))

    def _stop(self, reason, waiting=True):
        """Stop the run: no more retries; cancel, where the vendor can, what is pending and has not started (queued devices included).

        Devices already upgrading get the firmware anyway: they are waited for (waiting=True) or reported as they are.
        """
        self.aborted = reason
        for _when, item in self.retrying.values():
            item.msg = '%s; not retried: %s' % (item.msg, reason)
        self.retrying.clear()
        candidates = [item for item in self.pending.values() if item.id not in self.seen_busy]
        candidates += [item for item in self.items if item.status == plan.QUEUED and item.attempts > 0]
        upgrading = len(self.pending) - len([item for item in candidates if item.id in self.pending])
        platform = self.client.platform
        if not self.client.can_cancel:
            self.aborted = '%s; %s has no cancel and queues nothing: %s' % (
                reason, platform, '%d device(s) already started %s' % (len(self.pending), 'waited for' if waiting else 'left to finish')
                if self.pending else 'no device was left pending')
            return
        if not candidates:
            self.aborted = '%s; nothing pending to cancel, %d device(s) already upgrading %s' % (
                reason, upgrading, 'waited for' if waiting else 'left to finish')
            return
        try:
            answers, error = self.client.cancel([item.device for item in candidates], check=False), None
        except FleetotaError as exc:
            answers, error = {}, exc
        canceled = 0
        for item in candidates:
            answer = answers.get(item.id)
            if answer is not None and answer.status == CancelResult.CANCELED:
                canceled += 1
                self.pending.pop(item.id, None)
                item.status, item.failure = plan.CANCELED, None
                item.msg = '%s; its pending upgrade was canceled%s' % (reason, ' (%s)' % answer.msg if answer.msg else '')
            elif error is not None:
                # A cancel whose answer is lost is never assumed to have worked: the device's own state decides.
                then = 'waiting for the device, its state decides' if waiting else 'it may still be upgraded'
                item.msg = '%s; the cancel request failed (%s): %s' % (reason, error, then)
            elif answer is not None:
                item.msg = '%s; not canceled (%s): %s' % (reason, answer.msg or answer.status, 'waited for' if waiting else 'left to finish')
        left = len(self.pending)
        self.aborted = '%s; %d pending upgrade(s) canceled%s, %d device(s) %s' % (
            reason, canceled, ' (the cancel request failed: %s)' % error if error is not None else '', left,
            'still waited for (already upgrading or not cancelable)' if waiting else 'left to finish (already upgrading or not cancelable)')

    def _interrupted(self):
        """A signal (or the controller watch) asked to stop: cancel what is pending (as max_failures does), then report every device as it is."""
        why = self._interruption()
        self._stop(why, waiting=False)
        for device_id, item in self.pending.items():
            item.msg = '%s; no longer waited for: %s (last seen: %s); the upgrade may still finish' % (
                item.msg, why, self.phases.get(device_id) or 'no progress report')
        self.pending.clear()

    # -- two runs, one controller -------------------------------------------------------------

    def _start_lock(self):
        transport = self.client.transport
        timeout = getattr(transport, 'timeout', None) or 30.0
        return StartLock(self.client.platform, getattr(transport, 'endpoint', ''), self.client.account, LOCK_WAIT_TIMEOUTS * float(timeout))

    def _locked_start(self, lock, generation):
        """Start under the account's start lock, after re-reading the devices another run may have started since the plan."""
        if not any(item.status in (plan.WOULD_UPGRADE, plan.QUEUED) for item in self.items):
            return
        with lock:
            if lock.held:
                self._replan(lock.started_since(generation))
            sent = [item.id for item in self.items if item.status in (plan.WOULD_UPGRADE, plan.QUEUED)]
            try:
                self._start()
            finally:
                lock.record(sent)

    def _replan(self, changed):
        """Plan again the devices about to be started that another run sent since our plan (all of them when changed is None):
        one now upgrading is waited for, not restarted; one now at the target is already current."""
        items = [item for item in self.items if item.status in (plan.WOULD_UPGRADE, plan.QUEUED) and (changed is None or item.id in changed)]
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
        self.lock = lock
        generation = lock.generation() if lock is not None else None     # read before the plan: what later holders sent
        unknown = self.make_plan()
        if unknown:
            return self._report(check_mode), 'no upgrade was sent: %d device id(s) not found on %s: %s' % (
                len(unknown), self.client.platform, first_few(unknown))
        if not check_mode:
            self.native = self.retries > 0 and bool(self.client.native_retries(self.retries, self.retry_delay))
            if self.stop_signal is not None:
                self._not_started()
            else:
                self._locked_start(lock, generation)
            if self.wait:
                self._wait()
            elif self.stop_signal is not None and self.aborted is None:
                self._interrupted()
        result = self._report(check_mode)
        if lock is not None and lock.warning:
            result['warnings'] = [lock.warning]
        failed = [item for item in self.items if item.status in (plan.FAILED, plan.TIMED_OUT)]
        shown = '; '.join('%s: %s' % (item.id, item.msg) for item in failed[:5])
        more = ' (and %d more)' % (len(failed) - 5) if len(failed) > 5 else ''
        if self.stop_signal is not None:
            return result, '%s; %s' % (self.aborted, result['msg'])
        if failed:
            return result, '%s%d of %d device(s) did not complete: %s%s' % (
                'aborted, %s; ' % self.aborted if self.aborted else '', len(failed), len(self.items), shown, more)
        return result, None

    def _not_started(self):
        """A signal came before anything was sent: nothing is started."""
        self.aborted = self._interruption(' before any upgrade was sent')
        for item in self.items:
            if item.status in (plan.WOULD_UPGRADE, plan.QUEUED) and item.attempts == 0:
                item.status = plan.SKIPPED
                item.msg = 'not sent: %s' % self._interruption(' before the upgrade was sent')

    def _report(self, check_mode):
        summary = plan.summarize(self.items)
        if check_mode:
            changed = summary[plan.WOULD_UPGRADE] > 0 or summary[plan.QUEUED] > 0
        else:
            changed = self.requested or any(
                item.device is not None and not same_version(item.previous_version, item.current_version) for item in self.items)
        counts = ', '.join('%d %s' % (count, status.replace('_', ' ')) for status, count in summary.items() if count)
        return {
            'changed': changed,
            'devices': [item.result() for item in self.items],
            'summary': summary,
            'jobs': list(self.client.jobs),
            'aborted': self.aborted,
            'msg': counts or 'nothing to do',
            'diff': self.diff(),
        }

    def diff(self):
        before, after = [], []
        for item in self.items:
            if item.action == plan.UPGRADE and item.status not in (plan.FAILED, plan.DEFERRED_OFFLINE, plan.CANCELED, plan.SKIPPED):
                before.append('%s: %s\n' % (item.id, item.previous_version))
                after.append('%s: %s\n' % (item.id, item.target_version))
        return {'before': ''.join(before), 'after': ''.join(after), 'before_header': 'firmware', 'after_header': 'firmware'}


class CancelRun:
    """One firmware_cancel invocation: cancel what is pending for devices and/or jobs, where the vendor can."""

    def __init__(self, client, devices=None, jobs=None, check_mode=False):
        self.client = client
        if devices is None and jobs is None:
            raise ConfigError('give devices, jobs or both: the device ids and/or the %s job ids whose pending upgrades to cancel'
                              % client.platform)
        self.ids = clean_device_ids(devices) if devices else []
        self.jobs = clean_device_ids(jobs, option='jobs') if jobs else []
        self.check_mode = check_mode

    def run(self):
        """Returns (result, None); unknown device ids raise ConfigError before any write."""
        found = self.client.get_devices(self.ids) if self.ids else {}
        unknown = [device_id for device_id in self.ids if device_id not in found]
        if unknown:
            raise ConfigError('nothing was canceled: %d device id(s) not found on %s: %s' % (len(unknown), self.client.platform, first_few(unknown)))
        answers = {}
        if self.ids or self.jobs:
            answers = self.client.cancel([found[device_id] for device_id in self.ids], jobs=self.jobs or None, check=self.check_mode)
        order = list(self.ids) + sorted(device_id for device_id in answers if device_id not in found)
        devices = []
        for device_id in order:
            answer = answers.get(device_id) or CancelResult(CancelResult.NOT_CANCELABLE, '%s gave no cancel result for this device: '
                                                            'check it in the vendor console' % self.client.platform)
            devices.append(answer.result(device_id))
        summary = dict((status, 0) for status in CancelResult.STATUSES)
        for entry in devices:
            summary[entry['status']] = summary.get(entry['status'], 0) + 1
        jobs = list(self.jobs)
        for entry in devices:
            if entry['job'] is not None and str(entry['job']) not in jobs:
                jobs.append(str(entry['job']))
        words = {CancelResult.CANCELED: 'would be canceled' if self.check_mode else 'canceled',
                 CancelResult.NOT_CANCELABLE: 'not cancelable', CancelResult.NOTHING_PENDING: 'nothing pending'}
        counts = ', '.join('%d %s' % (count, words[status]) for status, count in summary.items() if count)
        return {
            'changed': summary[CancelResult.CANCELED] > 0,
            'devices': devices,
            'summary': summary,
            'jobs': jobs,
            'msg': counts or 'nothing to cancel: no device and no job given',
        }, None


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
