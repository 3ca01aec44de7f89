# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The upgrade-job lifecycle shared by the vendors whose API has jobs and tasks (EnOS, IoT Core).

A job asks for one firmware on some devices; each device gets a task. Tasks are neutral here and
rendered by the vendor (status names, progress numbers, descriptions):

* ``queued``: waiting to be pushed; pushed as soon as its job runs and its device is online and
  idle (the fleet's upgrade starts then);
* ``pushed``: the device's upgrade was started, it is still uploading the first 10 %;
* ``upgrading``: the device uploads, installs or reboots (``phase``, ``progress`` 0..99);
* ``succeeded`` (progress 100), ``failed`` or ``canceled``, each with a ``reason`` (see REASONS).

Like the fleet, nothing runs in the background: ``refresh`` brings a task up to date from the
clock and the device's upgrade state machine. A task has an optional ``timeout`` (seconds),
counted from its creation (``TIMEOUT_FROM_CREATED``, the task fails even if never pushed) or from
its push (``TIMEOUT_FROM_PUSHED``, checked while its upgrade runs); a timed-out upgrade is
dropped from the device.

Vendor retries: a task created with ``retries`` > 0 whose install fails goes back to ``queued``
with ``not_before`` = the failure time + ``retry_interval`` (seconds), and is pushed again once
that time has come (and its device is online and idle); it ends ``failed`` only when its retries are
spent. ``attempts`` counts its pushes. A timeout is never retried (Alibaba's rule for IoT Core). A
retry due in the past (the emulated time was advanced) starts at its due time, so one refresh may
play several attempts; a first push starts at the refresh that finds the device online.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any, Callable

from .fleet import PHASE_INSTALLING, PHASE_REBOOTING, PHASE_UPLOADING, RESULT_FAILED, RESULT_SUCCESS, START_OK, Fleet

QUEUED = "queued"
PUSHED = "pushed"
UPGRADING = "upgrading"
SUCCEEDED = "succeeded"
FAILED = "failed"
CANCELED = "canceled"
UNFINISHED = (QUEUED, PUSHED, UPGRADING)
FINISHED = (SUCCEEDED, FAILED, CANCELED)

# Why a task finished.
REASON_DONE = "done"                      # succeeded
REASON_GONE = "gone"                      # its device or firmware was deleted
REASON_TIMEOUT = "timeout"                # longer than its timeout
REASON_INSTALL_FAILED = "install_failed"  # the device reported a failed install
REASON_INTERRUPTED = "interrupted"        # the device's upgrade ended without a result (canceled on the device)
REASON_CANCELED = "canceled"              # canceled through the vendor API
REASON_JOB_STOPPED = "job_stopped"        # its job was stopped before it was pushed
REASON_REFUSED = "refused"                # refused at creation (``detail`` says why)
REASONS = (REASON_DONE, REASON_GONE, REASON_TIMEOUT, REASON_INSTALL_FAILED, REASON_INTERRUPTED, REASON_CANCELED,
           REASON_JOB_STOPPED, REASON_REFUSED)

TIMEOUT_FROM_CREATED = "created"
TIMEOUT_FROM_PUSHED = "pushed"

# A pushed task counts as "upgrading" once the upload passed this position.
PUSHED_UNTIL_POSITION = 10


@dataclass
class UpgradeTask:
    """One device's part of one job (neutral form; ``extra`` holds the vendor's own fields)."""

    id: str
    job_id: str
    device_id: str
    firmware_id: str
    from_version: str
    to_version: str
    created: float
    timeout: float | None = None
    timeout_from: str = TIMEOUT_FROM_CREATED
    status: str = QUEUED
    reason: str = ""
    detail: str = ""
    phase: str = ""
    progress: int = 0
    pushed_at: float | None = None
    updated: float = 0.0
    device_finished_at: float | None = None
    retries: int = 0
    retry_interval: float = 0.0
    attempts: int = 0
    not_before: float | None = None
    last_failure: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def finished(self) -> bool:
        """True once succeeded, failed or canceled."""
        return self.status in FINISHED


@dataclass
class UpgradeJob:
    """One firmware for some devices; ``running`` jobs push their queued tasks."""

    id: str
    firmware_id: str
    product: str
    created: float
    device_ids: list[str]
    timeout: float | None = None
    running: bool = True
    tasks: list[UpgradeTask] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)


class JobBook:
    """The jobs of one platform, with a lock and one id counter for jobs and tasks (``new_id(kind, number)`` formats ids)."""

    def __init__(self, platform: str, new_id: Callable[[str, int], str]) -> None:
        self.platform = platform
        self.lock = threading.RLock()
        self.jobs: dict[str, UpgradeJob] = {}
        self.deleted: list[str] = []
        self._format = new_id
        self._next = 1

    def new_id(self, kind: str) -> str:
        """A fresh id of a "job" or a "task"."""
        with self.lock:
            value = self._next
            self._next += 1
        return self._format(kind, value)

    def add(self, job: UpgradeJob) -> UpgradeJob:
        """Register a job."""
        with self.lock:
            self.jobs[job.id] = job
        return job

    def delete(self, job_id: str) -> None:
        """Forget a job (remembered in ``deleted``)."""
        with self.lock:
            del self.jobs[job_id]
            self.deleted.append(job_id)

    def tasks(self) -> list[UpgradeTask]:
        """Every task of every job, in creation order."""
        with self.lock:
            return [task for job in self.jobs.values() for task in job.tasks]

    def unfinished_task_of(self, fleet: Fleet, device_id: str, upgrade_seconds: float, now: float) -> UpgradeTask | None:
        """The device's task that is still to finish, if any (brought up to date first)."""
        for job in list(self.jobs.values()):
            for task in job.tasks:
                if task.device_id == device_id and not task.finished:
                    refresh(fleet, self.platform, job, task, upgrade_seconds, now)
                    if not task.finished:
                        return task
        return None

    def refresh_all(self, fleet: Fleet, upgrade_seconds: float, now: float) -> None:
        """Bring every task up to date."""
        for job in list(self.jobs.values()):
            for task in job.tasks:
                refresh(fleet, self.platform, job, task, upgrade_seconds, now)


def finish(task: UpgradeTask, status: str, reason: str, now: float, detail: str = "") -> None:
    """End a task."""
    task.status, task.reason, task.detail, task.updated = status, reason, detail, now


def refresh(fleet: Fleet, platform: str, job: UpgradeJob, task: UpgradeTask, upgrade_seconds: float, now: float) -> None:
    """Bring one task up to date: push it when its job runs and its device is online and free, follow the device's upgrade.

    Each pass plays at most one attempt; a failed attempt with retries left is queued again and may be pushed
    by the next pass when its retry is already due.
    """
    for _attempt in range(task.retries + 2):
        if not _refresh_once(fleet, platform, job, task, upgrade_seconds, now):
            return


def _refresh_once(fleet: Fleet, platform: str, job: UpgradeJob, task: UpgradeTask, upgrade_seconds: float, now: float) -> bool:
    """One pass of refresh; True when a failed attempt went back to the queue."""
    if task.finished:
        return False
    device = fleet.device(platform, task.device_id)
    firmware = fleet.firmware(platform, task.firmware_id)
    if device is None or firmware is None:
        finish(task, FAILED, REASON_GONE, now)
        return False
    mine = device.upgrading and device.target_firmware_id == firmware.id
    if task.timeout_from == TIMEOUT_FROM_CREATED and task.timeout and now - task.created > task.timeout:
        if task.pushed_at is not None and mine:
            fleet.cancel_upgrade(device)
        finish(task, FAILED, REASON_TIMEOUT, now)
        return False
    current = fleet.status(device, now)
    if task.status == QUEUED:
        if not job.running or device.upgrading or not current.online:
            return False
        if task.not_before is not None and now < task.not_before:
            return False
        # A retry that came due in the past started then (the device was idle since its failure); a first push starts now.
        at = task.not_before if task.not_before is not None else now
        if fleet.start_upgrade(device, firmware, upgrade_seconds, at=at) != START_OK:
            return False
        task.attempts += 1
        task.status, task.phase, task.progress, task.pushed_at, task.updated = PUSHED, PHASE_UPLOADING, 0, at, now
        task.not_before = None
        current = fleet.status(device, now)
    if device.upgrading and device.target_firmware_id == firmware.id:
        if (task.timeout_from == TIMEOUT_FROM_PUSHED and task.timeout and task.pushed_at is not None
                and now - task.pushed_at > task.timeout):
            fleet.cancel_upgrade(device)
            finish(task, FAILED, REASON_TIMEOUT, now)
            return False
        if current.phase == PHASE_UPLOADING:
            progress = int(current.upload_position * 0.4)
        elif current.phase == PHASE_INSTALLING:
            progress = 40 + 10 * current.step
        elif current.phase == PHASE_REBOOTING:
            progress = 90
        else:
            progress = task.progress
        status = PUSHED if current.phase == PHASE_UPLOADING and current.upload_position < PUSHED_UNTIL_POSITION else UPGRADING
        if (current.phase, progress) != (task.phase, task.progress):
            task.phase, task.progress, task.updated = current.phase, progress, now
        task.status = status
        return False
    # The device's upgrade for this task is over.
    task.device_finished_at = device.finished_at
    requeued = False
    if current.last_result == RESULT_SUCCESS and device.firmware_version == task.to_version:
        task.progress = 100
        finish(task, SUCCEEDED, REASON_DONE, now)
    elif current.last_result == RESULT_FAILED and task.attempts <= task.retries:
        # The vendor retries: back to the queue, pushed again retry_interval after the failure.
        task.status, task.phase, task.progress, task.pushed_at, task.updated = QUEUED, "", 0, None, now
        task.last_failure = REASON_INSTALL_FAILED
        task.not_before = (device.finished_at if device.finished_at is not None else now) + task.retry_interval
        requeued = True
    elif current.last_result == RESULT_FAILED:
        finish(task, FAILED, REASON_INSTALL_FAILED, now)
    else:
        finish(task, CANCELED, REASON_INTERRUPTED, now)
    return requeued


def cancel(fleet: Fleet, platform: str, task: UpgradeTask, reason: str, now: float, detail: str = "") -> None:
    """Cancel a task; a pushed one's upgrade is dropped from its device."""
    device = fleet.device(platform, task.device_id)
    if task.pushed_at is not None and device is not None and device.target_firmware_id == task.firmware_id:
        fleet.cancel_upgrade(device)
    finish(task, CANCELED, reason, now, detail)


def retry(task: UpgradeTask, now: float) -> None:
    """Queue a failed task again (a retry asked through the vendor API): pushed at the next refresh that finds its device free."""
    task.last_failure = task.reason
    task.status, task.reason, task.detail, task.phase, task.progress = QUEUED, "", "", "", 0
    task.pushed_at, task.not_before, task.device_finished_at, task.updated = None, None, None, now
