# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Tuya codes, constants, tokens and buckets (its store), envelopes, the blueprint and catalog helpers."""

from __future__ import annotations

import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from flask import Blueprint, Response

from ..fleet import Firmware
from ..state import EmulatorState, json_response

NAME = "tuya"

OPTIONS = {  # --tuya-<option> on the command line; see state.Platform
    "client_id": ("fleetotaemuclient001", "Tuya Access ID (client_id) of the emulated cloud project"),
    "secret": ("fleetota-tuya-secret", "its Access Secret (env FLEETOTA_EMULATOR_TUYA_SECRET keeps it off the command line)"),
    "token_ttl": (7200.0, "seconds an access token lives (expire_time)"),
    "time_window": (300.0, "largest accepted difference between the t header and the emulator clock, seconds"),
    "rate_limit": (10.0, "GET requests per second per API per project (0 = no limit)"),
    "write_rate_limit": (4.0, "POST requests per second per API per project (0 = no limit)"),
    "rate_limit_code": (1110, "the code answered over the limit (1110, or 1199)"),
    "legacy_sign": (False, "also accept the archived sign formula (projects before 2021-06-30)"),
    "single_object": (False, "answer the firmware call of single-channel devices with one object keyed 'channel' (doc example)"),
}


CODES = {
    1002: "access_token is null",
    1003: "grant type invalid",
    1004: "sign invalid",
    1005: "clientId invalid",
    1010: "token invalid",
    1012: "token status is invalid",
    1013: "request time is invalid",
    1101: "params range invalid",
    1105: "missing the header",
    1106: "permission deny",
    1108: "uri path invalid",
    1109: "param is illegal, please check it",
    1110: "concurrent request over limit",
    1199: "your requests are too frequent",
    2001: "device is offline",
}

# upgrade_status values (A.6.5).
ST_NONE, ST_READY, ST_UPGRADING, ST_DONE, ST_FAILED, ST_TIMEOUT = 0, 1, 2, 3, 4, 7

# (product_id, product name, category, released main-module versions oldest first, MCU version or None)
PRODUCTS = (
    ("keyjup78v54myhan", "Smart Plug", "cz", ("1.0.4", "1.1.2", "1.2.0"), None),
    ("gnhs2mkm0cfvopqk", "Wi-Fi Bulb", "dj", ("2.0.1", "2.1.0", "2.3.5"), None),
    ("q9gbs1m2tkc8aefi", "Curtain Motor", "cl", ("1.5.0", "1.6.3"), "3.1.0"),
)
MCU_CHANNEL = 9
BLOCKED_INDEX = 6
BLOCKED_REMIND = "The battery level is too low to update. Charge the device and try again."
CATALOG_EPOCH_MS = 1704067200000
DEVICE_LIST_MAX = 200
BATCH_MAX = 20

blueprint = Blueprint(NAME, __name__)


@dataclass
class Token:
    """One issued access token."""

    access_token: str
    refresh_token: str
    client_id: str
    expires_at: float


@dataclass
class TuyaState:
    """Tokens and rate-limit buckets of one emulator (reset with the fleet)."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    tokens: dict[str, Token] = field(default_factory=dict)
    refresh: dict[str, str] = field(default_factory=dict)
    buckets: dict[tuple[str, str], tuple[float, float]] = field(default_factory=dict)
    rate_limited: int = 0
    sign_refused: int = 0


def new_store(_state: EmulatorState) -> TuyaState:
    """Fresh Tuya tokens and buckets (Platform.new_store)."""
    return TuyaState()


def tuya_state(state: EmulatorState) -> TuyaState:
    """This emulator's Tuya tokens and buckets."""
    return state.store(NAME)


def opt(state: EmulatorState, name: str, kind: type) -> Any:
    """A Tuya option as bool, float, int or str."""
    value = state.option(NAME, name)
    if kind is bool and isinstance(value, str):
        return value.strip().lower() in ("1", "true", "yes", "on")
    return kind(value)


def fail(code: int, msg: str | None = None) -> Response:
    """A Tuya error envelope (HTTP 200, as the real cloud answers)."""
    return json_response({"code": code, "msg": msg or CODES.get(code, "error"), "success": False,
                          "t": int(time.time() * 1000), "tid": uuid.uuid4().hex})


def ok(result: Any) -> Response:
    """A Tuya success envelope."""
    return json_response({"result": result, "success": True, "t": int(time.time() * 1000), "tid": uuid.uuid4().hex})


def latest(state: EmulatorState, product: str) -> Firmware | None:
    """The newest released firmware of a product."""
    firmwares = [fw for fw in state.fleet.list_firmwares(NAME) if fw.product == product and fw.released]
    return max(firmwares, key=lambda fw: tuple(int(p) for p in fw.version.split(".")), default=None)


def newer(left: str, right: str) -> bool:
    """True if version left is newer than right."""
    try:
        return tuple(int(p) for p in left.split(".")) > tuple(int(p) for p in right.split("."))
    except ValueError:
        return left != right
