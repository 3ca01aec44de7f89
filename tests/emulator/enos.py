# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""EnOS Connection Service OTA emulation (token service, signed ``/connect-service/v2.1`` calls) and its fleet seeding.

Faithful to the public EnOS API documentation (vendor notes part B): the token service and
its codes, the per-call SHA-256 signature, ``orgId`` on every call, the ``code``/``msg``/
``requestId``/``data``/``pagination`` envelope, ``pageSize`` at most 200, firmware, device,
OTA job and task searches with expressions. What the documentation leaves open follows the
vendor notes' assumptions (task status names, which code answers a stale timestamp or a bad
signature, job status before start); see tests/emulator/README.md.

Platform state (tokens, used encryptions, jobs, tasks, EnOS-only faults) lives in an
``EnosStore`` attached to the EmulatorState and rebuilt on every reseed.
"""

from __future__ import annotations

import functools
import hashlib
import json
import re
import secrets
import socket
import threading
import uuid
from dataclasses import dataclass, field
from typing import Any, Callable

from flask import Blueprint, Response, request

from .fleet import (
    ALWAYS_ONLINE, PHASE_INSTALLING, PHASE_REBOOTING, PHASE_UPLOADING, RESULT_FAILED, RESULT_SUCCESS, START_OK,
    Device, Firmware, pick_offline,
)
from .state import EmulatorState, Platform, get_state, json_response

NAME = "enos"
CONTENT_TYPE = "application/json;charset=UTF-8"
TOKEN_PREFIX = "/apim-token-service/v2.0/token"
API_PREFIX = "/connect-service/v2.1"
CONTROL_PREFIX = "/_emulator/enos"
STORE_ATTRIBUTE = "enos_store"

# Token service and gateway codes (documented).
OK = 0
TOKEN_DUPLICATED = 1001
APP_KEY_UNKNOWN = 1002
ENCRYPTION_INVALID = 1003
PARAMETER_INVALID = 1004
TOKEN_INTERNAL = 1005
PARAMETER_EMPTY = 1202
TOKEN_EXPIRED = 1203
REFRESH_FAILED = 1204
# Public and OTA codes (documented).
INVALID_ARGUMENT = 99400
NO_PERMISSION = 99403
NOT_FOUND = 99404
INTERNAL_ERROR = 99500
OTA_NOT_FOUND = 24404
JOB_STARTED = 24615
JOB_STOPPED = 24616
JOB_NOT_RUNNING = 24617
JOB_RUNNING_NOT_DELETABLE = 24618
TASK_NOT_CANCELABLE = 24620

CODES = {
    OK: "OK",
    TOKEN_DUPLICATED: "repeated request with duplicated encryption",
    APP_KEY_UNKNOWN: "appKey does not exist",
    ENCRYPTION_INVALID: "encryption not valid",
    PARAMETER_INVALID: "invalid parameter",
    TOKEN_INTERNAL: "internal service exception",
    PARAMETER_EMPTY: "parameter empty",
    TOKEN_EXPIRED: "access token expired",
    REFRESH_FAILED: "failed to refresh token",
    INVALID_ARGUMENT: "Invalid Argument",
    NO_PERMISSION: "Denied resource",
    NOT_FOUND: "Object does not exist",
    INTERNAL_ERROR: "Internal error",
    OTA_NOT_FOUND: "Not found",
    JOB_STARTED: "Job has started",
    JOB_STOPPED: "Job has stopped",
    JOB_NOT_RUNNING: "Job not running",
    JOB_RUNNING_NOT_DELETABLE: "Not allowed to delete running job",
    TASK_NOT_CANCELABLE: "Only init or published tasks can be canceled",
}

PAGE_SIZE_DEFAULT = 10
PAGE_SIZE_MAX = 200
TIMESTAMP_WINDOW_MS = 300_000          # ASSUMPTION (vendor notes B.2.2): |now - ts| <= 5 min
UPGRADE_TIMEOUT_RANGE = (300, 172800)  # documented
UPGRADE_TIMEOUT_DEFAULT = 7200

# (productKey, product name, device name prefix, released versions oldest first, (test version, enableVerification))
PRODUCTS = (
    ("BXwU4kMk", "Solar Inverter S3", "inverter", ("2.0.1", "2.1.0", "2.2.4"), ("2.3.0", False)),
    ("Ht7cQ2Lp", "Turbine Controller T9", "turbine", ("4.1.0", "4.2.3", "4.3.0"), ("4.4.0", True)),
    ("Zm3RkE9s", "Battery BMS B2", "bms", ("1.0.8", "1.1.2"), ("1.2.0", False)),
)
# 2.2.4 exists for the inverter only: asking a BMS for it is the "incompatible" scenario.
INCOMPATIBLE = {"version": "2.2.4", "product": "BXwU4kMk", "other_product": "Zm3RkE9s"}
DEVICE_PREFIX = "DK"
ASSET_PREFIX = "As"
CATALOG_EPOCH_MS = 1_590_746_442_378

blueprint = Blueprint(NAME, __name__)
control = Blueprint("control", __name__, url_prefix=CONTROL_PREFIX)


# -- platform state ----------------------------------------------------------------------
@dataclass
class Job:
    """One OTA job (upgrade only is emulated end to end)."""

    job_id: str
    firmware_id: str
    product_key: str
    spec: dict[str, Any]
    upgrade_timeout: int
    device_keys: list[str]
    created: float
    status: str = "stopped"    # ASSUMPTION: a created job is "stopped" until started (documented values: started, stopped)


@dataclass
class Task:
    """One device's task in one job."""

    task_id: str
    job_id: str
    device_key: str
    from_version: str
    to_version: str
    created: float
    status: str = "init"
    progress: int = 0
    desc: str = ""
    upgrading_since: float | None = None
    updated: float = 0.0


