# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Magewell constants, result codes, users, the reply envelope and the blueprint."""

from __future__ import annotations

import hashlib
from typing import Any

from flask import Blueprint, Response

from ..state import EmulatorState, json_response

NAME = "magewell"

OPTIONS = {  # --magewell-<option> on the command line; see state.Platform
    "user": ("Admin", "Magewell administrator user name"),
    "password": ("fleetota", "Magewell administrator password (clear text; the API expects its MD5)"),
}
URL_PREFIX = "/sc_cloud"
CONTENT_TYPE = "application/json; charset=UTF-8"

# Result codes (vendor notes A.3: only 0, 1, -1 and -14 are documented; the rest is our assumption).
OK = 0
REPEAT = 1
PASSWORD_INCORRECT = -1
NOT_LOGGED_IN = -2
NO_PERMISSION = -3
INVALID_ARGUMENT = -4
DEVICE_OFFLINE = -5
FIRMWARE_MISMATCH = -6
DEVICE_BUSY = -7
INSTALL_FAILED = -8
NOT_EXIST = -14

RESULT_CODES = {
    OK: "success",
    REPEAT: "repeat operation (already upgrading / already exists)",
    PASSWORD_INCORRECT: "password incorrect",
    NOT_LOGGED_IN: "not logged in / session invalid or expired",
    NO_PERMISSION: "no permission (administrator only)",
    INVALID_ARGUMENT: "invalid argument",
    DEVICE_OFFLINE: "device offline",
    FIRMWARE_MISMATCH: "firmware does not match the device (family / product / hardware)",
    DEVICE_BUSY: "device busy",
    INSTALL_FAILED: "firmware install failed (status.upgrade-ret of a failed upgrade)",
    NOT_EXIST: "does not exist (user, device or firmware)",
}

ADMIN_PERMIT = -1
VIEWER_USER = "viewer"
VIEWER_PASSWORD = "viewer"
SID_COOKIES = ("mwcloud-sid", "sid")
UID_COOKIE = "mwcloud-uid"

FAMILIES = {1: "Ultra Stream", 2: "Pro Convert", 3: "Ultra Encode"}

# (family / module, product-id, product name, hardware-ver, released versions oldest first, test version)
# 770/B lacks 1.6.201, the newest release of its sibling 770/A: the "incompatible" scenario.
MODELS = (
    (1, 770, "Ultra Stream SDI", "A", ("1.4.120", "1.5.178", "1.6.201"), "1.7.12"),
    (1, 770, "Ultra Stream SDI", "B", ("1.4.120", "1.5.178"), "1.7.12"),
    (1, 771, "Ultra Stream HDMI", "A", ("1.4.98", "1.5.166", "1.6.201"), "1.7.12"),
    (2, 780, "Pro Convert HDMI 4K Plus", "A", ("2.1.30", "2.2.55", "2.3.87"), "2.4.3"),
    (2, 780, "Pro Convert HDMI 4K Plus", "B", ("2.2.55", "2.3.87"), "2.4.3"),
    (2, 781, "Pro Convert SDI 4K Plus", "A", ("2.1.30", "2.3.87"), "2.4.3"),
    (3, 790, "Ultra Encode HDMI", "A", ("3.0.15", "3.1.42", "3.2.60"), "3.3.1"),
    (3, 790, "Ultra Encode HDMI", "B", ("3.0.15", "3.1.42", "3.2.60"), "3.3.1"),
)
INCOMPATIBLE = {"product": "770", "version": "1.6.201", "compatible_hardware": "A", "incompatible_hardware": "B"}

FIRMWARE_TYPE_TEST = 1
FIRMWARE_TYPE_RELEASED = 2
SN_PREFIX = "A3021909"
CATALOG_EPOCH = 1635151650

blueprint = Blueprint(NAME, __name__, url_prefix=URL_PREFIX)


def md5_hex(text: str) -> str:
    """Lower-case hex MD5, as the login ``pass`` field expects."""
    return hashlib.md5(text.encode("utf-8")).hexdigest()


def users(state: EmulatorState) -> dict[str, dict[str, Any]]:
    """The administrator (options user, password) and the read-only viewer."""
    admin = state.option(NAME, "user")
    return {
        admin: {"id": 1, "name": admin, "permit": ADMIN_PERMIT, "pass": md5_hex(state.option(NAME, "password"))},
        VIEWER_USER: {"id": 2, "name": VIEWER_USER, "permit": 0, "pass": md5_hex(VIEWER_PASSWORD)},
    }


def reply(result: int, **payload: Any) -> Response:
    """The Magewell envelope {"result": code, ...}."""
    body = {"result": result}
    body.update(payload)
    return json_response(body, content_type=CONTENT_TYPE)
