# -*- coding: utf-8 -*-
# Copyright (c) fleetota.cloud developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The platform client contract: what every vendor client implements.

Vendor clients live in _platforms/, one file each, and are listed in _platforms/_registry.py;
connection options and the factory (create_client) are in _connection.py.
"""

from ansible_collections.fleetota.cloud.plugins.module_utils._models import CancelResult


class PlatformClient:
    """What every vendor client implements. One instance serves one module run or inventory parse."""

    platform = None
    # Who the credentials are (user name or access key, and organization), never a secret: with platform and
    # endpoint it names the account's start lock (create_client sets it).
    account = None
    # What the vendor does with upgrades that have not started on a device. can_cancel: its API cancels an
    # upgrade that is queued, pushed or awaiting confirmation (EnOS, IoT Core). queues_offline: it keeps an
    # upgrade for an offline device and installs it when the device reconnects, maybe hours later (EnOS, IoT Core).
    can_cancel = False
    queues_offline = False

    def __init__(self, transport):
        self.transport = transport
        self.jobs = []

    @property
    def api_calls(self):
        return self.transport.calls

    def close(self):
        """End the session (logout) and release connections. Never raises."""
        self.transport.close()

    def list_devices(self, firmware_versions=True):
        """Every device the credentials can see, as Device objects.

        With firmware_versions=False the caller does not need current_version: a platform whose
        listing lacks it skips the extra reads (current_version is then None).
        """
        raise NotImplementedError

    def get_devices(self, ids):
        """Dict id -> Device for the ids that exist; unknown ids are simply absent."""
        raise NotImplementedError

    def list_firmwares(self, devices=None, product=None, hardware_version=None):
        """Catalog entries (released or not) relevant to `devices`, or filtered by product/hardware."""
        raise NotImplementedError

    def firmware_fits(self, firmware, device):
        """True when the vendor would accept `firmware` for `device`."""
        if firmware.product is not None and firmware.product != device.product:
            return False
        if firmware.hardware_version is not None and device.hardware_version is not None:
            return firmware.hardware_version == device.hardware_version
        return True

    def firmware_misfit(self, firmware, device):
        """Why `firmware` does not fit `device` (a sentence for the plan), or None to let the plan say it generically."""
        return None

    def last_upgrade_failed(self, device):
        """True when the vendor says the device's last upgrade failed, False when it says it did not, None when it does not say."""
        return None

    def upgrade_blocker(self, firmware, device):
        """Why the vendor would refuse to install `firmware` on `device` now (a text), or None.

        Asked at plan time for every device that would be upgraded, so that check mode and
        the real run agree; such a device is reported failed and nothing is sent for it.
        """
        return None

    def start_upgrade(self, firmware, devices, upgrade_timeout=None):
        """Ask the vendor to install `firmware` on `devices`; dict id -> StartResult.

        Sends as few requests as the vendor allows and records job ids in self.jobs.
        `upgrade_timeout`: the seconds the caller will wait (the run's wait_timeout); platforms whose
        upgrade jobs carry a server-side timeout use it, None = the vendor's default.
        A client whose native_retries(retries, retry_delay) is true also takes `retries` and `retry_delay` (seconds)
        here, and asks the vendor to retry failed devices itself; the engine passes them only then.
        A device the vendor refuses because it is offline is StartResult.OFFLINE; one it keeps queued until it
        reconnects is StartResult.QUEUED (the engine sends an offline device only with offline=queue or fail).
        """
        raise NotImplementedError

    def poll(self, devices):
        """Dict id -> Progress for devices being upgraded."""
        raise NotImplementedError

    def native_retries(self, retries, retry_delay):
        """True when start_upgrade(..., retries=, retry_delay=) makes the vendor retry failed devices itself
        (then poll reports a device failed only once its retries are spent, with Progress.attempts where known).
        False: the engine starts failed devices again itself, through retry_upgrade."""
        return False

    def retry_upgrade(self, firmware, devices, upgrade_timeout=None):
        """Start again the upgrade of `devices`, whose last attempt (of this run) failed or timed out; dict id -> StartResult.

        The engine calls it only for devices it re-read as idle and not at the target. Default: a new start_upgrade;
        a vendor with a retry of its own (EnOS retryTask) uses it.
        """
        return self.start_upgrade(firmware, devices, upgrade_timeout=upgrade_timeout)

    def cancel(self, devices, jobs=None, check=False):
        """Cancel what is pending for `devices` (Device objects) and, when given, in `jobs` (this platform's job ids).

        Returns dict id -> CancelResult, one per device (devices of `jobs` included). With check=True nothing is
        written: CancelResult.CANCELED then means "would be canceled". A cancel request whose answer is lost is
        not assumed to have worked: the state is read again and decides.

        Default, for a vendor that documents no cancel and queues nothing (Magewell, Tuya): it says so per device,
        not_cancelable for one upgrading now, nothing_pending otherwise.
        """
        results = {}
        for device in devices:
            if device.upgrading:
                results[device.id] = CancelResult(CancelResult.NOT_CANCELABLE, '%s has no cancel: the upgrade under way on the device '
                                                  'runs to its end' % self.platform)
            else:
                results[device.id] = CancelResult(CancelResult.NOTHING_PENDING, '%s queues no upgrade for later: nothing is pending '
                                                  'for this device' % self.platform)
        return results