@dataclass
class EnosStore:
    """Tokens, used encryptions, jobs, tasks and EnOS-only faults of one emulator."""

    token_ttl: float
    lock: threading.RLock = field(default_factory=threading.RLock)
    tokens: dict[str, float] = field(default_factory=dict)      # token -> expiry (epoch seconds)
    app_tokens: dict[str, str] = field(default_factory=dict)    # appKey -> current token
    used_encryptions: set[str] = field(default_factory=set)
    jobs: dict[str, Job] = field(default_factory=dict)
    tasks: dict[str, list[Task]] = field(default_factory=dict)  # job id -> tasks
    faults: list[dict[str, Any]] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)           # ids of the jobs deleted through the API
    next_id: int = 1

    def new_id(self, prefix: str) -> str:
        """A fresh job or task id."""
        with self.lock:
            value = self.next_id
            self.next_id += 1
        return f"{prefix}{value:08d}"


def store(state: EmulatorState) -> EnosStore:
    """The EnOS store of an emulator."""
    return getattr(state, STORE_ATTRIBUTE)


# -- envelopes -------------------------------------------------------------------------
class EnosError(Exception):
    """A business error, answered HTTP 200 with a non-zero code."""

    def __init__(self, code: int, msg: str | None = None) -> None:
        super().__init__(msg or CODES.get(code, "error"))
        self.code = code
        self.msg = msg or CODES.get(code, "error")


def _reply(data: Any = None, pagination: dict[str, Any] | None = None, code: int = OK, msg: str = "OK") -> Response:
    body: dict[str, Any] = {"code": code, "msg": msg, "requestId": str(uuid.uuid4()), "data": data}
    if pagination is not None:
        body["pagination"] = pagination
    return json_response(body, content_type=CONTENT_TYPE)


def _token_reply(status: int, data: Any = None) -> Response:
    body = {"status": status, "msg": "SUCCESS" if status == OK else CODES.get(status, "error"),
            "business": "apim-token-service", "data": data}
    return json_response(body, content_type=CONTENT_TYPE)


def sha256_hex(text: bytes) -> str:
    """Lower-case hex SHA-256."""
    return hashlib.sha256(text).hexdigest()


def expected_encryption(app_key: str, timestamp: int, secret: str) -> str:
    """Token-service encryption, computed independently of the client's code."""
    return sha256_hex(f"{app_key}{timestamp}{secret}".encode("utf-8"))


def expected_signature(token: str, args: dict[str, str], body: bytes, timestamp: str, secret: str) -> str:
    """Per-call signature, computed independently of the client's code."""
    params = "".join(key + args[key] for key in sorted(args))
    return sha256_hex(token.encode("utf-8") + params.encode("utf-8") + body + timestamp.encode("utf-8") + secret.encode("utf-8"))


# -- seeding ---------------------------------------------------------------------------
def seed(state: EmulatorState, rng: Any) -> None:
    """Fill the fleet with the EnOS firmware catalog and devices (deterministic), and a fresh store."""
    setattr(state, STORE_ATTRIBUTE, EnosStore(token_ttl=float(state.option(NAME, "token_ttl"))))
    fleet = state.fleet
    now = state.clock()
    number = 1
    for product_key, product_name, _prefix, releases, (test, needs_verification) in PRODUCTS:
        for index, version in enumerate(releases + (test,)):
            released = index < len(releases)
            firmware_id = f"fw{product_key[:4].lower()}{number:04d}"
            name = f"{product_name} {version}"
            fleet.add_firmware(Firmware(
                platform=NAME, id=firmware_id, version=version, product=product_key, hardware_version="", family=product_key,
                released=released, name=name, size=rng.randint(2, 30) * 1048576 + rng.randint(0, 1048575),
                checksum=hashlib.md5(name.encode("utf-8")).hexdigest(), created=(CATALOG_EPOCH_MS + 86_400_000 * 20 * number) / 1000.0,
                extra={"enableVerification": needs_verification if not released else True, "isVerified": released},
            ))
            number += 1
    count = state.config.devices
    offline = pick_offline(rng, count, state.config.offline_ratio)
    for index in range(count):
        if index < 2 * len(PRODUCTS):
            product = PRODUCTS[index % len(PRODUCTS)]
            current = index >= len(PRODUCTS)
        else:
            product = rng.choice(PRODUCTS)
            current = rng.random() < 0.5
        product_key, product_name, prefix, releases, _test = product
        version = releases[-1] if current else rng.choice(releases[:-1])
        online = index not in offline
        fleet.add_device(Device(
            platform=NAME, id=f"{DEVICE_PREFIX}{index + 1:05d}", name=f"{prefix}-{index + 1:04d}", product=product_key,
            hardware_version="", family=product_key, firmware_version=version, online=online,
            online_since=now - rng.randint(600, 30 * 86400) if online else None,
            extra={"assetId": f"{ASSET_PREFIX}{index + 1:06d}{product_key[:2]}", "productName": product_name,
                   "deviceSecret": secrets.token_hex(10), "createTime": int((now - rng.randint(30, 400) * 86400) * 1000)},
        ))


# -- rendering -------------------------------------------------------------------------
def _i18n(text: str) -> dict[str, Any]:
    return {"defaultValue": text, "i18nValue": {}}


def _org(state: EmulatorState) -> str:
    return state.option(NAME, "org_id")


def _device_struct(state: EmulatorState, device: Device, now: float) -> dict[str, Any]:
    status = state.fleet.status(device, now)
    return {
        "orgId": _org(state), "assetId": device.extra["assetId"], "modelId": "fleetota_" + device.product, "modelIdPath": "/fleetota_" + device.product,
        "productKey": device.product, "productName": _i18n(device.extra["productName"]), "productType": "Device", "dataFormat": "Json",
        "deviceKey": device.id, "deviceName": _i18n(device.name), "deviceSecret": device.extra["deviceSecret"], "deviceDesc": None,
        "timezone": "+00:00", "deviceAttributes": {}, "deviceTags": {}, "firmwareVersion": device.firmware_version,
        "createTime": device.extra["createTime"], "status": "online" if status.online else "offline",
        "activeTime": device.extra["createTime"], "lastOnlineTime": int((status.online_since or 0) * 1000) or None,
        "lastOfflineTime": None,
    }


