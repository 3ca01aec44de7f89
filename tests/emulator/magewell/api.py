# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Magewell sessions (login, cookies, administrator check) and the ``/sc_cloud`` endpoints."""

from __future__ import annotations

import functools
import random
import string
from typing import Any, Callable

from flask import Response, request

from ..fleet import START_OFFLINE, START_OK, Firmware
from ..state import EmulatorState, get_state, json_response
from .base import (
    ADMIN_PERMIT, CONTENT_TYPE, DEVICE_OFFLINE, FIRMWARE_MISMATCH, INVALID_ARGUMENT, NAME, NO_PERMISSION, NOT_EXIST, NOT_LOGGED_IN, OK,
    PASSWORD_INCORRECT, REPEAT, SID_COOKIES, UID_COOKIE, blueprint, reply, users,
)
from .catalog import device_object, firmware_object

_SYSTEM_RANDOM = random.SystemRandom()


# -- sessions --------------------------------------------------------------------------
def _current_user(state: EmulatorState) -> dict[str, Any] | None:
    token = None
    for cookie in SID_COOKIES:
        token = request.cookies.get(cookie)
        if token:
            break
    uid = request.cookies.get(UID_COOKIE)
    session = state.sessions.get(NAME, token) if uid else None
    if session is None or session.user != uid:
        return None
    return users(state).get(session.user)


def logged_in(admin: bool = False) -> Callable[[Callable[..., Response]], Callable[..., Response]]:
    """Decorator: the endpoint needs a live session (and an administrator if ``admin``)."""
    def decorator(view: Callable[..., Response]) -> Callable[..., Response]:
        @functools.wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Response:
            user = _current_user(get_state())
            if user is None:
                return reply(NOT_LOGGED_IN)
            if admin and user["permit"] != ADMIN_PERMIT:
                return reply(NO_PERMISSION)
            return view(*args, **kwargs)
        return wrapper
    return decorator


def _int_arg(name: str, default: int | None = None) -> int | None:
    """An integer query argument; ValueError if present but not an integer."""
    value = request.args.get(name)
    if value is None or value == "":
        return default
    return int(value)


# -- endpoints -------------------------------------------------------------------------
@blueprint.post("/login")
def login() -> Response:
    """POST /sc_cloud/login (multipart/form-data ``id``, ``pass`` = md5 hex)."""
    state = get_state()
    if request.mimetype != "multipart/form-data":
        return reply(INVALID_ARGUMENT)
    name = request.form.get("id")
    password = request.form.get("pass")
    if not name or password is None:
        return reply(INVALID_ARGUMENT)
    user = users(state).get(name)
    if user is None:
        return reply(NOT_EXIST)
    if password != user["pass"]:
        return reply(PASSWORD_INCORRECT)
    sid = "".join(_SYSTEM_RANDOM.choices(string.ascii_uppercase, k=32))
    state.sessions.create(NAME, sid, name)
    response = json_response({"id": user["id"], "name": name, "pass": "", "result": OK, "sid": sid}, content_type=CONTENT_TYPE)
    response.headers.add("Set-Cookie", f"mwcloud-sid={sid}; Path=/; HttpOnly")
    response.headers.add("Set-Cookie", f"mwcloud-uid={name}; Path=/")
    return response


@blueprint.post("/logout")
@logged_in()
def logout() -> Response:
    """POST /sc_cloud/logout: invalidates the session."""
    state = get_state()
    sid = next(request.cookies.get(cookie) for cookie in SID_COOKIES if request.cookies.get(cookie))
    state.sessions.delete(NAME, sid)
    response = reply(OK, sid=sid)
    response.headers.add("Set-Cookie", "mwcloud-sid=; Path=/; Max-Age=60; HttpOnly")
    return response


@blueprint.get("/scapi/get-devs")
@logged_in()
def get_devs() -> Response:
    """GET /sc_cloud/scapi/get-devs?id=<group, 0 = all>&module=<family, 0 = all>."""
    state = get_state()
    try:
        group = _int_arg("id", 0)
        module = _int_arg("module", 0)
    except ValueError:
        return reply(INVALID_ARGUMENT)
    if group != 0:
        return reply(NOT_EXIST)
    fleet = state.fleet
    with fleet.lock:
        now = state.clock()
        devs = [device_object(state, dev, now) for dev in fleet.list_devices(NAME) if not module or dev.family == str(module)]
    return reply(OK, devs=devs)


@blueprint.get("/scapi/get-dev")
@logged_in()
def get_dev() -> Response:
    """GET /sc_cloud/scapi/get-dev?sn=..."""
    state = get_state()
    serial = request.args.get("sn")
    if not serial:
        return reply(INVALID_ARGUMENT)
    with state.fleet.lock:
        device = state.fleet.device(NAME, serial)
        if device is None:
            return reply(NOT_EXIST)
        dev = device_object(state, device, state.clock())
    return reply(OK, dev=dev)


@blueprint.get("/scapi/get-all-firmwares")
@logged_in()
def get_all_firmwares() -> Response:
    """GET /sc_cloud/scapi/get-all-firmwares?dev-type=<family, mandatory; 0 = all>&product-id=&hardware-ver=."""
    state = get_state()
    try:
        family = _int_arg("dev-type")
        product = _int_arg("product-id")
    except ValueError:
        return reply(INVALID_ARGUMENT)
    if family is None:
        return reply(INVALID_ARGUMENT)
    hardware = request.args.get("hardware-ver") or None
    items = [
        firmware_object(fw) for fw in state.fleet.list_firmwares(NAME)
        if (not family or fw.family == str(family))
        and (product is None or fw.product == str(product))
        and (hardware is None or fw.hardware_version == hardware)
    ]
    return reply(OK, firmwares=items)


def _start_body() -> tuple[list[str], int] | None:
    body = request.get_json(silent=True) if request.is_json else None
    if not isinstance(body, dict):
        return None
    serials = body.get("sn")
    firmware_id = body.get("firmware-id")
    if not isinstance(serials, list) or not serials or not all(isinstance(sn, str) and sn for sn in serials):
        return None
    if isinstance(firmware_id, bool) or not isinstance(firmware_id, int):
        return None
    return serials, firmware_id


@blueprint.post("/upgrade/start")
@logged_in(admin=True)
def start_upgrade() -> Response:
    """POST /sc_cloud/upgrade/start {"sn": [...], "firmware-id": <catalog id>}."""
    state = get_state()
    parsed = _start_body()
    if parsed is None:
        return reply(INVALID_ARGUMENT)
    serials, firmware_id = parsed
    fleet = state.fleet
    firmware = fleet.firmware(NAME, str(firmware_id))
    if firmware is None:
        return reply(NOT_EXIST)
    with fleet.lock:
        details = [{"sn": serial, "result": _start_one(state, serial, firmware)} for serial in serials]
    return reply(OK, method="start-upgrade", details=details)


def _start_one(state: EmulatorState, serial: str, firmware: Firmware) -> int:
    """Per-device result of upgrade/start: 0, 1 (already upgrading), -14, -6 or -5."""
    fleet = state.fleet
    device = fleet.device(NAME, serial)
    if device is None:
        return NOT_EXIST
    fleet.status(device)  # finalizes an upgrade that is over
    if device.upgrading:
        return REPEAT
    if not firmware.matches(device):
        return FIRMWARE_MISMATCH
    outcome = fleet.start_upgrade(device, firmware, state.config.upgrade_seconds)
    if outcome == START_OK:
        return OK
    return DEVICE_OFFLINE if outcome == START_OFFLINE else REPEAT
