# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""EnOS OTA jobs and tasks (``/connect-service/v2.1/ota-jobs``) on the shared upgrade-job lifecycle (emulator.jobs).

EnOS names: a task is ``init`` (queued), ``published`` (pushed: the first 10 % of the download),
``upgrading`` (progress 0..99 with desc download, install, reboot), ``succeed`` (100), ``failed``
(negative progress and a desc) or ``canceled``. A job is created ``stopped`` and pushes its tasks once
started; its ``upgradeTimeout`` counts from a task's push. ``stop`` pushes nothing more (tasks never pushed
end ``canceled``); ``cancelTask`` cancels init or published tasks, ``retryTask`` puts failed ones back to
``init``. A job's ``retryPolicy`` {enableRetry, retryInterval (minutes, ASSUMPTION), retryCount} retries a failed
install like IoT Core's RetryCount: the task waits in ``init`` and is ``failed`` only once its retries are spent.
"""

from __future__ import annotations

from typing import Any

from flask import Response, request

from .. import jobs as lifecycle
from ..fleet import PHASE_INSTALLING, PHASE_REBOOTING
from ..jobs import UpgradeJob, UpgradeTask
from ..state import EmulatorState
from .auth import signed
from .base import (
    API_PREFIX, INVALID_ARGUMENT, JOB_NOT_RUNNING, JOB_RUNNING_NOT_DELETABLE, JOB_STARTED, JOB_STOPPED, NAME, OTA_NOT_FOUND,
    TASK_NOT_CANCELABLE, TASK_NOT_RETRYABLE, UPGRADE_TIMEOUT_DEFAULT, UPGRADE_TIMEOUT_RANGE, EnosError, blueprint, i18n, json_body, org, reply, store,
)
from .query import matches, page, paged, parse_expression

JOB_FIELDS = {"productKey": ("=", "in"), "firmwareId": ("=", "in"), "firmwareVersion": ("=", "in"), "type": ("=",), "status": ("=",)}
TASK_FIELDS = {"jobId": ("=", "in"), "deviceKey": ("=", "in"), "fromVersion": ("=", "in"), "toVersion": ("=", "in"),
               "status": ("=", "in"), "desc": ("=", "in")}
PHASE_DESC = {PHASE_INSTALLING: "install", PHASE_REBOOTING: "reboot"}
FAILED_DESC = {lifecycle.REASON_GONE: "device or firmware deleted", lifecycle.REASON_TIMEOUT: "upgrade timeout",
               lifecycle.REASON_INSTALL_FAILED: "failed to write firmware", lifecycle.REASON_INTERRUPTED: "upgrade interrupted"}


# -- rendering -------------------------------------------------------------------------
def task_view(task: UpgradeTask) -> tuple[str, int, str]:
    """(status, progress, desc) of a task, in EnOS terms."""
    if task.status == lifecycle.QUEUED:
        if task.attempts and task.last_failure:
            return "init", 0, f"waiting to retry (attempt {task.attempts + 1}) after: {FAILED_DESC.get(task.last_failure, task.last_failure)}"
        return "init", task.progress, ""
    if task.status == lifecycle.PUSHED:
        return "published", task.progress, "download"
    if task.status == lifecycle.UPGRADING:
        return "upgrading", task.progress, PHASE_DESC.get(task.phase, "download")
    if task.status == lifecycle.SUCCEEDED:
        return "succeed", 100, "upgrade succeeded"
    if task.reason in FAILED_DESC:
        return "failed", -4 if task.reason == lifecycle.REASON_INSTALL_FAILED else -1, FAILED_DESC[task.reason]
    return "canceled", task.progress, "canceled" if task.reason == lifecycle.REASON_CANCELED else ""


def job_status(job: UpgradeJob) -> str:
    """started or stopped (ASSUMPTION: a created job is "stopped" until started; documented values: started, stopped)."""
    return "started" if job.running else "stopped"


def job_struct(state: EmulatorState, job: UpgradeJob) -> dict[str, Any]:
    """A job as ota-jobs answers it."""
    firmware = state.fleet.firmware(NAME, job.firmware_id)
    spec = job.extra["spec"]
    scope = spec.get("upgradeScope") or {}
    return {
        "orgId": org(state), "productKey": job.product, "jobId": job.id, "name": spec.get("name"),
        "firmwareId": job.firmware_id, "firmwareVersion": firmware.version if firmware else None,
        "firmwareName": i18n(firmware.name) if firmware else None, "type": spec.get("type"),
        "enableUpgradeRequest": bool(spec.get("enableUpgradeRequest", False)), "upgradePolicy": spec.get("upgradePolicy", "snapshot"),
        "upgradeScope": {"type": scope.get("type"), "versionNumbers": scope.get("versionNumbers"), "deviceKeys": scope.get("deviceKeys"),
                         "attributes": scope.get("attributes"), "tags": scope.get("tags"), "assetTrees": scope.get("assetTrees")},
        "upgradeTimeout": job.timeout, "retryPolicy": spec.get("retryPolicy"), "schedulePolicy": spec.get("schedulePolicy"),
        "maximumConcurrency": spec.get("maximumConcurrency"), "status": job_status(job), "createTime": int(job.created * 1000),
    }


def task_struct(state: EmulatorState, task: UpgradeTask) -> dict[str, Any]:
    """A task as searchTask answers it."""
    device = state.fleet.device(NAME, task.device_id)
    status, progress, desc = task_view(task)
    return {
        "taskId": task.id, "orgId": org(state), "assetId": device.extra["assetId"] if device else None,
        "productKey": device.product if device else None, "deviceKey": task.device_id, "jobId": task.job_id,
        "fromVersion": task.from_version, "toVersion": task.to_version, "progress": progress, "desc": desc,
        "status": status, "createTime": int(task.created * 1000), "updateTime": int((task.device_finished_at or task.updated) * 1000),
    }


def refresh(state: EmulatorState, job: UpgradeJob, task: UpgradeTask, now: float) -> None:
    """Bring one task up to date (shared lifecycle)."""
    lifecycle.refresh(state.fleet, NAME, job, task, state.config.upgrade_seconds, now)


def refresh_all(state: EmulatorState, now: float) -> None:
    """Bring every task up to date."""
    store(state).book.refresh_all(state.fleet, state.config.upgrade_seconds, now)


# -- ota-jobs actions ------------------------------------------------------------------
def _number(value: Any, name: str) -> int | None:
    """Numbers may come as numeric strings (vendor samples send "600")."""
    if value is None:
        return None
    if isinstance(value, bool):
        raise EnosError(INVALID_ARGUMENT, f"Invalid Argument {name}")
    try:
        return int(str(value))
    except ValueError as exc:
        raise EnosError(INVALID_ARGUMENT, f"Invalid Argument {name}: not a number") from exc


def _retry_policy(value: Any) -> tuple[int, float]:
    """(retries, interval in seconds) of a job's retryPolicy; numbers may be numeric strings, as in the vendor's samples."""
    if value is None:
        return 0, 0.0
    if not isinstance(value, dict):
        raise EnosError(INVALID_ARGUMENT, "Invalid Argument retryPolicy: must be an object {enableRetry, retryInterval, retryCount}")
    enable = value.get("enableRetry", False)
    if isinstance(enable, str) and enable.lower() in ("true", "false"):
        enable = enable.lower() == "true"
    if not isinstance(enable, bool):
        raise EnosError(INVALID_ARGUMENT, "Invalid Argument retryPolicy.enableRetry: must be a boolean")
    count = _number(value.get("retryCount"), "retryPolicy.retryCount")
    interval = _number(value.get("retryInterval"), "retryPolicy.retryInterval")
    if not enable:
        return 0, 0.0
    if count is None or count < 1 or interval is None or interval < 0:
        raise EnosError(INVALID_ARGUMENT, "Invalid Argument retryPolicy: enableRetry needs retryCount >= 1 and retryInterval >= 0 (minutes)")
    return count, 60.0 * interval


def _create_job(state: EmulatorState) -> Response:
    fleet = state.fleet
    firmware_id = request.args.get("firmwareId")
    if not firmware_id:
        raise EnosError(INVALID_ARGUMENT, "Invalid Argument firmwareId:firmwareId is missing")
    firmware = fleet.firmware(NAME, firmware_id)
    if firmware is None:
        raise EnosError(OTA_NOT_FOUND, "Firmware not found")
    spec = json_body()
    if spec.get("type") not in ("upgrade", "verify"):
        raise EnosError(INVALID_ARGUMENT, "Invalid Argument type: must be upgrade or verify")
    if spec["type"] != "upgrade":
        raise EnosError(INVALID_ARGUMENT, "Invalid Argument type: only upgrade jobs are emulated")
    if firmware.extra["enableVerification"] and not firmware.extra["isVerified"]:
        raise EnosError(INVALID_ARGUMENT, "Invalid Argument firmwareId: the firmware must be verified before an upgrade job")
    scope = spec.get("upgradeScope")
    if not isinstance(scope, dict) or scope.get("type") not in ("total", "partial"):
        raise EnosError(INVALID_ARGUMENT, "Invalid Argument upgradeScope.type: must be total or partial")
    timeout = _number(spec.get("upgradeTimeout"), "upgradeTimeout")
    timeout = UPGRADE_TIMEOUT_DEFAULT if timeout is None else timeout
    if not UPGRADE_TIMEOUT_RANGE[0] <= timeout <= UPGRADE_TIMEOUT_RANGE[1]:
        raise EnosError(INVALID_ARGUMENT, "Invalid Argument upgradeTimeout: must be between 300 and 172800")
    retries, retry_interval = _retry_policy(spec.get("retryPolicy"))
    if scope["type"] == "partial":
        keys = scope.get("deviceKeys")
        if not isinstance(keys, list) or not keys or not all(isinstance(key, str) and key for key in keys):
            raise EnosError(INVALID_ARGUMENT, "Invalid Argument upgradeScope.deviceKeys: a non-empty list is required for partial")
        keys = list(dict.fromkeys(keys))
        for key in keys:
            device = fleet.device(NAME, key)
            if device is None:
                raise EnosError(INVALID_ARGUMENT, f"Invalid Argument upgradeScope.deviceKeys: device {key} not found")
            if device.product != firmware.product:
                raise EnosError(INVALID_ARGUMENT, f"Invalid Argument upgradeScope.deviceKeys: device {key} is not of product {firmware.product}")
    else:
        keys = [dev.id for dev in fleet.list_devices(NAME) if dev.product == firmware.product]
    book = store(state).book
    job = book.add(UpgradeJob(id=book.new_id("job"), firmware_id=firmware.id, product=firmware.product, created=state.clock(),
                              device_ids=keys, timeout=timeout, running=False,
                              extra={"spec": spec, "retries": retries, "retry_interval": retry_interval}))
    return reply({"jobId": job.id})


def _job(state: EmulatorState) -> UpgradeJob:
    job_id = request.args.get("jobId")
    if not job_id:
        raise EnosError(INVALID_ARGUMENT, "Invalid Argument jobId:jobId is missing")
    job = store(state).book.jobs.get(job_id)
    if job is None:
        raise EnosError(OTA_NOT_FOUND, "Job not found")
    return job


def _start_job(state: EmulatorState) -> Response:
    fleet = state.fleet
    book = store(state).book
    with fleet.lock, book.lock:
        job = _job(state)
        if job.running:
            raise EnosError(JOB_STARTED)
        job.running = True
        firmware = fleet.firmware(NAME, job.firmware_id)
        now = state.clock()
        known = set(task.device_id for task in job.tasks)
        for key in job.device_ids:
            if key in known:
                continue
            device = fleet.device(NAME, key)
            job.tasks.append(UpgradeTask(id=book.new_id("task"), job_id=job.id, device_id=key, firmware_id=job.firmware_id,
                                         from_version=device.firmware_version if device else "", to_version=firmware.version,
                                         created=now, updated=now, timeout=job.timeout, timeout_from=lifecycle.TIMEOUT_FROM_PUSHED,
                                         retries=job.extra["retries"], retry_interval=job.extra["retry_interval"]))
        for task in job.tasks:
            refresh(state, job, task, now)
    return reply(None)


def _stop_job(state: EmulatorState) -> Response:
    fleet = state.fleet
    book = store(state).book
    with fleet.lock, book.lock:
        job = _job(state)
        if not job.running:
            raise EnosError(JOB_STOPPED)
        job.running = False
        now = state.clock()
        for task in job.tasks:
            refresh(state, job, task, now)
            if task.status == lifecycle.QUEUED:
                lifecycle.finish(task, lifecycle.CANCELED, lifecycle.REASON_JOB_STOPPED, now)
    return reply(None)


def _device_keys() -> list[str]:
    keys = json_body().get("deviceKeys")
    if not isinstance(keys, list) or not keys or not all(isinstance(key, str) and key for key in keys):
        raise EnosError(INVALID_ARGUMENT, "Invalid Argument deviceKeys: a non-empty list of device keys is required")
    return list(dict.fromkeys(keys))


def _task_action(state: EmulatorState, allowed: tuple[str, ...], code: int, refusal: str, act) -> Response:
    """cancelTask / retryTask {deviceKeys} on a running job: every key's task must be in an `allowed` status, or the whole
    call is refused with `code` (ASSUMPTION: all or nothing); a key without a task in this job is an invalid argument."""
    fleet = state.fleet
    book = store(state).book
    keys = _device_keys()
    with fleet.lock, book.lock:
        job = _job(state)
        if not job.running:
            raise EnosError(JOB_NOT_RUNNING)
        now = state.clock()
        tasks = dict((task.device_id, task) for task in job.tasks)
        for key in keys:
            task = tasks.get(key)
            if task is None:
                raise EnosError(INVALID_ARGUMENT, f"Invalid Argument deviceKeys: device {key} has no task in job {job.id}")
            refresh(state, job, task, now)
            status = task_view(task)[0]
            if status not in allowed:
                raise EnosError(code, f"{refusal}: device {key} is {status}")
        for key in keys:
            act(job, tasks[key], now)
    return reply(None)


def _cancel_tasks(state: EmulatorState) -> Response:
    """cancelTask {deviceKeys}: cancel the init or published tasks of a running job (24620 otherwise)."""
    return _task_action(state, ("init", "published"), TASK_NOT_CANCELABLE, "Only init or published tasks can be canceled",
                        lambda job, task, now: lifecycle.cancel(state.fleet, NAME, task, lifecycle.REASON_CANCELED, now))


def _retry_tasks(state: EmulatorState) -> Response:
    """retryTask {deviceKeys}: failed tasks of a running job go back to init, pushed when their device is free (24621 otherwise)."""

    def retry(job, task, now):
        lifecycle.retry(task, now)
        refresh(state, job, task, now)

    return _task_action(state, ("failed",), TASK_NOT_RETRYABLE, "Only failed tasks can be retried", retry)


def _delete_job(state: EmulatorState) -> Response:
    book = store(state).book
    with state.fleet.lock, book.lock:
        job = _job(state)
        if job.running:
            raise EnosError(JOB_RUNNING_NOT_DELETABLE)
        book.delete(job.id)
    return reply(None)


@blueprint.route(API_PREFIX + "/ota-jobs", methods=["GET", "POST"])
@signed
def jobs(state: EmulatorState, action: str) -> Response:
    """ota-jobs: GET get; POST create, search, start, stop, delete, cancelTask, retryTask, searchTask."""
    book = store(state).book
    if request.method == "GET" and action == "get":
        return reply(job_struct(state, _job(state)))
    if request.method != "POST":
        raise EnosError(INVALID_ARGUMENT, f"Invalid Argument action:{action} is not supported with {request.method}")
    if action == "create":
        return _create_job(state)
    if action == "start":
        return _start_job(state)
    if action == "stop":
        return _stop_job(state)
    if action == "delete":
        return _delete_job(state)
    if action == "cancelTask":
        return _cancel_tasks(state)
    if action == "retryTask":
        return _retry_tasks(state)
    if action == "search":
        body = json_body()
        page_no, page_size = page(body, sorters_allowed=False)
        terms = parse_expression(body.get("expression"), JOB_FIELDS)
        with book.lock:
            items = [job_struct(state, job) for job in book.jobs.values()]
        items.sort(key=lambda item: item["createTime"], reverse=True)
        return paged([item for item in items if matches(item, terms)], page_no, page_size)
    if action == "searchTask":
        body = json_body()
        page_no, page_size = page(body, sorters_allowed=False)
        terms = parse_expression(body.get("expression"), TASK_FIELDS)
        with state.fleet.lock, book.lock:
            now = state.clock()
            items = []
            for job in book.jobs.values():
                for task in job.tasks:
                    refresh(state, job, task, now)
                    items.append(task_struct(state, task))
        return paged([item for item in items if matches(item, terms)], page_no, page_size)
    raise EnosError(INVALID_ARGUMENT, f"Invalid Argument action:{action} is not supported")