def _firmware_struct(state: EmulatorState, firmware: Firmware) -> dict[str, Any]:
    return {
        "orgId": _org(state), "firmwareId": firmware.id, "productKey": firmware.product, "name": _i18n(firmware.name),
        "version": firmware.version, "desc": None, "signMethod": "md5", "sign": firmware.checksum,
        "fileUrl": f"enos-connect://{firmware.id}.zip", "fileSize": firmware.size, "isVerified": firmware.extra["isVerified"],
        "enableVerification": firmware.extra["enableVerification"], "createTime": int(firmware.created * 1000), "firmwareTags": {},
        "maxAllowedForVerification": 5, "minSuccessForVerified": 2,
    }


def _job_struct(state: EmulatorState, job: Job) -> dict[str, Any]:
    firmware = state.fleet.firmware(NAME, job.firmware_id)
    spec = job.spec
    scope = spec.get("upgradeScope") or {}
    return {
        "orgId": _org(state), "productKey": job.product_key, "jobId": job.job_id, "name": spec.get("name"),
        "firmwareId": job.firmware_id, "firmwareVersion": firmware.version if firmware else None,
        "firmwareName": _i18n(firmware.name) if firmware else None, "type": spec.get("type"),
        "enableUpgradeRequest": bool(spec.get("enableUpgradeRequest", False)), "upgradePolicy": spec.get("upgradePolicy", "snapshot"),
        "upgradeScope": {"type": scope.get("type"), "versionNumbers": scope.get("versionNumbers"), "deviceKeys": scope.get("deviceKeys"),
                         "attributes": scope.get("attributes"), "tags": scope.get("tags"), "assetTrees": scope.get("assetTrees")},
        "upgradeTimeout": job.upgrade_timeout, "retryPolicy": spec.get("retryPolicy"), "schedulePolicy": spec.get("schedulePolicy"),
        "maximumConcurrency": spec.get("maximumConcurrency"), "status": job.status, "createTime": int(job.created * 1000),
    }


def _task_struct(state: EmulatorState, task: Task) -> dict[str, Any]:
    device = state.fleet.device(NAME, task.device_key)
    return {
        "taskId": task.task_id, "orgId": _org(state), "assetId": device.extra["assetId"] if device else None,
        "productKey": device.product if device else None, "deviceKey": task.device_key, "jobId": task.job_id,
        "fromVersion": task.from_version, "toVersion": task.to_version, "progress": task.progress, "desc": task.desc,
        "status": task.status, "createTime": int(task.created * 1000), "updateTime": int(task.updated * 1000),
    }


# -- the task state machine (lazy, on the fleet's upgrade state machine) -------------------
def refresh_task(state: EmulatorState, task: Task, now: float) -> None:
    """Bring one task up to date: push it when its device is online and free, follow the device's upgrade.

    init (to be pushed) -> upgrading (progress 0..99) -> succeed (100) | failed (negative progress,
    desc). A task upgrading longer than its job's upgradeTimeout fails with desc "upgrade timeout".
    """
    if task.status in ("succeed", "failed", "canceled"):
        return
    fleet = state.fleet
    job = store(state).jobs[task.job_id]
    device = fleet.device(NAME, task.device_key)
    firmware = fleet.firmware(NAME, job.firmware_id)
    if device is None or firmware is None:
        task.status, task.progress, task.desc, task.updated = "failed", -1, "device or firmware deleted", now
        return
    current = fleet.status(device, now)
    if task.status == "init":
        if job.status != "started" or device.upgrading or not current.online:
            return
        if fleet.start_upgrade(device, firmware, state.config.upgrade_seconds) != START_OK:
            return
        task.status, task.progress, task.desc, task.upgrading_since, task.updated = "upgrading", 0, "download", now, now
        current = fleet.status(device, now)
    if device.upgrading and device.target_firmware_id == firmware.id:
        if task.upgrading_since is not None and now - task.upgrading_since > job.upgrade_timeout:
            fleet.cancel_upgrade(device)
            task.status, task.progress, task.desc, task.updated = "failed", -1, "upgrade timeout", now
            return
        if current.phase == PHASE_UPLOADING:
            progress, desc = int(current.upload_position * 0.4), "download"
        elif current.phase == PHASE_INSTALLING:
            progress, desc = 40 + 10 * current.step, "install"
        elif current.phase == PHASE_REBOOTING:
            progress, desc = 90, "reboot"
        else:
            progress, desc = task.progress, task.desc
        if (progress, desc) != (task.progress, task.desc):
            task.progress, task.desc, task.updated = progress, desc, now
        return
    # The device's upgrade for this task is over.
    if current.last_result == RESULT_SUCCESS and device.firmware_version == task.to_version:
        task.status, task.progress, task.desc = "succeed", 100, "upgrade succeeded"
    elif current.last_result == RESULT_FAILED:
        task.status, task.progress, task.desc = "failed", -4, "failed to write firmware"
    else:
        task.status, task.progress, task.desc = "failed", -1, "upgrade interrupted"
    task.updated = (device.finished_at or now)


def _refresh_all(state: EmulatorState, now: float) -> None:
    enos = store(state)
    for job in list(enos.jobs.values()):
        for task in enos.tasks.get(job.job_id, []):
            refresh_task(state, task, now)


# -- request checks --------------------------------------------------------------------
def _now_ms(state: EmulatorState) -> int:
    return int(state.clock() * 1000)


