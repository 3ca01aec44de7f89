# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Tuya IoT Core RPC API (``/?Action=...``, HMAC-SHA1) emulation and its fleet seeding.

Follows the project's vendor notes (vendors/tuya.md part B): one endpoint dispatching on
``Action``, the Alibaba-style RPC signature checked strictly (signature, AccessKeyId,
SignatureMethod, Timestamp window, single-use SignatureNonce), page-size caps, per-action
QPS limits, OTA jobs and tasks that progress on the shared fleet model and can fail.
What the vendor leaves open (gateway error strings, ``iot.ota.*`` codes, QPS numbers, the
job/task state machine) is our assumption, kept in the tables at the top of this file.
"""

from __future__ import annotations

import base64
import calendar
import hashlib
import hmac
import itertools
import random
import threading
import time
import uuid
import weakref
from dataclasses import dataclass, field
from typing import Any, Callable
from urllib.parse import unquote_plus

from flask import Blueprint, Response, request

from .fleet import (
    ALWAYS_ONLINE, PHASE_INSTALLING, PHASE_REBOOTING, PHASE_UPLOADING, RESULT_FAILED, RESULT_SUCCESS, START_OK,
    Device, Firmware, pick_offline,
)
from .state import EmulatorState, Platform, get_state, json_response

NAME = "tuya_iotcore"
API_VERSIONS = ("2018-01-20", "2022-01-01")
REQUIRED_COMMON = ("Action", "AccessKeyId", "SignatureMethod", "SignatureNonce", "Timestamp", "Signature")
NONCE_TTL = 900.0

# Gateway errors: ASSUMPTION (Alibaba POP strings, vendor notes B.9) -> HTTP status.
GATEWAY_STATUS = {
    "MissingParameter": 400,
    "InvalidAccessKeyId.NotFound": 404,
    "InvalidSignatureMethod": 400,
    "InvalidTimeStamp.Format": 400,
    "InvalidTimeStamp.Expired": 400,
    "SignatureDoesNotMatch": 400,
    "SignatureNonceUsed": 400,
    "InvalidApi.NotFound": 404,
    "InvalidVersion": 400,
    "Throttling.User": 400,
}
# Per-account QPS per action: Alibaba's published numbers (vendor notes B.10; Tuya publishes none).
QPS = {
    "ListOTAFirmware": 10, "QueryOTAFirmware": 20, "CreateOTAStaticUpgradeJob": 20, "QueryOTAJob": 10,
    "ListOTATaskByJob": 10, "CancelOTATaskByJob": 5, "QueryDeviceDetail": 50, "BatchQueryDeviceDetail": 5,
}
# Page-size caps (documented).
PAGE_CAPS = {"ListOTAFirmware": 100, "ListOTATaskByJob": 100, "ListOTAJobByFirmware": 200, "QueryDeviceByStatus": 50}
JOB_DEVICE_LIMIT = 200      # TargetDeviceName.N per CreateOTAStaticUpgradeJob (Alibaba's rule)
BATCH_DETAIL_LIMIT = 100    # DeviceName.N per BatchQueryDeviceDetail (documented)
UNFINISHED = ("CONFIRM", "QUEUED", "NOTIFIED", "IN_PROGRESS")
DEVICE_STATUS = {1: "ONLINE", 3: "OFFLINE", 0: "UNACTIVE", 8: "DISABLE"}

# (ProductKey, product name, module, verified releases oldest first, (SrcVersion-bound package, its SrcVersion),
#  unverified package (NeedToVerify=false), package that failed verification)
PRODUCTS = (
    ("k1nhvylA001", "smart-bulb", "wifi", ("3.0.0", "3.1.0", "3.2.0"), ("3.2.1", "3.1.0"), "3.3.0", "3.4.0"),
    ("k1nhvylB002", "smart-plug", "wifi", ("5.0.1", "5.1.0", "5.2.4"), ("5.2.5", "5.1.0"), "5.3.0", "5.4.0"),
    ("k1nhvylC003", "door-sensor", "ble", ("1.8.0", "1.9.2", "2.0.0"), ("2.0.1", "1.9.2"), "2.1.0", "2.2.0"),
)
# Old verified packages per product ("0.<n // 10>.<n % 10>"), so that the whole catalog spans several pages.
HISTORY = 40
CATALOG_EPOCH = 1704067200  # 2024-01-01T00:00:00Z
NAME_PREFIX = "iotdev"

blueprint = Blueprint(NAME, __name__)
_SYSTEM_RANDOM = random.SystemRandom()


class RpcError(Exception):
    """An error answer: gateway codes get their HTTP status, business codes HTTP 200."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = GATEWAY_STATUS.get(code, 200)


