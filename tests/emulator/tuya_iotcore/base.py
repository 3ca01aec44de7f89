# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""IoT Core constants (gateway errors, QPS, page caps), its store, the answer envelope and parameter helpers."""

from __future__ import annotations

import itertools
import threading
import time
import uuid
from typing import Any

from flask import Blueprint, Response

from ..jobs import JobBook
from ..state import EmulatorState, get_state, json_response

NAME = "tuya_iotcore"

OPTIONS = {  # --tuya-iotcore-<option> on the command line; see state.Platform
    "access_key": ("fleetota-iotcore-ak", "IoT Core AccessKeyId accepted"),
    "secret_key": ("fleetota-iotcore-secret", "its AccessKeySecret (prefer the env variable, to keep it off the command line)"),
    "casing": ("camel", "response key casing: camel (Tuya's JSON examples) or pascal (its tables)"),
    "skew": (900.0, "seconds a request Timestamp may differ from the clock"),
    "qps_scale": (1.0, "multiplier of the per-action QPS limits (0 = no limit)"),
}
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
    "ListOTATaskByJob": 10, "CancelOTATaskByJob": 5, "CancelOTATaskByDevice": 10, "QueryDeviceDetail": 50, "BatchQueryDeviceDetail": 5,
}
# CreateOTAStaticUpgradeJob's documented choices: RetryInterval (minutes; absent = no retry) and RetryCount.
RETRY_INTERVALS = (0, 10, 30, 60, 1440)
RETRY_COUNTS = (1, 2, 5)
# Page-size caps (documented).
PAGE_CAPS = {"ListOTAFirmware": 100, "ListOTATaskByJob": 100, "ListOTAJobByFirmware": 200, "QueryDeviceByStatus": 50}
JOB_DEVICE_LIMIT = 200      # TargetDeviceName.N per CreateOTAStaticUpgradeJob (Alibaba's rule)
BATCH_DETAIL_LIMIT = 100    # DeviceName.N per BatchQueryDeviceDetail (documented)
UNFINISHED = ("CONFIRM", "QUEUED", "NOTIFIED", "IN_PROGRESS")
DEVICE_STATUS = {1: "ONLINE", 3: "OFFLINE", 0: "UNACTIVE", 8: "DISABLE"}
# What the lifecycle's task states are called here.
TASK_STATUS = {"queued": "QUEUED", "pushed": "NOTIFIED", "upgrading": "IN_PROGRESS", "succeeded": "SUCCEEDED", "failed": "FAILED",
               "canceled": "CANCELED"}

blueprint = Blueprint(NAME, __name__)


class RpcError(Exception):
    """An error answer: gateway codes get their HTTP status, business codes HTTP 200."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = GATEWAY_STATUS.get(code, 200)


def _numeric_id(_kind: str, number: int) -> str:
    """A ~19-digit numeric id, as the vendor's JobId / TaskId."""
    return f"{1_700_000_000_000_000_000 + number:d}"


class Store:
    """IoT Core state besides the fleet: jobs and tasks, used nonces, QPS windows."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.book = JobBook(NAME, _numeric_id)
        self.nonces: dict[str, float] = {}
        self.calls: dict[str, list[float]] = {}


def new_store(_state: EmulatorState) -> Store:
    """A fresh IoT Core store (Platform.new_store)."""
    return Store()


def store(state: EmulatorState) -> Store:
    """The IoT Core store of this emulator."""
    return state.store(NAME)


# -- response shaping --------------------------------------------------------------------------
def pascal(value: Any) -> Any:
    """Keys in PascalCase (the casing=pascal option)."""
    if isinstance(value, dict):
        return {key[:1].upper() + key[1:]: pascal(item) for key, item in value.items()}
    if isinstance(value, list):
        return [pascal(item) for item in value]
    return value


def answer(payload: dict[str, Any], status: int = 200) -> Response:
    """The JSON envelope with a requestId, in the configured casing."""
    body = {"requestId": str(uuid.uuid4()), **payload}
    if get_state().option(NAME, "casing") == "pascal":
        body = pascal(body)
    return json_response(body, status=status, content_type="application/json;charset=utf-8")


def ok(**payload: Any) -> Response:
    """A success answer."""
    return answer({"code": "", "success": True, **payload})


def required_param(params: dict[str, str], name: str) -> str:
    """A mandatory parameter (MissingParameter without it)."""
    value = params.get(name)
    if not value:
        raise RpcError("MissingParameter", f"The input parameter {name} that is mandatory for processing this request is not supplied.")
    return value


def int_param(params: dict[str, str], name: str, default: int | None = None, required: bool = False) -> int | None:
    """An integer parameter."""
    value = params.get(name)
    if value in (None, ""):
        if required:
            required_param(params, name)
        return default
    try:
        return int(value)
    except ValueError:
        raise RpcError("iot.check.InvalidFormattedParameter", f"{name} must be an integer, got {value!r}.") from None


def page_params(params: dict[str, str], action: str, required: bool, default_size: int = 10) -> tuple[int, int]:
    """(CurrentPage, PageSize) within the action's cap."""
    page = int_param(params, "CurrentPage", 1, required)
    size = int_param(params, "PageSize", default_size, required)
    cap = PAGE_CAPS[action]
    if page is None or size is None or page < 1 or size < 1 or size > cap or page * size > 100000:
        raise RpcError("iot.common.InvalidPageParams", f"CurrentPage must be >= 1 and PageSize 1..{cap} for {action}.")
    return page, size


def paged(items: list[Any], page: int, size: int) -> tuple[list[Any], dict[str, int]]:  # pylint: disable=redefined-outer-name
    """One page of items and the paging fields."""
    total = len(items)
    count = (total + size - 1) // size
    return items[(page - 1) * size:page * size], {"total": total, "pageSize": size, "pageCount": count}


def list_param(params: dict[str, str], name: str) -> list[str]:
    """The values of Name.1, Name.2, ..."""
    values = []
    for index in itertools.count(1):
        value = params.get(f"{name}.{index}")
        if value is None:
            return values
        values.append(value)
    return values


def utc(epoch: float) -> str:
    """ISO 8601 UTC with milliseconds."""
    return time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime(epoch))