def _token_valid(state: EmulatorState, token: str) -> bool:
    enos = store(state)
    with enos.lock:
        expiry = enos.tokens.get(token)
    if expiry is None or state.clock() >= expiry:
        return False
    # Also dead when the shared session store expired it (expire_sessions fault, /_emulator/sessions/expire, idle session_ttl).
    return state.sessions.get(NAME, token) is not None


def signed(view: Callable[..., Response]) -> Callable[..., Response]:
    """Decorator: verify token, timestamp and signature, then orgId and action; map EnosError to the envelope."""
    @functools.wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Response:
        state = get_state()
        body = request.get_data(cache=True)
        try:
            _verify(state, body)
            action = request.args.get("action")
            if not action:
                raise EnosError(INVALID_ARGUMENT, "Invalid Argument action:action is missing")
            org = request.args.get("orgId")
            if not org:
                raise EnosError(INVALID_ARGUMENT, "Invalid Argument orgId:orgId is missing")
            if org != _org(state):
                raise EnosError(NO_PERMISSION, f"Denied resource: orgId {org}")
            fault = _take_fault(state, "before")
            if fault is not None:
                if fault.get("code") is not None:
                    return _reply(None, code=fault["code"], msg=CODES.get(fault["code"], "injected error"))
                return _drop()
            response = view(state, action, *args, **kwargs)
            if _take_fault(state, "after") is not None:
                return _drop()
            if _take_fault(state, "garbled") is not None:
                return Response(b'{"code":0,"msg":"OK","data":{"jo', status=200, content_type=CONTENT_TYPE)
            return response
        except EnosError as error:
            return _reply(None, code=error.code, msg=error.msg)
    return wrapper


def _verify(state: EmulatorState, body: bytes) -> None:
    token = request.headers.get("apim-accesstoken")
    signature = request.headers.get("apim-signature")
    timestamp = request.headers.get("apim-timestamp")
    if not token or not signature or not timestamp:
        raise EnosError(PARAMETER_EMPTY, "parameter empty: apim-accesstoken, apim-signature and apim-timestamp are required")
    if not _token_valid(state, token):
        raise EnosError(TOKEN_EXPIRED)
    try:
        stamp = int(timestamp)
    except ValueError as exc:
        raise EnosError(PARAMETER_INVALID, "invalid parameter: apim-timestamp") from exc
    if abs(_now_ms(state) - stamp) > TIMESTAMP_WINDOW_MS:
        raise EnosError(PARAMETER_INVALID, "invalid parameter: apim-timestamp is outside the allowed window")
    args = {key: request.args.get(key, "") for key in request.args}
    # Multipart uploads sign the query only (vendor notes B.2.2); JSON calls sign the body bytes as received.
    signed_body = b"" if request.mimetype == "multipart/form-data" else body
    expected = expected_signature(token, args, signed_body, timestamp, state.option(NAME, "app_secret"))
    if not secrets.compare_digest(expected, signature.lower()):
        raise EnosError(ENCRYPTION_INVALID, "signature not valid")


def _json_body() -> dict[str, Any]:
    raw = request.get_data(cache=True)
    if not raw:
        return {}
    try:
        body = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise EnosError(INVALID_ARGUMENT, "Invalid Argument body: not JSON") from exc
    if not isinstance(body, dict):
        raise EnosError(INVALID_ARGUMENT, "Invalid Argument body: not a JSON object")
    return body