@dataclass
class Job:
    id: str
    firmware_id: str
    product_key: str
    dest_version: str
    created: float
    timeout_minutes: int | None
    task_ids: list[str] = field(default_factory=list)


@dataclass
class Task:
    id: str
    job_id: str
    device_name: str
    iot_id: str
    product_key: str
    product_name: str
    firmware_id: str
    src_version: str
    dest_version: str
    status: str
    created: float
    modified: float
    timeout_minutes: int | None
    desc: str = ""
    progress: int = 0
    started: bool = False


class Store:
    """IoT Core state besides the fleet: jobs, tasks, used nonces, QPS windows."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.jobs: dict[str, Job] = {}
        self.tasks: dict[str, Task] = {}
        self.nonces: dict[str, float] = {}
        self.calls: dict[str, list[float]] = {}
        self.ids = itertools.count(1)

    def new_id(self) -> str:
        """A ~19-digit numeric id, as the vendor's JobId / TaskId."""
        return f"{1_700_000_000_000_000_000 + next(self.ids):d}"


_STORES: weakref.WeakKeyDictionary[EmulatorState, Store] = weakref.WeakKeyDictionary()


def store(state: EmulatorState) -> Store:
    """The IoT Core store of this emulator (created by seeding)."""
    found = _STORES.get(state)
    if found is None:
        found = _STORES[state] = Store()
    return found


# -- signing (an implementation independent of the client's) ---------------------------------
def rpc_encode(text: str) -> str:
    """RPC percent-encoding: RFC 3986 unreserved kept, the rest %XY (uppercase) of the UTF-8 bytes."""
    out = []
    for byte in text.encode("utf-8"):
        char = chr(byte)
        if char.isascii() and (char.isalnum() or char in "-_.~"):
            out.append(char)
        else:
            out.append(f"%{byte:02X}")
    return "".join(out)