class TaskWords:
    """How a vendor whose upgrades are jobs of per-device tasks (EnOS, IoT Core) names things, for task_cancel_result."""

    def __init__(self, vendor, status, running, cancelable, running_label, progress, rule):
        self.vendor = vendor                # 'EnOS'
        self.status = status                # task -> its status, normalized
        self.running = running              # the status of a task whose upgrade runs on the device
        self.cancelable = cancelable        # the statuses the vendor cancels
        self.running_label = running_label  # how a running task is named in a message
        self.progress = progress            # task -> ' (40%)' or ''
        self.rule = rule                    # what the vendor cancels, in words


def task_cancel_result(device_id, by_job, canceled, failures, check, jobs, words):
    """One device's CancelResult from its tasks (job id -> task, the last read of them) and what this call canceled:
    `canceled` holds (job id, device id) pairs, `failures` maps them to why a cancel failed."""
    done, running, pending = [], [], []
    for job_id in sorted(by_job):
        status = words.status(by_job[job_id])
        if (job_id, device_id) in canceled:
            done.append(job_id)
        elif status == words.running:
            running.append(job_id)
        elif status in words.cancelable:
            pending.append(job_id)
    if check:
        done, pending = pending, []
    vendor, verb = words.vendor, 'would be canceled' if check else 'canceled'
    note = '; its pending task in %s job %s %s' % (vendor, ', '.join(done), verb) if done else ''
    if running:
        job_id = running[0]
        return CancelResult(CancelResult.NOT_CANCELABLE, 'the upgrade is under way on the device (%s job %s, %s%s): %s%s' % (
            vendor, job_id, words.running_label, words.progress(by_job[job_id]), words.rule, note), job=job_id)
    if pending:
        why = '; '.join(failures.get((job_id, device_id)) or '%s job %s still shows the task waiting' % (vendor, job_id) for job_id in pending)
        return CancelResult(CancelResult.NOT_CANCELABLE, 'its pending task in %s job %s could not be canceled (%s): %s may still push it '
                                                         'when the device is online' % (vendor, ', '.join(pending), why, vendor), job=pending[0])
    if done:
        return CancelResult(CancelResult.CANCELED, 'the pending upgrade task in %s job %s %s' % (vendor, ', '.join(done), verb), job=done[0])
    ended = ', '.join('job %s: %s' % (job_id, words.status(by_job[job_id])) for job_id in sorted(by_job))
    if ended:
        return CancelResult(CancelResult.NOTHING_PENDING, 'nothing is pending for this device in %s (its task ended: %s)' % (vendor, ended))
    where = '%s job %s' % (vendor, ', '.join(jobs)) if jobs else 'any %s job' % vendor
    return CancelResult(CancelResult.NOTHING_PENDING, 'nothing is pending for this device in %s' % where)