def _page(body: dict[str, Any], sorters_allowed: bool) -> tuple[int, int]:
    pagination = body.get("pagination")
    if pagination is None:
        return 1, PAGE_SIZE_DEFAULT
    if not isinstance(pagination, dict):
        raise EnosError(INVALID_ARGUMENT, "Invalid Argument pagination")
    page_no = pagination.get("pageNo", 1)
    page_size = pagination.get("pageSize", PAGE_SIZE_DEFAULT)
    for key, value in (("pageNo", page_no), ("pageSize", page_size)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise EnosError(INVALID_ARGUMENT, f"Invalid Argument pagination.{key}: must be an integer >= 1")
    if page_size > PAGE_SIZE_MAX:
        raise EnosError(INVALID_ARGUMENT, f"Invalid Argument pagination.pageSize: must be <= {PAGE_SIZE_MAX}")
    if pagination.get("sorters") and not sorters_allowed:
        raise EnosError(INVALID_ARGUMENT, "Invalid Argument pagination.sorters: not supported")
    return page_no, page_size


def _paged(items: list[dict[str, Any]], page_no: int, page_size: int) -> Response:
    start = (page_no - 1) * page_size
    return _reply(items[start:start + page_size], {"sortedBy": None, "pageNo": page_no, "pageSize": page_size, "totalSize": len(items)})


# -- expressions: field='v', field in ('a','b'), field=true, joined by "and" ------------
_TERM = re.compile(r"""\s*([A-Za-z][\w.]*)\s*(?:(=|!=)\s*('(?:[^']*)'|true|false|-?\d+)|\s+in\s*\(([^)]*)\))\s*""", re.IGNORECASE)
_VALUE = re.compile(r"\s*'([^']*)'\s*(?:,|$)")


def parse_expression(text: Any, allowed: dict[str, tuple[str, ...]]) -> list[tuple[str, str, Any]]:
    """Terms (field, op, value) of an expression; EnosError 99400 for syntax, unknown fields or operators."""
    if text is None or text == "":
        return []
    if not isinstance(text, str):
        raise EnosError(INVALID_ARGUMENT, "Invalid Argument expression")
    terms = []
    for part in re.split(r"\s+and\s+", text.strip(), flags=re.IGNORECASE):
        match = _TERM.fullmatch(part)
        if not match:
            raise EnosError(INVALID_ARGUMENT, f"Invalid Argument expression: cannot parse {part!r}")
        name, operator, scalar, listed = match.groups()
        operator = operator or "in"
        if name not in allowed or operator not in allowed[name]:
            raise EnosError(INVALID_ARGUMENT, f"Invalid Argument expression: {name} {operator} is not supported")
        if operator == "in":
            values = []
            rest = listed.strip()
            while rest:
                item = _VALUE.match(rest)
                if not item:
                    raise EnosError(INVALID_ARGUMENT, f"Invalid Argument expression: bad list {listed!r}")
                values.append(item.group(1))
                rest = rest[item.end():].strip()
            terms.append((name, "in", set(values)))
        elif scalar.startswith("'"):
            terms.append((name, operator, scalar[1:-1]))
        elif scalar.lower() in ("true", "false"):
            terms.append((name, operator, scalar.lower() == "true"))
        else:
            terms.append((name, operator, scalar))
    return terms


def matches(item: dict[str, Any], terms: list[tuple[str, str, Any]]) -> bool:
    """True if the item satisfies every term."""
    for name, operator, value in terms:
        actual = item
        for part in name.split("."):
            actual = actual.get(part) if isinstance(actual, dict) else None
        if operator == "in":
            if actual not in value:
                return False
        elif operator == "=" and actual != value:
            return False
        elif operator == "!=" and actual == value:
            return False
    return True


def _project(item: dict[str, Any], projection: Any) -> dict[str, Any]:
    if projection is None:
        return item
    if not isinstance(projection, list) or not all(isinstance(key, str) for key in projection):
        raise EnosError(INVALID_ARGUMENT, "Invalid Argument projection")
    if "*" in projection:
        return item
    return {key: item[key] for key in projection if key in item}


# -- EnOS-only faults (lose the answer of a processed call, or drop before processing) ---
def _take_fault(state: EmulatorState, when: str) -> dict[str, Any] | None:
    enos = store(state)
    action = request.args.get("action")
    with enos.lock:
        for rule in enos.faults:
            if rule["when"] == when and rule["action"] == action and rule["resource"] in request.path:
                rule["times"] -= 1
                if rule["times"] == 0:
                    enos.faults.remove(rule)
                return rule
    return None


def _drop() -> Response:
    """Close the TCP connection without an answer (the server's drop mechanism)."""
    from .server import DROP_KEY  # pylint: disable=import-outside-toplevel  # server imports this module
    request.environ[DROP_KEY] = True
    sock = request.environ.get("werkzeug.socket")
    if sock is not None:
        try:
            sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
    return Response(b"", status=500)


# -- token service ---------------------------------------------------------------------
def _token_body(state: EmulatorState) -> tuple[str, dict[str, Any]] | Response:
    try:
        body = json.loads(request.get_data().decode("utf-8") or "null")
    except (UnicodeDecodeError, ValueError):
        return _token_reply(PARAMETER_INVALID)
    if not isinstance(body, dict):
        return _token_reply(PARAMETER_INVALID)
    app_key, encryption, timestamp = body.get("appKey"), body.get("encryption"), body.get("timestamp")
    if not app_key or not encryption or timestamp in (None, ""):
        return _token_reply(PARAMETER_EMPTY)
    try:
        stamp = int(timestamp)
    except (TypeError, ValueError):
        return _token_reply(PARAMETER_INVALID)
    if app_key != state.option(NAME, "app_key"):
        return _token_reply(APP_KEY_UNKNOWN)
    if not secrets.compare_digest(expected_encryption(app_key, stamp, state.option(NAME, "app_secret")), str(encryption).lower()):
        return _token_reply(ENCRYPTION_INVALID)
    if abs(_now_ms(state) - stamp) > TIMESTAMP_WINDOW_MS:
        return _token_reply(PARAMETER_INVALID)
    enos = store(state)
    with enos.lock:
        if encryption in enos.used_encryptions:
            return _token_reply(TOKEN_DUPLICATED)
        enos.used_encryptions.add(encryption)
    return app_key, body


def _issue(state: EmulatorState, app_key: str, reuse: bool) -> Response:
    enos = store(state)
    now = state.clock()
    with enos.lock:
        current = enos.app_tokens.get(app_key)
        if reuse and current and _token_valid(state, current):
            return _token_reply(OK, {"accessToken": current, "expire": int(enos.tokens[current] - now)})
        if current:
            enos.tokens.pop(current, None)
            state.sessions.delete(NAME, current)
        token = secrets.token_urlsafe(32)
        enos.tokens[token] = now + enos.token_ttl
        enos.app_tokens[app_key] = token
    state.sessions.create(NAME, token, app_key)
    return _token_reply(OK, {"accessToken": token, "expire": int(enos.token_ttl)})


@blueprint.post(TOKEN_PREFIX + "/get")
def token_get() -> Response:
    """POST /apim-token-service/v2.0/token/get {appKey, encryption, timestamp}: the current token, or a new one."""
    state = get_state()
    parsed = _token_body(state)
    if isinstance(parsed, Response):
        return parsed
    return _issue(state, parsed[0], reuse=True)


@blueprint.post(TOKEN_PREFIX + "/refresh")
def token_refresh() -> Response:
    """POST /apim-token-service/v2.0/token/refresh {appKey, encryption, timestamp, accessToken}: a new token; the old one dies."""
    state = get_state()
    parsed = _token_body(state)
    if isinstance(parsed, Response):
        return parsed
    app_key, body = parsed
    token = body.get("accessToken")
    if not token or store(state).app_tokens.get(app_key) != token or not _token_valid(state, token):
        return _token_reply(REFRESH_FAILED)
    return _issue(state, app_key, reuse=False)


# -- devices ---------------------------------------------------------------------------
DEVICE_FIELDS = {"productKey": ("=", "in"), "deviceKey": ("=", "in"), "assetId": ("=", "in"), "firmwareVersion": ("=", "in"),
                 "status": ("=", "in"), "productType": ("=",), "modelId": ("=", "in")}


@blueprint.post(API_PREFIX + "/devices")
@signed
def devices(state: EmulatorState, action: str) -> Response:
    """POST /connect-service/v2.1/devices?action=search {expression?, pagination?, projection?}."""
    if action != "search":
        raise EnosError(INVALID_ARGUMENT, f"Invalid Argument action:{action} is not supported")
    body = _json_body()
    page_no, page_size = _page(body, sorters_allowed=True)
    terms = parse_expression(body.get("expression"), DEVICE_FIELDS)
    fleet = state.fleet
    with fleet.lock:
        now = state.clock()
        _refresh_all(state, now)
        items = [_device_struct(state, dev, now) for dev in fleet.list_devices(NAME)]
    selected = [_project(item, body.get("projection")) for item in items if matches(item, terms)]
    return _paged(selected, page_no, page_size)


# -- firmware --------------------------------------------------------------------------
FIRMWARE_FIELDS = {"productKey": ("=", "in"), "isVerified": ("=",), "firmwareId": ("=", "in")}
DEVICE_UPGRADE_FIELDS = {"productKey": ("=", "in"), "firmwareVersion": ("=", "in"), "isUpgrading": ("=",)}


@blueprint.route(API_PREFIX + "/ota-firmwares", methods=["GET", "POST"])
@signed
def firmwares(state: EmulatorState, action: str) -> Response:
    """ota-firmwares: GET get, listVersion; POST search, searchDeviceUpgrade."""
    fleet = state.fleet
    if request.method == "GET" and action == "get":
        firmware_id = request.args.get("firmwareId")
        if not firmware_id:
            raise EnosError(INVALID_ARGUMENT, "Invalid Argument firmwareId:firmwareId is missing")
        firmware = fleet.firmware(NAME, firmware_id)
        if firmware is None:
            raise EnosError(OTA_NOT_FOUND, "Firmware not found")
        return _reply(_firmware_struct(state, firmware))
    if request.method == "GET" and action == "listVersion":
        product = request.args.get("productKey")
        if not product:
            raise EnosError(INVALID_ARGUMENT, "Invalid Argument productKey:productKey is missing")
        return _reply(sorted(set(dev.firmware_version for dev in fleet.list_devices(NAME) if dev.product == product)))
    if request.method == "POST" and action == "search":
        body = _json_body()
        page_no, page_size = _page(body, sorters_allowed=False)
        terms = parse_expression(body.get("expression"), FIRMWARE_FIELDS)
        items = [_firmware_struct(state, fw) for fw in fleet.list_firmwares(NAME)]
        items.sort(key=lambda item: item["createTime"], reverse=True)   # documented: createTime desc
        return _paged([item for item in items if matches(item, terms)], page_no, page_size)
    if request.method == "POST" and action == "searchDeviceUpgrade":
        body = _json_body()
        page_no, page_size = _page(body, sorters_allowed=False)
        terms = parse_expression(body.get("expression"), DEVICE_UPGRADE_FIELDS)
        with fleet.lock:
            now = state.clock()
            _refresh_all(state, now)
            items = []
            for dev in fleet.list_devices(NAME):
                fleet.status(dev, now)
                items.append({"orgId": _org(state), "assetId": dev.extra["assetId"], "productKey": dev.product, "deviceKey": dev.id,
                              "firmwareVersion": dev.firmware_version, "isUpgrading": dev.upgrading})
        return _paged([item for item in items if matches(item, terms)], page_no, page_size)
    raise EnosError(INVALID_ARGUMENT, f"Invalid Argument action:{action} is not supported with {request.method}")


# -- jobs and tasks --------------------------------------------------------------------
JOB_FIELDS = {"productKey": ("=", "in"), "firmwareId": ("=", "in"), "firmwareVersion": ("=", "in"), "type": ("=",), "status": ("=",)}
TASK_FIELDS = {"jobId": ("=", "in"), "deviceKey": ("=", "in"), "fromVersion": ("=", "in"), "toVersion": ("=", "in"),
               "status": ("=", "in"), "desc": ("=", "in")}


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


def _create_job(state: EmulatorState) -> Response:
    fleet = state.fleet
    firmware_id = request.args.get("firmwareId")
    if not firmware_id:
        raise EnosError(INVALID_ARGUMENT, "Invalid Argument firmwareId:firmwareId is missing")
    firmware = fleet.firmware(NAME, firmware_id)
    if firmware is None:
        raise EnosError(OTA_NOT_FOUND, "Firmware not found")
    spec = _json_body()
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
    enos = store(state)
    job = Job(job_id=enos.new_id("job"), firmware_id=firmware.id, product_key=firmware.product, spec=spec, upgrade_timeout=timeout,
              device_keys=keys, created=state.clock())
    with enos.lock:
        enos.jobs[job.job_id] = job
    return _reply({"jobId": job.job_id})


def _job(state: EmulatorState) -> Job:
    job_id = request.args.get("jobId")
    if not job_id:
        raise EnosError(INVALID_ARGUMENT, "Invalid Argument jobId:jobId is missing")
    job = store(state).jobs.get(job_id)
    if job is None:
        raise EnosError(OTA_NOT_FOUND, "Job not found")
    return job


def _start_job(state: EmulatorState) -> Response:
    fleet = state.fleet
    enos = store(state)
    with fleet.lock, enos.lock:
        job = _job(state)
        if job.status == "started":
            raise EnosError(JOB_STARTED)
        job.status = "started"
        firmware = fleet.firmware(NAME, job.firmware_id)
        now = state.clock()
        tasks = enos.tasks.setdefault(job.job_id, [])
        known = set(task.device_key for task in tasks)
        for key in job.device_keys:
            if key in known:
                continue
            device = fleet.device(NAME, key)
            tasks.append(Task(task_id=enos.new_id("task"), job_id=job.job_id, device_key=key,
                              from_version=device.firmware_version if device else "", to_version=firmware.version, created=now, updated=now))
        for task in tasks:
            refresh_task(state, task, now)
    return _reply(None)


def _stop_job(state: EmulatorState) -> Response:
    fleet = state.fleet
    enos = store(state)
    with fleet.lock, enos.lock:
        job = _job(state)
        if job.status == "stopped":
            raise EnosError(JOB_STOPPED)
        job.status = "stopped"
        now = state.clock()
        for task in enos.tasks.get(job.job_id, []):
            refresh_task(state, task, now)
            if task.status == "init":
                task.status, task.updated = "canceled", now
    return _reply(None)


def _device_keys() -> list[str]:
    keys = _json_body().get("deviceKeys")
    if not isinstance(keys, list) or not keys or not all(isinstance(key, str) and key for key in keys):
        raise EnosError(INVALID_ARGUMENT, "Invalid Argument deviceKeys: a non-empty list of device keys is required")
    return list(dict.fromkeys(keys))


def _cancel_tasks(state: EmulatorState) -> Response:
    """cancelTask {deviceKeys}: cancel the init or published tasks of a running job.

    ASSUMPTION: all or nothing; a key with a task past "published" refuses the whole call (24620), a key without a
    task in this job is an invalid argument.
    """
    fleet = state.fleet
    enos = store(state)
    keys = _device_keys()
    with fleet.lock, enos.lock:
        job = _job(state)
        if job.status != "started":
            raise EnosError(JOB_NOT_RUNNING)
        now = state.clock()
        tasks = dict((task.device_key, task) for task in enos.tasks.get(job.job_id, []))
        for key in keys:
            task = tasks.get(key)
            if task is None:
                raise EnosError(INVALID_ARGUMENT, f"Invalid Argument deviceKeys: device {key} has no task in job {job.job_id}")
            refresh_task(state, task, now)
            if task.status not in ("init", "published"):
                raise EnosError(TASK_NOT_CANCELABLE, f"Only init or published tasks can be canceled: device {key} is {task.status}")
        for key in keys:
            tasks[key].status, tasks[key].desc, tasks[key].updated = "canceled", "canceled", now
    return _reply(None)


def _delete_job(state: EmulatorState) -> Response:
    enos = store(state)
    with state.fleet.lock, enos.lock:
        job = _job(state)
        if job.status == "started":
            raise EnosError(JOB_RUNNING_NOT_DELETABLE)
        del enos.jobs[job.job_id]
        enos.tasks.pop(job.job_id, None)
        enos.deleted.append(job.job_id)
    return _reply(None)


@blueprint.route(API_PREFIX + "/ota-jobs", methods=["GET", "POST"])
@signed
def jobs(state: EmulatorState, action: str) -> Response:
    """ota-jobs: GET get; POST create, search, start, stop, delete, cancelTask, searchTask."""
    enos = store(state)
    if request.method == "GET" and action == "get":
        return _reply(_job_struct(state, _job(state)))
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
    if action == "search":
        body = _json_body()
        page_no, page_size = _page(body, sorters_allowed=False)
        terms = parse_expression(body.get("expression"), JOB_FIELDS)
        with enos.lock:
            items = [_job_struct(state, job) for job in enos.jobs.values()]
        items.sort(key=lambda item: item["createTime"], reverse=True)
        return _paged([item for item in items if matches(item, terms)], page_no, page_size)
    if action == "searchTask":
        body = _json_body()
        page_no, page_size = _page(body, sorters_allowed=False)
        terms = parse_expression(body.get("expression"), TASK_FIELDS)
        with state.fleet.lock, enos.lock:
            now = state.clock()
            items = []
            for job in enos.jobs.values():
                for task in enos.tasks.get(job.job_id, []):
                    refresh_task(state, task, now)
                    items.append(_task_struct(state, task))
        return _paged([item for item in items if matches(item, terms)], page_no, page_size)
    raise EnosError(INVALID_ARGUMENT, f"Invalid Argument action:{action} is not supported")


# -- EnOS control API (/_emulator/enos: not counted, never faulted) --------------------
def _control_body() -> dict[str, Any]:
    body = request.get_json(silent=True, force=True) if request.get_data() else {}
    return body if isinstance(body, dict) else {}


@control.get("/jobs")
def control_jobs() -> Response:
    """Every job with its task counts by status: [{jobId, firmwareId, status, devices, tasks: {status: n}}]."""
    state = get_state()
    enos = store(state)
    with state.fleet.lock, enos.lock:
        now = state.clock()
        result = []
        for job in enos.jobs.values():
            counts: dict[str, int] = {}
            for task in enos.tasks.get(job.job_id, []):
                refresh_task(state, task, now)
                counts[task.status] = counts.get(task.status, 0) + 1
            result.append({"jobId": job.job_id, "firmwareId": job.firmware_id, "status": job.status, "devices": len(job.device_keys),
                           "deviceKeys": list(job.device_keys), "upgradeTimeout": job.upgrade_timeout,
                           "name": (job.spec.get("name") or {}).get("defaultValue"), "tasks": counts})
    return json_response(result)


@control.get("/jobs/deleted")
def control_jobs_deleted() -> Response:
    """Ids of the jobs deleted through the API (action=delete), oldest first."""
    state = get_state()
    enos = store(state)
    with enos.lock:
        return json_response(list(enos.deleted))


@control.get("/tokens")
def control_tokens() -> Response:
    """The live access tokens (tests check that none leaks into Ansible output)."""
    state = get_state()
    enos = store(state)
    with enos.lock:
        return json_response([token for token in enos.tokens if _token_valid(state, token)])


@control.route("/config", methods=["GET", "POST"])
def control_config() -> Response:
    """Read or change {"token_ttl": seconds} (applies to tokens issued afterwards)."""
    state = get_state()
    enos = store(state)
    body = _control_body() if request.method == "POST" else {}
    if "token_ttl" in body:
        value = body["token_ttl"]
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
            return json_response({"error": "token_ttl must be a positive number"}, status=400)
        enos.token_ttl = float(value)
    return json_response({"token_ttl": enos.token_ttl})


@control.route("/faults", methods=["GET", "POST", "DELETE"])
def control_faults() -> Response:
    """EnOS-only faults: {"rules": [{"resource": "ota-jobs", "action": "create", "when": "after" | "before", "times": 1}]}.

    ``after``: the call is processed, then the connection is dropped (the client cannot know it worked);
    ``garbled``: the call is processed, then answered HTTP 200 with a truncated JSON body;
    ``before``: dropped unprocessed, or, with ``"code": 99500`` (any integer), answered with that business code
    unprocessed. Matched on the path (substring) and the ``action`` query parameter.
    """
    state = get_state()
    enos = store(state)
    if request.method == "POST":
        rules = _control_body().get("rules")
        if not isinstance(rules, list):
            return json_response({"error": "rules must be a list"}, status=400)
        parsed = []
        for rule in rules:
            if (not isinstance(rule, dict) or rule.get("when", "after") not in ("after", "before", "garbled")
                    or not isinstance(rule.get("action"), str) or not isinstance(rule.get("resource", ""), str)):
                return json_response({"error": "a rule is {resource, action, when: after|before|garbled, times}"}, status=400)
            times = rule.get("times", 1)
            if isinstance(times, bool) or not isinstance(times, int) or times < 1:
                return json_response({"error": "times must be a positive integer"}, status=400)
            code = rule.get("code")
            if code is not None and (isinstance(code, bool) or not isinstance(code, int) or rule.get("when", "after") != "before"):
                return json_response({"error": "code must be an integer, with when: before"}, status=400)
            parsed.append({"resource": rule.get("resource", ""), "action": rule["action"], "when": rule.get("when", "after"), "times": times,
                           "code": code})
        with enos.lock:
            enos.faults = parsed
    elif request.method == "DELETE":
        with enos.lock:
            enos.faults = []
    with enos.lock:
        return json_response({"rules": [dict(rule) for rule in enos.faults]})


@control.post("/firmwares/<firmware_id>")
def control_firmware(firmware_id: str) -> Response:
    """Set {"isVerified": bool, "enableVerification": bool} of a firmware."""
    state = get_state()
    firmware = state.fleet.firmware(NAME, firmware_id)
    if firmware is None:
        return json_response({"error": f"unknown firmware {firmware_id}"}, status=404)
    body = _control_body()
    for key in ("isVerified", "enableVerification"):
        if isinstance(body.get(key), bool):
            firmware.extra[key] = body[key]
    firmware.released = firmware.extra["isVerified"]
    return json_response(_firmware_struct(state, firmware))


@control.delete("/firmwares/<firmware_id>")
def control_firmware_delete(firmware_id: str) -> Response:
    """Delete a firmware from the catalog (to test 24404)."""
    state = get_state()
    with state.fleet.lock:
        removed = state.fleet.firmwares.get(NAME, {}).pop(firmware_id, None)
    if removed is None:
        return json_response({"error": f"unknown firmware {firmware_id}"}, status=404)
    return json_response({"deleted": firmware_id})


blueprint.register_blueprint(control)


# -- control API helpers ---------------------------------------------------------------
def banner(state: EmulatorState) -> str:
    """Start-up line (never the app secret)."""
    return f"enos: app_key={state.option(NAME, 'app_key')} org_id={state.option(NAME, 'org_id')}"


def scenarios(state: EmulatorState) -> dict[str, Any]:
    """Handy facts for tests, computed from the live fleet."""
    fleet = state.fleet
    with fleet.lock:
        now = state.clock()
        latest: dict[str, dict[str, Any]] = {}
        tests: dict[str, dict[str, Any]] = {}
        for fw in sorted(fleet.list_firmwares(NAME), key=lambda item: item.created):
            entry = {"version": fw.version, "firmware_id": fw.id, "enable_verification": fw.extra["enableVerification"]}
            if fw.released:
                latest[fw.product] = entry
            else:
                tests[fw.product] = entry
        outdated, current, offline, idle_online = [], [], [], []
        for dev in fleet.list_devices(NAME):
            status = fleet.status(dev, now)
            if not status.online:
                offline.append(dev.id)
                continue
            if dev.upgrading:
                continue
            idle_online.append(dev)
            (current if dev.firmware_version == latest[dev.product]["version"] else outdated).append(dev.id)
        compatible = next((dev.id for dev in idle_online if dev.product == INCOMPATIBLE["product"] and dev.id in outdated), None)
        incompatible = next((dev.id for dev in idle_online if dev.product == INCOMPATIBLE["other_product"]), None)
        return {
            "incompatible": {"version": INCOMPATIBLE["version"], "firmware_id": latest[INCOMPATIBLE["product"]]["firmware_id"],
                             "product": INCOMPATIBLE["product"], "other_product": INCOMPATIBLE["other_product"],
                             "compatible_device": compatible, "incompatible_device": incompatible},
            "latest_by_product": latest,
            "test_by_product": tests,
            "outdated_online_devices": outdated,
            "current_online_devices": current,
            "offline_devices": offline,
            "always_online_devices": [dev.id for dev in fleet.list_devices(NAME)[:ALWAYS_ONLINE]],
            "credentials": {"app_key": state.option(NAME, "app_key"), "org_id": state.option(NAME, "org_id")},
            "codes": {str(code): text for code, text in CODES.items()},
        }


PLATFORM = Platform(
    name=NAME,
    blueprint=blueprint,
    seed=seed,
    banner=banner,
    scenarios=scenarios,
    options={
        "app_key": ("fleetota-app-key", "EnOS application key (appKey)"),
        "app_secret": ("fleetota-app-secret", "EnOS application secret (never printed)"),
        "org_id": ("o15700000000001", "EnOS organization id (orgId)"),
        "token_ttl": (7200, "lifetime of an access token, seconds"),
    },
)