def expected_signature(method: str, params: dict[str, str], secret: str) -> str:
    """Base64 HMAC-SHA1 (key secret + '&') of METHOD&%2F&encode(sorted encoded pairs)."""
    canonical = "&".join(f"{rpc_encode(k)}={rpc_encode(v)}" for k, v in sorted(params.items()) if k != "Signature")
    text = f"{method}&{rpc_encode('/')}&{rpc_encode(canonical)}"
    digest = hmac.new(f"{secret}&".encode(), text.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


def _parse_params() -> dict[str, str]:
    """Decoded parameters from the raw query (and a form body for POST); a repeated name is refused."""
    params: dict[str, str] = {}
    sources = [request.query_string.decode("latin-1")]
    if request.method == "POST" and request.mimetype == "application/x-www-form-urlencoded":
        sources.append(request.get_data(as_text=True))
    for raw in sources:
        for part in raw.split("&"):
            if not part:
                continue
            key, _sep, value = part.partition("=")
            name = unquote_plus(key, encoding="utf-8", errors="strict")
            if name in params:
                raise RpcError("InvalidParameter", f"parameter {name} is given twice")
            params[name] = unquote_plus(value, encoding="utf-8", errors="strict")
    return params


def _parse_timestamp(text: str) -> float:
    return float(calendar.timegm(time.strptime(text, "%Y-%m-%dT%H:%M:%SZ")))


def _authenticate(state: EmulatorState, params: dict[str, str]) -> None:
    for name in REQUIRED_COMMON:
        if not params.get(name):
            raise RpcError("MissingParameter", f"The input parameter {name} that is mandatory for processing this request is not supplied.")
    if params["AccessKeyId"] != state.option(NAME, "access_key"):
        raise RpcError("InvalidAccessKeyId.NotFound", "Specified access key is not found.")
    if params["SignatureMethod"] != "HMAC-SHA1":
        raise RpcError("InvalidSignatureMethod", "Specified signature method is not valid (HMAC-SHA1 expected).")
    try:
        stamp = _parse_timestamp(params["Timestamp"])
    except ValueError:
        raise RpcError("InvalidTimeStamp.Format", "Specified time stamp or date value is not well formatted (YYYY-MM-DDThh:mm:ssZ, UTC).") from None
    now = state.clock()
    if abs(now - stamp) > float(state.option(NAME, "skew")):
        raise RpcError("InvalidTimeStamp.Expired", "Specified time stamp or date value is expired.")
    method = request.method
    if not hmac.compare_digest(params["Signature"], expected_signature(method, params, state.option(NAME, "secret_key"))):
        raise RpcError("SignatureDoesNotMatch", "Specified signature is not matched with our calculation.")
    iot = store(state)
    with iot.lock:
        for nonce, expiry in list(iot.nonces.items()):
            if expiry < now:
                del iot.nonces[nonce]
        if params["SignatureNonce"] in iot.nonces:
            raise RpcError("SignatureNonceUsed", "Specified signature nonce was used already.")
        iot.nonces[params["SignatureNonce"]] = now + NONCE_TTL
    version = params.get("Version")
    if version is not None and version not in API_VERSIONS:
        raise RpcError("InvalidVersion", f"Specified parameter Version is not valid (one of {', '.join(API_VERSIONS)}).")


def _throttle(state: EmulatorState, action: str) -> None:
    scale = float(state.option(NAME, "qps_scale"))
    limit = QPS.get(action)
    if not limit or scale <= 0:
        return
    now = time.monotonic()
    iot = store(state)
    with iot.lock:
        window = [t for t in iot.calls.get(action, []) if now - t < 1.0]
        if len(window) >= limit * scale:
            iot.calls[action] = window
            raise RpcError("Throttling.User", f"Request was denied due to user flow control ({action}: {limit * scale:g} per second).")
        window.append(now)
        iot.calls[action] = window


# -- response shaping --------------------------------------------------------------------------
def _pascal(value: Any) -> Any:
    if isinstance(value, dict):
        return {key[:1].upper() + key[1:]: _pascal(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_pascal(item) for item in value]
    return value


def _answer(payload: dict[str, Any], status: int = 200) -> Response:
    body = {"requestId": str(uuid.uuid4()), **payload}
    if get_state().option(NAME, "casing") == "pascal":
        body = _pascal(body)
    return json_response(body, status=status, content_type="application/json;charset=utf-8")


def _ok(**payload: Any) -> Response:
    return _answer({"code": "", "success": True, **payload})


def _required(params: dict[str, str], name: str) -> str:
    value = params.get(name)
    if not value:
        raise RpcError("MissingParameter", f"The input parameter {name} that is mandatory for processing this request is not supplied.")
    return value


def _int_param(params: dict[str, str], name: str, default: int | None = None, required: bool = False) -> int | None:
    value = params.get(name)
    if value in (None, ""):
        if required:
            _required(params, name)
        return default
    try:
        return int(value)
    except ValueError:
        raise RpcError("iot.check.InvalidFormattedParameter", f"{name} must be an integer, got {value!r}.") from None


def _page(params: dict[str, str], action: str, required: bool, default_size: int = 10) -> tuple[int, int]:
    page = _int_param(params, "CurrentPage", 1, required)
    size = _int_param(params, "PageSize", default_size, required)
    cap = PAGE_CAPS[action]
    if page is None or size is None or page < 1 or size < 1 or size > cap or page * size > 100000:
        raise RpcError("iot.common.InvalidPageParams", f"CurrentPage must be >= 1 and PageSize 1..{cap} for {action}.")
    return page, size


def _paged(items: list[Any], page: int, size: int) -> tuple[list[Any], dict[str, int]]:
    total = len(items)
    count = (total + size - 1) // size
    return items[(page - 1) * size:page * size], {"total": total, "pageSize": size, "pageCount": count}


def _list_param(params: dict[str, str], name: str) -> list[str]:
    values = []
    for index in itertools.count(1):
        value = params.get(f"{name}.{index}")
        if value is None:
            return values
        values.append(value)
    return values


def _utc(epoch: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime(epoch))


# -- seeding -----------------------------------------------------------------------------------
def seed(state: EmulatorState, rng: Any) -> None:
    """Fill the fleet with the IoT Core catalog and devices (deterministic); forget jobs, tasks and nonces."""
    _STORES[state] = Store()
    fleet = state.fleet
    now = state.clock()
    next_id = 101
    for product_key, product_name, module, releases, (delta, delta_src), unverified, failed in PRODUCTS:
        packages = [(f"0.{n // 10}.{n % 10}", 1, None, True) for n in range(HISTORY)]
        packages += [(version, 1, None, True) for version in releases]
        packages += [(delta, 1, delta_src, True), (unverified, 0, None, False), (failed, 3, None, True)]
        for index, (version, status, src, need_verify) in enumerate(packages):
            name = f"{product_name}-{version}"
            created = CATALOG_EPOCH + 3600 * (index + next_id)
            fleet.add_firmware(Firmware(
                platform=NAME, id=str(next_id), version=version, product=product_key, hardware_version="", family=product_key,
                released=status == 1, name=name, size=rng.randint(200_000, 4_000_000), checksum=hashlib.md5(name.encode()).hexdigest(),
                created=float(created),
                extra={"status": status, "src_version": src, "need_to_verify": need_verify, "module": module, "product_name": product_name},
            ))
            next_id += 1
    count = state.config.devices
    offline = pick_offline(rng, count, state.config.offline_ratio)
    for index in range(count):
        if index < 3 * len(PRODUCTS):
            product = PRODUCTS[index % len(PRODUCTS)]
            version = product[3][index // len(PRODUCTS)]      # oldest, middle (SrcVersion of the delta), newest release
        else:
            product = rng.choice(PRODUCTS)
            version = rng.choice(product[3])
        product_key, product_name = product[0], product[1]
        number = index + 1
        online = index not in offline
        fleet.add_device(Device(
            platform=NAME, id=f"{NAME_PREFIX}{number:05d}", name=f"{product_name}-{number:04d}", product=product_key, hardware_version="",
            family=product_key, firmware_version=version, online=online,
            online_since=now - rng.randint(600, 30 * 86400) if online else None,
            extra={"iot_id": "".join(rng.choices("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789", k=26)),
                   "device_secret": "".join(rng.choices("0123456789abcdef", k=32)), "product_name": product_name,
                   "created": now - rng.randint(30, 400) * 86400},
        ))


# -- rendering ---------------------------------------------------------------------------------
def _firmware_info(firmware: Firmware, full: bool = False) -> dict[str, Any]:
    info = {
        "destVersion": firmware.version, "firmwareDesc": f"{firmware.extra['product_name']} firmware {firmware.version}",
        "firmwareId": firmware.id, "firmwareName": firmware.name, "firmwareSign": firmware.checksum, "firmwareSize": firmware.size,
        "moduleName": firmware.extra["module"], "productKey": firmware.product, "productName": firmware.extra["product_name"],
        "signMethod": "MD5", "srcVersion": firmware.extra["src_version"] or "", "status": firmware.extra["status"], "type": 0,
        "utcCreate": _utc(firmware.created), "utcModified": _utc(firmware.created),
    }
    if full:
        info["firmwareUrl"] = f"https://ota.example.invalid/{firmware.product}/{firmware.name}.bin"
    return info


def _device_status(state: EmulatorState, device: Device) -> str:
    return "ONLINE" if state.fleet.status(device).online else "OFFLINE"


def _simple_device(state: EmulatorState, device: Device) -> dict[str, Any]:
    return {"deviceName": device.id, "iotId": device.extra["iot_id"], "productKey": device.product, "nickname": device.name,
            "status": _device_status(state, device), "utcCreate": _utc(device.extra["created"]), "utcModified": _utc(device.extra["created"])}


def _device_detail(state: EmulatorState, device: Device) -> dict[str, Any]:
    return {"deviceName": device.id, "deviceSecret": device.extra["device_secret"], "firmwareVersion": device.firmware_version,
            "iotId": device.extra["iot_id"], "nickname": device.name, "nodeType": 0, "productKey": device.product,
            "productName": device.extra["product_name"], "region": "cn-shanghai", "status": _device_status(state, device),
            "utcCreate": _utc(device.extra["created"]), "utcActive": _utc(device.extra["created"])}


def _task_info(task: Task, full: bool = True) -> dict[str, Any]:
    info = {"destVersion": task.dest_version, "deviceName": task.device_name, "firmwareId": task.firmware_id, "iotId": task.iot_id,
            "jobId": task.job_id, "productKey": task.product_key, "productName": task.product_name, "srcVersion": task.src_version,
            "taskId": task.id, "taskStatus": task.status, "utcCreate": _utc(task.created), "utcModified": _utc(task.modified)}
    if full:
        info.update(progress=str(task.progress), taskDesc=task.desc, timeout=str(task.timeout_minutes or ""))
    return info


# -- jobs and tasks on the fleet's upgrade state machine ---------------------------------------
def _finish(task: Task, status: str, desc: str, now: float) -> None:
    task.status, task.desc, task.modified = status, desc, now


def _refresh(state: EmulatorState, task: Task, now: float) -> None:
    """Bring one task up to date with its device (lazy, like the fleet)."""
    if task.status not in UNFINISHED:
        return
    fleet = state.fleet
    device = fleet.device(NAME, task.device_name)
    firmware = fleet.firmware(NAME, task.firmware_id)
    if device is None or firmware is None:
        _finish(task, "FAILED", "the device or the firmware no longer exists", now)
        return
    mine = device.upgrading and device.target_firmware_id == firmware.id
    if task.timeout_minutes and now - task.created > task.timeout_minutes * 60:
        if task.started and mine:
            fleet.cancel_upgrade(device)
        _finish(task, "FAILED", f"upgrade timed out after {task.timeout_minutes} minutes", now)
        return
    if not task.started:
        status = fleet.status(device, now)
        if status.online and not device.upgrading and fleet.start_upgrade(device, firmware, state.config.upgrade_seconds) == START_OK:
            task.started = True
            task.status, task.modified = "NOTIFIED", now
        return
    status = fleet.status(device, now)
    if device.upgrading and device.target_firmware_id == firmware.id:
        if status.phase == PHASE_UPLOADING:
            percent = int(status.upload_position * 0.4)
        elif status.phase == PHASE_INSTALLING:
            percent = 40 + 10 * status.step
        elif status.phase == PHASE_REBOOTING:
            percent = 90
        else:
            percent = 99
        new_status = "NOTIFIED" if status.phase == PHASE_UPLOADING and status.upload_position < 10 else "IN_PROGRESS"
        if (new_status, percent) != (task.status, task.progress):
            task.status, task.progress, task.modified = new_status, percent, now
        return
    if status.last_result == RESULT_SUCCESS and device.firmware_version == task.dest_version:
        task.progress = 100
        _finish(task, "SUCCEEDED", "", now)
    elif status.last_result == RESULT_FAILED:
        _finish(task, "FAILED", "the device reported that installing the firmware failed", now)
    else:
        _finish(task, "CANCELED", "the upgrade was canceled", now)


def _job_status(state: EmulatorState, job: Job, now: float) -> str:
    tasks = [store(state).tasks[task_id] for task_id in job.task_ids]
    for task in tasks:
        _refresh(state, task, now)
    return "IN_PROGRESS" if any(task.status in UNFINISHED for task in tasks) else "COMPLETED"


def _unfinished_task_of(state: EmulatorState, device_name: str, now: float) -> Task | None:
    for task in store(state).tasks.values():
        if task.device_name == device_name and task.status in UNFINISHED:
            _refresh(state, task, now)
            if task.status in UNFINISHED:
                return task
    return None


# -- actions -----------------------------------------------------------------------------------
def list_ota_firmware(state: EmulatorState, params: dict[str, str]) -> Response:
    page, size = _page(params, "ListOTAFirmware", required=True)
    product, version = params.get("ProductKey"), params.get("DestVersion")
    items = [fw for fw in state.fleet.list_firmwares(NAME) if (not product or fw.product == product) and (not version or fw.version == version)]
    chunk, paging = _paged(items, page, size)
    return _ok(currentPage=page, firmwareInfo={"simpleFirmwareInfo": [_firmware_info(fw) for fw in chunk]}, **paging)


def _firmware(state: EmulatorState, params: dict[str, str]) -> Firmware:
    firmware = state.fleet.firmware(NAME, _required(params, "FirmwareId"))
    if firmware is None:
        raise RpcError("iot.ota.FirmwareNotFound", "The specified firmware does not exist.")
    return firmware


def query_ota_firmware(state: EmulatorState, params: dict[str, str]) -> Response:
    return _ok(firmwareInfo=_firmware_info(_firmware(state, params), full=True))


def query_device_by_status(state: EmulatorState, params: dict[str, str]) -> Response:
    code = _int_param(params, "Status", required=True)
    if code not in DEVICE_STATUS:
        raise RpcError("iot.check.InvalidFormattedParameter", "Status must be 0, 1, 3 or 8.")
    page, size = _page(params, "QueryDeviceByStatus", required=False)
    product = params.get("ProductKey")
    with state.fleet.lock:
        wanted = DEVICE_STATUS[code]
        devices = [dev for dev in state.fleet.list_devices(NAME) if (not product or dev.product == product) and _device_status(state, dev) == wanted]
        chunk, paging = _paged(devices, page, size)
        infos = [_simple_device(state, dev) for dev in chunk]
    return _ok(data={"simpleDeviceInfo": infos}, page=page, **paging)


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
        return _ok(data=_device_detail(state, _device_by(state, params)))


def batch_query_device_detail(state: EmulatorState, params: dict[str, str]) -> Response:
    product = _required(params, "ProductKey")
    names = _list_param(params, "DeviceName")
    if not names:
        _required(params, "DeviceName.1")
    if len(names) > BATCH_DETAIL_LIMIT:
        raise RpcError("iot.check.InvalidFormattedParameter", f"At most {BATCH_DETAIL_LIMIT} DeviceName.N per call.")
    with state.fleet.lock:
        found = [state.fleet.device(NAME, name) for name in names]
        details = [_device_detail(state, dev) for dev in found if dev is not None and dev.product == product]
    return _ok(data={"data": details})


def create_ota_static_upgrade_job(state: EmulatorState, params: dict[str, str]) -> Response:
    firmware = _firmware(state, params)
    product = _required(params, "ProductKey")
    selection = _required(params, "TargetSelection")
    if product != firmware.product:
        raise RpcError("iot.prod.NotExistedProduct", f"The firmware {firmware.id} does not belong to product {product}.")
    if selection != "SPECIFIC":
        raise RpcError("iot.ota.InvalidTargetSelection", "Only TargetSelection SPECIFIC is emulated.")
    names = _list_param(params, "TargetDeviceName")
    if not names or len(names) > JOB_DEVICE_LIMIT:
        raise RpcError("iot.ota.InvalidTargetSelection", f"TargetDeviceName.N must name 1..{JOB_DEVICE_LIMIT} devices.")
    status = firmware.extra["status"]
    if status != 1 and not (status == 0 and not firmware.extra["need_to_verify"]):
        raise RpcError("iot.ota.FirmwareNotVerified", "The firmware is not verified.")
    timeout = _int_param(params, "TimeoutInMinutes")
    if timeout is not None and not 1 <= timeout <= 1440:
        raise RpcError("iot.check.InvalidFormattedParameter", "TimeoutInMinutes must be 1..1440.")
    fleet = state.fleet
    iot = store(state)
    with fleet.lock, iot.lock:
        devices = [fleet.device(NAME, name) for name in names]
        unknown = [name for name, dev in zip(names, devices) if dev is None or dev.product != product]
        if unknown:
            raise RpcError("iot.device.NotExistedDevice", f"Devices not found in product {product}: {', '.join(unknown[:5])}.")
        now = state.clock()
        job = Job(id=iot.new_id(), firmware_id=firmware.id, product_key=product, dest_version=firmware.version, created=now,
                  timeout_minutes=timeout)
        src = firmware.extra["src_version"]
        for device in dict((dev.id, dev) for dev in devices).values():
            if device.firmware_version == firmware.version:
                continue  # devices already at the target are skipped (Alibaba's rule)
            task = Task(id=iot.new_id(), job_id=job.id, device_name=device.id, iot_id=device.extra["iot_id"], product_key=product,
                        product_name=device.extra["product_name"], firmware_id=firmware.id, src_version=device.firmware_version,
                        dest_version=firmware.version, status="QUEUED", created=now, modified=now, timeout_minutes=timeout)
            other = _unfinished_task_of(state, device.id, now)
            if other is not None:
                _finish(task, "FAILED", f"the device already has an unfinished upgrade task in job {other.job_id}", now)
            elif src and device.firmware_version != src:
                _finish(task, "FAILED", f"the device runs {device.firmware_version}, not the firmware's SrcVersion {src}", now)
            iot.tasks[task.id] = task
            job.task_ids.append(task.id)
            _refresh(state, task, now)
        iot.jobs[job.id] = job
    return _ok(data={"jobId": job.id, "utcCreate": _utc(now)})


def _job(state: EmulatorState, params: dict[str, str]) -> Job:
    job = store(state).jobs.get(_required(params, "JobId"))
    if job is None:
        raise RpcError("iot.ota.JobNotFound", "The specified job does not exist.")
    return job


def query_ota_job(state: EmulatorState, params: dict[str, str]) -> Response:
    with state.fleet.lock:
        job = _job(state, params)
        status = _job_status(state, job, state.clock())
    return _ok(data={"destVersion": job.dest_version, "downloadProtocol": "HTTPS", "firmwareId": job.firmware_id, "jobId": job.id,
                     "jobStatus": status, "jobType": "UPGRADE_FIRMWARE", "needConfirm": False, "needPush": True,
                     "productKey": job.product_key, "selectionType": "STATIC", "targetSelection": "SPECIFIC",
                     "timeoutInMinutes": job.timeout_minutes, "utcCreate": _utc(job.created)})


def list_ota_job_by_firmware(state: EmulatorState, params: dict[str, str]) -> Response:
    firmware = _firmware(state, params)
    page, size = _page(params, "ListOTAJobByFirmware", required=True)
    with state.fleet.lock:
        now = state.clock()
        jobs = [job for job in store(state).jobs.values() if job.firmware_id == firmware.id]
        chunk, paging = _paged(jobs, page, size)
        infos = [{"firmwareId": job.firmware_id, "jobId": job.id, "jobStatus": _job_status(state, job, now), "jobType": "UPGRADE_FIRMWARE",
                  "productKey": job.product_key, "targetSelection": "SPECIFIC", "utcCreate": _utc(job.created),
                  "utcModified": _utc(job.created)} for job in chunk]
    return _ok(data={"simpleOTAJobInfo": infos}, currentPage=page, **paging)


def list_ota_task_by_job(state: EmulatorState, params: dict[str, str]) -> Response:
    page, size = _page(params, "ListOTATaskByJob", required=False)
    wanted_status = params.get("TaskStatus")
    names = set(_list_param(params, "DeviceNames"))
    with state.fleet.lock:
        job = _job(state, params)
        now = state.clock()
        tasks = [store(state).tasks[task_id] for task_id in job.task_ids]
        for task in tasks:
            _refresh(state, task, now)
        tasks = [t for t in tasks if (not wanted_status or t.status == wanted_status) and (not names or t.device_name in names)]
        chunk, paging = _paged(tasks, page, size)
        infos = [_task_info(task) for task in chunk]
    return _ok(data={"simpleOTATaskInfo": infos}, currentPage=page, **paging)


def list_ota_unfinished_task_by_device(state: EmulatorState, params: dict[str, str]) -> Response:
    statuses = _list_param(params, "TaskStatusList") or ([params["TaskStatus"]] if params.get("TaskStatus") else list(UNFINISHED))
    if any(status not in UNFINISHED for status in statuses):
        raise RpcError("iot.check.InvalidFormattedParameter", f"TaskStatus must be one of {', '.join(UNFINISHED)}.")
    with state.fleet.lock:
        device = _device_by(state, params)
        now = state.clock()
        infos = []
        for task in store(state).tasks.values():
            if task.device_name == device.id:
                _refresh(state, task, now)
                if task.status in statuses:
                    infos.append(dict(_task_info(task, full=False), moduleName="default"))
    return _ok(data={"simpleOTATaskInfo": infos})


def cancel_ota_task_by_job(state: EmulatorState, params: dict[str, str]) -> Response:
    flags = {"CONFIRM": "CancelUnconfirmedTask", "QUEUED": "CancelQueuedTask", "NOTIFIED": "CancelNotifiedTask"}
    with state.fleet.lock:
        job = _job(state, params)
        now = state.clock()
        for task_id in job.task_ids:
            task = store(state).tasks[task_id]
            _refresh(state, task, now)
            if task.status in flags and params.get(flags[task.status], "false").lower() == "true":
                device = state.fleet.device(NAME, task.device_name)
                if task.started and device is not None and device.target_firmware_id == task.firmware_id:
                    state.fleet.cancel_upgrade(device)
                _finish(task, "CANCELED", "canceled by CancelOTATaskByJob", now)
    return _ok()


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
}


@blueprint.route("/", methods=["GET", "POST"])
def rpc() -> Response:
    """GET / (or POST / with a form body): verify the signature, then dispatch on Action."""
    state = get_state()
    try:
        try:
            params = _parse_params()
        except UnicodeDecodeError:
            raise RpcError("iot.check.InvalidFormattedParameter", "Parameters must be UTF-8, percent-encoded.") from None
        _authenticate(state, params)
        action = ACTIONS.get(params["Action"])
        if action is None:
            raise RpcError("InvalidApi.NotFound", f"Specified api {params['Action']} is not found.")
        _throttle(state, params["Action"])
        return action(state, params)
    except RpcError as exc:
        return _answer({"code": exc.code, "errorMessage": exc.message, "success": False}, status=exc.status)


# -- control API helpers -----------------------------------------------------------------------
def banner(state: EmulatorState) -> str:
    """Start-up line (never the secret)."""
    return f"tuya_iotcore: AccessKeyId={state.option(NAME, 'access_key')} (GET /?Action=..., HMAC-SHA1)"


def scenarios(state: EmulatorState) -> dict[str, Any]:
    """Handy facts for tests, computed from the live fleet."""
    fleet = state.fleet
    with fleet.lock:
        now = state.clock()
        firmwares = fleet.list_firmwares(NAME)
        latest: dict[str, dict[str, Any]] = {}
        by_status: dict[int, dict[str, dict[str, Any]]] = {0: {}, 3: {}}
        deltas: dict[str, dict[str, Any]] = {}
        for product_key, _name, _module, releases, (delta, src), _unverified, _failed in PRODUCTS:
            for fw in firmwares:
                if fw.product != product_key:
                    continue
                entry = {"version": fw.version, "firmware_id": fw.id}
                if fw.version == releases[-1]:
                    latest[product_key] = entry
                if fw.version == delta:
                    deltas[product_key] = dict(entry, src_version=src)
                if fw.extra["status"] in by_status:
                    by_status[fw.extra["status"]][product_key] = entry
        outdated, current, offline = [], [], []
        for dev in fleet.list_devices(NAME):
            status = fleet.status(dev, now)
            if not status.online:
                offline.append(dev.id)
            elif not dev.upgrading:
                (current if dev.firmware_version == latest[dev.product]["version"] else outdated).append(dev.id)
        iot = store(state)
        jobs = [{"id": job.id, "firmware_id": job.firmware_id, "status": _job_status(state, job, now),
                 "devices": [iot.tasks[task_id].device_name for task_id in job.task_ids]} for job in iot.jobs.values()]
        first = fleet.list_devices(NAME)[:3 * len(PRODUCTS)]
        return {
            "products": [product[0] for product in PRODUCTS],
            "latest_by_product": latest,
            "delta_by_product": deltas,
            "unverified_by_product": by_status[0],
            "failed_verification_by_product": by_status[3],
            "src_version": {"product": PRODUCTS[0][0], **deltas.get(PRODUCTS[0][0], {}),
                            "fitting_device": first[len(PRODUCTS)].id if len(first) > len(PRODUCTS) else None,
                            "other_device": first[0].id if first else None},
            "outdated_online_devices": outdated,
            "current_online_devices": current,
            "offline_devices": offline,
            "always_online_devices": [dev.id for dev in fleet.list_devices(NAME)[:ALWAYS_ONLINE]],
            "catalog_size": len(firmwares),
            "jobs": jobs,
            "access_key": state.option(NAME, "access_key"),
        }


PLATFORM = Platform(
    name=NAME,
    blueprint=blueprint,
    seed=seed,
    banner=banner,
    scenarios=scenarios,
    options={
        "access_key": ("fleetota-iotcore-ak", "IoT Core AccessKeyId accepted"),
        "secret_key": ("fleetota-iotcore-secret", "its AccessKeySecret (prefer the env variable, to keep it off the command line)"),
        "casing": ("camel", "response key casing: camel (Tuya's JSON examples) or pascal (its tables)"),
        "skew": (900.0, "seconds a request Timestamp may differ from the clock"),
        "qps_scale": (1.0, "multiplier of the per-action QPS limits (0 = no limit)"),
    },
)
