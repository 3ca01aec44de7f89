# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""EnOS constants, codes, envelopes, its vendor store and its blueprint (used by every EnOS module)."""

from __future__ import annotations

import json
import threading
import uuid
from dataclasses import dataclass, field
from typing import Any

from flask import Blueprint, Response, request

from ..jobs import JobBook
from ..state import EmulatorState, json_response

NAME = "enos"

OPTIONS = {  # --enos-<option> on the command line; see state.Platform
    "app_key": ("fleetota-app-key", "EnOS application key (appKey)"),
    "app_secret": ("fleetota-app-secret", "EnOS application secret (never printed)"),
    "org_id": ("o15700000000001", "EnOS organization id (orgId)"),
    "token_ttl": (7200, "lifetime of an access token, seconds"),
}
CONTENT_TYPE = "application/json;charset=UTF-8"
TOKEN_PREFIX = "/apim-token-service/v2.0/token"
API_PREFIX = "/connect-service/v2.1"
CONTROL_PREFIX = "/_emulator/enos"

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
TASK_NOT_RETRYABLE = 24621

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
    TASK_NOT_RETRYABLE: "Only failed tasks can be retried",
}

PAGE_SIZE_DEFAULT = 10
PAGE_SIZE_MAX = 200
TIMESTAMP_WINDOW_MS = 300_000          # ASSUMPTION (vendor notes B.2.2): |now - ts| <= 5 min
UPGRADE_TIMEOUT_RANGE = (300, 172800)  # documented
UPGRADE_TIMEOUT_DEFAULT = 7200

blueprint = Blueprint(NAME, __name__)
control = Blueprint("control", __name__, url_prefix=CONTROL_PREFIX)


# -- platform state ----------------------------------------------------------------------
def _job_id(kind: str, number: int) -> str:
    return f"{kind}{number:08d}"


@dataclass
class EnosStore:
    """Tokens, used encryptions, jobs and tasks, and EnOS-only faults of one emulator."""

    token_ttl: float
    lock: threading.RLock = field(default_factory=threading.RLock)
    tokens: dict[str, float] = field(default_factory=dict)      # token -> expiry (epoch seconds)
    app_tokens: dict[str, str] = field(default_factory=dict)    # appKey -> current token
    used_encryptions: set[str] = field(default_factory=set)
    book: JobBook = field(default_factory=lambda: JobBook(NAME, _job_id))
    faults: list[dict[str, Any]] = field(default_factory=list)


def new_store(state: EmulatorState) -> EnosStore:
    """A fresh EnOS store (Platform.new_store)."""
    return EnosStore(token_ttl=float(state.option(NAME, "token_ttl")))


def store(state: EmulatorState) -> EnosStore:
    """The EnOS store of an emulator."""
    return state.store(NAME)


# -- envelopes -------------------------------------------------------------------------
class EnosError(Exception):
    """A business error, answered HTTP 200 with a non-zero code."""

    def __init__(self, code: int, msg: str | None = None) -> None:
        super().__init__(msg or CODES.get(code, "error"))
        self.code = code
        self.msg = msg or CODES.get(code, "error")


def reply(data: Any = None, pagination: dict[str, Any] | None = None, code: int = OK, msg: str = "OK") -> Response:
    body: dict[str, Any] = {"code": code, "msg": msg, "requestId": str(uuid.uuid4()), "data": data}
    if pagination is not None:
        body["pagination"] = pagination
    return json_response(body, content_type=CONTENT_TYPE)


def token_reply(status: int, data: Any = None) -> Response:
    body = {"status": status, "msg": "SUCCESS" if status == OK else CODES.get(status, "error"),
            "business": "apim-token-service", "data": data}
    return json_response(body, content_type=CONTENT_TYPE)


def i18n(text: str) -> dict[str, Any]:
    """EnOS's localized text object."""
    return {"defaultValue": text, "i18nValue": {}}


def org(state: EmulatorState) -> str:
    """The organization id of the emulated account."""
    return state.option(NAME, "org_id")


def now_ms(state: EmulatorState) -> int:
    """The wall clock in milliseconds (what request timestamps are checked against)."""
    return int(state.wall_clock() * 1000)


def json_body() -> dict[str, Any]:
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
