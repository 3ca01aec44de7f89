# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""IoT Core actions: firmware, devices, and OTA jobs and tasks on the shared upgrade-job lifecycle (emulator.jobs).

Task statuses: QUEUED, NOTIFIED (pushed), IN_PROGRESS, SUCCEEDED, FAILED, CANCELED. ``TimeoutInMinutes``
counts from the task's push (Alibaba, UpdateOTAJob: from the device's first progress report), so a task queued for
an offline device waits for it; a timeout is not retried. ``RetryCount`` / ``RetryInterval``: a failed install goes
back to QUEUED and is pushed again RetryInterval minutes later, FAILED only once the retries are spent. A job is
IN_PROGRESS while a task is unfinished, then COMPLETED.
"""

from __future__ import annotations

from typing import Any, Callable

from flask import Response

from .. import jobs as lifecycle
from ..fleet import Device, Firmware
from ..jobs import UpgradeJob, UpgradeTask
from ..state import EmulatorState
from .base import (
    BATCH_DETAIL_LIMIT, DEVICE_STATUS, JOB_DEVICE_LIMIT, NAME, RETRY_COUNTS, RETRY_INTERVALS, TASK_STATUS, UNFINISHED, RpcError, int_param,
    list_param, ok, page_params, paged, required_param, store, utc,
)
from .catalog import device_detail, device_status, firmware_info, simple_device

FAILED_DESC = {lifecycle.REASON_GONE: "the device or the firmware no longer exists",
               lifecycle.REASON_INSTALL_FAILED: "the device reported that installing the firmware failed",
               lifecycle.REASON_INTERRUPTED: "the upgrade was canceled", lifecycle.REASON_CANCELED: "canceled"}
CANCEL_FLAGS = {"CONFIRM": "CancelUnconfirmedTask", "QUEUED": "CancelQueuedTask", "NOTIFIED": "CancelNotifiedTask"}


# -- tasks -------------------------------------------------------------------------------------
def task_desc(task: UpgradeTask) -> str:
    """Why a task finished, in words ("" before); with vendor retries also which attempt (ASSUMPTION: the wording is ours)."""
    if task.reason == lifecycle.REASON_TIMEOUT:
        text = f"upgrade timed out after {task.extra['timeout_minutes']} minutes"
    elif task.reason == lifecycle.REASON_REFUSED:
        text = task.detail
    elif task.reason == lifecycle.REASON_CANCELED:
        text = f"canceled by {task.detail}" if task.detail else "canceled"
    else:
        text = FAILED_DESC.get(task.reason, "")
    if not task.retries or not task.attempts:
        return text
    waiting = task.status == lifecycle.QUEUED
    attempt = f"attempt {task.attempts + 1 if waiting else task.attempts} of {task.retries + 1}"
    if waiting:
        return f"{attempt}, retried after: {FAILED_DESC.get(task.last_failure, task.last_failure)}"
    return f"{text} ({attempt})" if text else attempt


def task_info(task: UpgradeTask, full: bool = True) -> dict[str, Any]:
    """A task as ListOTATaskByJob (full) or ListOTAUnfinishedTaskByDevice answer it."""
    info = {"destVersion": task.to_version, "deviceName": task.device_id, "firmwareId": task.firmware_id, "iotId": task.extra["iot_id"],
            "jobId": task.job_id, "productKey": task.extra["product_key"], "productName": task.extra["product_name"],
            "srcVersion": task.from_version, "taskId": task.id, "taskStatus": TASK_STATUS[task.status], "utcCreate": utc(task.created),
            "utcModified": utc(task.updated)}
    if full:
        info.update(progress=str(task.progress), taskDesc=task_desc(task), timeout=str(task.extra["timeout_minutes"] or ""))
    return info


def _refresh(state: EmulatorState, job: UpgradeJob, task: UpgradeTask, now: float) -> None:
    lifecycle.refresh(state.fleet, NAME, job, task, state.config.upgrade_seconds, now)


def job_status(state: EmulatorState, job: UpgradeJob, now: float) -> str:
    """IN_PROGRESS while a task is unfinished, then COMPLETED."""
    for task in job.tasks:
        _refresh(state, job, task, now)
    return "IN_PROGRESS" if any(not task.finished for task in job.tasks) else "COMPLETED"


# -- actions -----------------------------------------------------------------------------------
def list_ota_firmware(state: EmulatorState, params: dict[str, str]) -> Response:
    page, size = page_params(params, "ListOTAFirmware", required=True)
    product, version = params.get("ProductKey"), params.get("DestVersion")
    items = [fw for fw in state.fleet.list_firmwares(NAME) if (not product or fw.product == product) and (not version or fw.version == version)]
    chunk, paging = paged(items, page, size)
    return ok(currentPage=page, firmwareInfo={"simpleFirmwareInfo": [firmware_info(fw) for fw in chunk]}, **paging)


def _firmware(state: EmulatorState, params: dict[str, str]) -> Firmware:
    firmware = state.fleet.firmware(NAME, required_param(params, "FirmwareId"))
    if firmware is None:
        raise RpcError("iot.ota.FirmwareNotFound", "The specified firmware does not exist.")
    return firmware


def query_ota_firmware(state: EmulatorState, params: dict[str, str]) -> Response:
    return ok(firmwareInfo=firmware_info(_firmware(state, params), full=True))


def query_device_by_status(state: EmulatorState, params: dict[str, str]) -> Response:
    code = int_param(params, "Status", required=True)
    if code not in DEVICE_STATUS:
        raise RpcError("iot.check.InvalidFormattedParameter", "Status must be 0, 1, 3 or 8.")
    page, size = page_params(params, "QueryDeviceByStatus", required=False)
    product = params.get("ProductKey")
    with state.fleet.lock:
        wanted = DEVICE_STATUS[code]
        devices = [dev for dev in state.fleet.list_devices(NAME) if (not product or dev.product == product) and device_status(state, dev) == wanted]
        chunk, paging = paged(devices, page, size)
        infos = [simple_device(state, dev) for dev in chunk]
    return ok(data={"simpleDeviceInfo": infos}, page=page, **paging)


def _device_by(state: EmulatorState, params: dict[str, str]) -> Device:
    iot_id = params.get("IotId")
    if iot_id:
        found = next((dev for dev in state.fleet.list_devices(NAME) if dev.extra["iot_id"] == iot_id), None)
    else:
        product, name = params.get("ProductKey"), params.get("DeviceName")
        if not product or not name:
            raise RpcError("iot.device.NullDeviceName", "Give IotId, or ProductKey and DeviceName.")
        found = state.fleet.device(NAME, name)
        if found is not None and found.product != product:
            found = None
    if found is None:
        raise RpcError("iot.device.NotExistedDevice", "The specified device does not exist.")
    return found


def query_device_detail(state: EmulatorState, params: dict[str, str]) -> Response:
    with state.fleet.lock:
        return ok(data=device_detail(state, _device_by(state, params)))


def batch_query_device_detail(state: EmulatorState, params: dict[str, str]) -> Response:
    product = required_param(params, "ProductKey")
    names = list_param(params, "DeviceName")
    if not names:
        required_param(params, "DeviceName.1")
    if len(names) > BATCH_DETAIL_LIMIT:
        raise RpcError("iot.check.InvalidFormattedParameter", f"At most {BATCH_DETAIL_LIMIT} DeviceName.N per call.")
    with state.fleet.lock:
        found = [state.fleet.device(NAME, name) for name in names]
        details = [device_detail(state, dev) for dev in found if dev is not None and dev.product == product]
    return ok(data={"data": details})


def create_ota_static_upgrade_job(state: EmulatorState, params: dict[str, str]) -> Response:
    firmware = _firmware(state, params)
    product = required_param(params, "ProductKey")
    selection = required_param(params, "TargetSelection")
    if product != firmware.product:
        raise RpcError("iot.prod.NotExistedProduct", f"The firmware {firmware.id} does not belong to product {product}.")
    if selection != "SPECIFIC":
        raise RpcError("iot.ota.InvalidTargetSelection", "Only TargetSelection SPECIFIC is emulated.")
    names = list_param(params, "TargetDeviceName")
    if not names or len(names) > JOB_DEVICE_LIMIT:
        raise RpcError("iot.ota.InvalidTargetSelection", f"TargetDeviceName.N must name 1..{JOB_DEVICE_LIMIT} devices.")
    status = firmware.extra["status"]
    if status != 1 and not (status == 0 and not firmware.extra["need_to_verify"]):
        raise RpcError("iot.ota.FirmwareNotVerified", "The firmware is not verified.")
    timeout = int_param(params, "TimeoutInMinutes")
    if timeout is not None and not 1 <= timeout <= 1440:
        raise RpcError("iot.check.InvalidFormattedParameter", "TimeoutInMinutes must be 1..1440.")
    retry_interval, retry_count = int_param(params, "RetryInterval"), int_param(params, "RetryCount")
    if retry_interval is not None and retry_interval not in RETRY_INTERVALS:
        raise RpcError("iot.check.InvalidFormattedParameter", f"RetryInterval must be one of {', '.join(map(str, RETRY_INTERVALS))} (minutes).")
    if retry_interval is not None and retry_count not in RETRY_COUNTS:
        raise RpcError("iot.check.InvalidFormattedParameter", f"RetryCount must be one of {', '.join(map(str, RETRY_COUNTS))} with RetryInterval.")
    retries = retry_count if retry_interval is not None else 0    # RetryInterval absent: no retry
    fleet = state.fleet
    book = store(state).book
    with fleet.lock, book.lock:
        devices = [fleet.device(NAME, name) for name in names]
        unknown = [name for name, dev in zip(names, devices) if dev is None or dev.product != product]
        if unknown:
            raise RpcError("iot.device.NotExistedDevice", f"Devices not found in product {product}: {', '.join(unknown[:5])}.")
        now = state.clock()
        job = UpgradeJob(id=book.new_id("job"), firmware_id=firmware.id, product=product, created=now, device_ids=[],
                         timeout=timeout * 60 if timeout else None,
                         extra={"timeout_minutes": timeout, "dest_version": firmware.version, "retry_count": retries,
                                "retry_interval": retry_interval})
        src = firmware.extra["src_version"]
        for device in dict((dev.id, dev) for dev in devices).values():
            if device.firmware_version == firmware.version:
                continue  # devices already at the target are skipped (Alibaba's rule)
            task = UpgradeTask(id=book.new_id("task"), job_id=job.id, device_id=device.id, firmware_id=firmware.id,
                               from_version=device.firmware_version, to_version=firmware.version, created=now, updated=now,
                               timeout=job.timeout, timeout_from=lifecycle.TIMEOUT_FROM_PUSHED, retries=retries,
                               retry_interval=60.0 * (retry_interval or 0),
                               extra={"iot_id": device.extra["iot_id"], "product_key": product, "product_name": device.extra["product_name"],
                                      "timeout_minutes": timeout})
            other = book.unfinished_task_of(fleet, device.id, state.config.upgrade_seconds, now)
            if other is not None:
                lifecycle.finish(task, lifecycle.FAILED, lifecycle.REASON_REFUSED, now,
                                 f"the device already has an unfinished upgrade task in job {other.job_id}")
            elif src and device.firmware_version != src:
                lifecycle.finish(task, lifecycle.FAILED, lifecycle.REASON_REFUSED, now,
                                 f"the device runs {device.firmware_version}, not the firmware's SrcVersion {src}")
            job.device_ids.append(device.id)
            job.tasks.append(task)
            _refresh(state, job, task, now)
        book.add(job)
    return ok(data={"jobId": job.id, "utcCreate": utc(now)})


def _job(state: EmulatorState, params: dict[str, str]) -> UpgradeJob:
    job = store(state).book.jobs.get(required_param(params, "JobId"))
    if job is None:
        raise RpcError("iot.ota.JobNotFound", "The specified job does not exist.")
    return job


def query_ota_job(state: EmulatorState, params: dict[str, str]) -> Response:
    with state.fleet.lock:
        job = _job(state, params)
        status = job_status(state, job, state.clock())
    return ok(data={"destVersion": job.extra["dest_version"], "downloadProtocol": "HTTPS", "firmwareId": job.firmware_id, "jobId": job.id,
                    "jobStatus": status, "jobType": "UPGRADE_FIRMWARE", "needConfirm": False, "needPush": True,
                    "productKey": job.product, "selectionType": "STATIC", "targetSelection": "SPECIFIC",
                    "retryCount": job.extra["retry_count"] or None, "retryInterval": job.extra["retry_interval"],
                    "timeoutInMinutes": job.extra["timeout_minutes"], "utcCreate": utc(job.created)})


def list_ota_job_by_firmware(state: EmulatorState, params: dict[str, str]) -> Response:
    firmware = _firmware(state, params)
    page, size = page_params(params, "ListOTAJobByFirmware", required=True)
    with state.fleet.lock:
        now = state.clock()
        jobs = [job for job in store(state).book.jobs.values() if job.firmware_id == firmware.id]
        chunk, paging = paged(jobs, page, size)
        infos = [{"firmwareId": job.firmware_id, "jobId": job.id, "jobStatus": job_status(state, job, now), "jobType": "UPGRADE_FIRMWARE",
                  "productKey": job.product, "targetSelection": "SPECIFIC", "utcCreate": utc(job.created),
                  "utcModified": utc(job.created)} for job in chunk]
    return ok(data={"simpleOTAJobInfo": infos}, currentPage=page, **paging)


def list_ota_task_by_job(state: EmulatorState, params: dict[str, str]) -> Response:
    page, size = page_params(params, "ListOTATaskByJob", required=False)
    wanted_status = params.get("TaskStatus")
    names = set(list_param(params, "DeviceNames"))
    with state.fleet.lock:
        job = _job(state, params)
        now = state.clock()
        for task in job.tasks:
            _refresh(state, job, task, now)
        tasks = [t for t in job.tasks
                 if (not wanted_status or TASK_STATUS[t.status] == wanted_status) and (not names or t.device_id in names)]
        chunk, paging = paged(tasks, page, size)
        infos = [task_info(task) for task in chunk]
    return ok(data={"simpleOTATaskInfo": infos}, currentPage=page, **paging)


def list_ota_unfinished_task_by_device(state: EmulatorState, params: dict[str, str]) -> Response:
    statuses = list_param(params, "TaskStatusList") or ([params["TaskStatus"]] if params.get("TaskStatus") else list(UNFINISHED))
    if any(status not in UNFINISHED for status in statuses):
        raise RpcError("iot.check.InvalidFormattedParameter", f"TaskStatus must be one of {', '.join(UNFINISHED)}.")
    with state.fleet.lock:
        device = _device_by(state, params)
        now = state.clock()
        infos = []
        for job in list(store(state).book.jobs.values()):
            for task in job.tasks:
                if task.device_id == device.id:
                    _refresh(state, job, task, now)
                    if TASK_STATUS[task.status] in statuses:
                        infos.append(dict(task_info(task, full=False), moduleName="default"))
    return ok(data={"simpleOTATaskInfo": infos})


def _flag(params: dict[str, str], name: str) -> bool:
    value = params.get(name, "false").lower()
    if value not in ("true", "false"):
        raise RpcError("iot.check.InvalidFormattedParameter", f"{name} must be true or false, got {params[name]!r}.")
    return value == "true"


def cancel_ota_task_by_job(state: EmulatorState, params: dict[str, str]) -> Response:
    """The job's tasks in the states whose flag is true; at least one flag must be (ASSUMPTION: Alibaba's rule)."""
    wanted = set(status for status, flag in CANCEL_FLAGS.items() if _flag(params, flag))
    with state.fleet.lock:
        job = _job(state, params)
        if not wanted:
            raise RpcError("iot.check.InvalidFormattedParameter", f"At least one of {', '.join(sorted(CANCEL_FLAGS.values()))} must be true.")
        now = state.clock()
        for task in job.tasks:
            _refresh(state, job, task, now)
            if TASK_STATUS[task.status] in wanted:
                lifecycle.cancel(state.fleet, NAME, task, lifecycle.REASON_CANCELED, now, "CancelOTATaskByJob")
    return ok()


def cancel_ota_task_by_device(state: EmulatorState, params: dict[str, str]) -> Response:
    """The devices' CONFIRM / QUEUED / NOTIFIED tasks towards FirmwareId (of JobId when given); IN_PROGRESS ones run on (Tuya)."""
    firmware = _firmware(state, params)
    product = required_param(params, "ProductKey")
    names = list_param(params, "DeviceName")
    if not names:
        required_param(params, "DeviceName.1")
    if len(names) > JOB_DEVICE_LIMIT:
        raise RpcError("iot.check.InvalidFormattedParameter", f"At most {JOB_DEVICE_LIMIT} DeviceName.N per call.")
    if product != firmware.product:
        raise RpcError("iot.prod.NotExistedProduct", f"The firmware {firmware.id} does not belong to product {product}.")
    with state.fleet.lock:
        job = _job(state, params) if params.get("JobId") else None
        unknown = [name for name in names if (dev := state.fleet.device(NAME, name)) is None or dev.product != product]
        if unknown:
            raise RpcError("iot.device.NotExistedDevice", f"Devices not found in product {product}: {', '.join(unknown[:5])}.")
        now = state.clock()
        wanted = set(names)
        for each in [job] if job is not None else list(store(state).book.jobs.values()):
            if each.firmware_id != firmware.id:
                continue
            for task in each.tasks:
                if task.device_id in wanted:
                    _refresh(state, each, task, now)
                    if TASK_STATUS[task.status] in CANCEL_FLAGS:
                        lifecycle.cancel(state.fleet, NAME, task, lifecycle.REASON_CANCELED, now, "CancelOTATaskByDevice")
    return ok()


ACTIONS: dict[str, Callable[[EmulatorState, dict[str, str]], Response]] = {
    "ListOTAFirmware": list_ota_firmware,
    "QueryOTAFirmware": query_ota_firmware,
    "QueryDeviceByStatus": query_device_by_status,
    "QueryDeviceDetail": query_device_detail,
    "BatchQueryDeviceDetail": batch_query_device_detail,
    "CreateOTAStaticUpgradeJob": create_ota_static_upgrade_job,
    "QueryOTAJob": query_ota_job,
    "ListOTAJobByFirmware": list_ota_job_by_firmware,
    "ListOTATaskByJob": list_ota_task_by_job,
    "ListOTAUnfinishedTaskByDevice": list_ota_unfinished_task_by_device,
    "CancelOTATaskByJob": cancel_ota_task_by_job,
    "CancelOTATaskByDevice": cancel_ota_task_by_device,
}
