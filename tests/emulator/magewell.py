# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Magewell Control Cloud (``/sc_cloud``) emulation and its fleet seeding.

Faithful to the public Magewell Cloud API documentation (field names included, such as
``marjor-ver``); what the documentation leaves open follows the project's vendor notes
(result-code table, session expiry, upgrade progress fields).
"""

from __future__ import annotations

import functools
import hashlib
import random
import string
from typing import Any, Callable

from flask import Blueprint, Response, request

from .fleet import (
    ALWAYS_ONLINE, PHASE_INSTALLING, PHASE_UPLOADING, RESULT_FAILED, START_OFFLINE, START_OK,
    Device, Firmware, pick_offline,
)
from .state import EmulatorState, Platform, get_state, json_response

NAME = "magewell"
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
_SYSTEM_RANDOM = random.SystemRandom()


def md5_hex(text: str) -> str:
    """Lower-case hex MD5, as the login ``pass`` field expects."""
    return hashlib.md5(text.encode("utf-8")).hexdigest()


def _users(state: EmulatorState) -> dict[str, dict[str, Any]]:
    admin = state.option(NAME, "user")
    return {
        admin: {"id": 1, "name": admin, "permit": ADMIN_PERMIT, "pass": md5_hex(state.option(NAME, "password"))},
        VIEWER_USER: {"id": 2, "name": VIEWER_USER, "permit": 0, "pass": md5_hex(VIEWER_PASSWORD)},
    }


def _reply(result: int, **payload: Any) -> Response:
    body = {"result": result}
    body.update(payload)
    return json_response(body, content_type=CONTENT_TYPE)


# -- seeding ---------------------------------------------------------------------------
def seed(state: EmulatorState, rng: Any) -> None:
    """Fill the fleet with the magewell firmware catalog and devices (deterministic)."""
    fleet = state.fleet
    now = state.clock()
    next_id = 1
    for family, product, product_name, hardware, releases, test in MODELS:
        for index, version in enumerate(releases + (test,)):
            released = index < len(releases)
            fw_type = FIRMWARE_TYPE_RELEASED if released else FIRMWARE_TYPE_TEST
            name = f"{product_name.lower().replace(' ', '_')}_rev_{hardware.lower()}_{version.replace('.', '_')}.mwf"
            upload = CATALOG_EPOCH + 86400 * (30 * index + next_id)
            fleet.add_firmware(Firmware(
                platform=NAME, id=str(next_id), version=version, product=str(product), hardware_version=hardware,
                family=str(family), released=released, name=name, size=rng.randint(8, 40) * 1048576 + rng.randint(0, 1048575),
                checksum=md5_hex(name), created=float(upload),
                extra={"firmware-id": fw_type, "upload-date": upload,
                       "file-path": f"/data/firmware/firmware-{product}-{fw_type}-{hardware}-{version}.mwf"},
            ))
            next_id += 1
    count = state.config.devices
    offline = pick_offline(rng, count, state.config.offline_ratio)
    for index in range(count):
        if index < 2 * len(MODELS):
            model = MODELS[index % len(MODELS)]
            current = index >= len(MODELS)
        else:
            model = rng.choice(MODELS)
            current = rng.random() < 0.5
        family, product, product_name, hardware, releases, _test = model
        version = releases[-1] if current else rng.choice(releases[:-1])
        online = index not in offline
        number = index + 1
        fleet.add_device(Device(
            platform=NAME, id=f"{SN_PREFIX}{number:05d}", name=f"encoder-{number:04d}", product=str(product),
            hardware_version=hardware, family=str(family), firmware_version=version, online=online,
            online_since=now - rng.randint(600, 30 * 86400) if online else None,
            extra={"product-name": product_name, "apply-date": int(now) - rng.randint(30, 400) * 86400,
                   "eth": f"10.{20 + (number >> 16)}.{(number >> 8) & 255}.{number & 255}"},
        ))


# -- rendering -------------------------------------------------------------------------
def _device_object(state: EmulatorState, device: Device, now: float) -> dict[str, Any]:
    status = state.fleet.status(device, now)
    uploading = status.phase == PHASE_UPLOADING
    return {
        "catalog-id": 0,
        "sn": device.id,
        "module": int(device.family),
        "dev-warning": 0,
        "is-everyone": 1,
        "users": None,
        "apply-date": device.extra.get("apply-date", 0),
        "online-date": int(status.online_since or 0) if status.online else 0,
        "is-upload-file": 1 if uploading else 0,
        "upload-file-pos": status.upload_position if uploading else 0,
        "status": {
            "name": device.name,
            "product-id": int(device.product),
            "module-name": FAMILIES.get(int(device.family), ""),
            "hardware-ver": device.hardware_version,
            "firmware-ver": device.firmware_version,
            "up-time": int(now - status.online_since) if status.online and status.online_since else 0,
            "cur-status": 0,
            "eth": device.extra.get("eth", "") if status.online else "",
            "wifi": "",
            "rndis": "",
            "upgrade-ret": INSTALL_FAILED if status.last_result == RESULT_FAILED else 0,
            "upgrade-step": status.step if status.phase == PHASE_INSTALLING else 0,
        },
    }


def _firmware_object(firmware: Firmware) -> dict[str, Any]:
    major, minor, build = (int(part) for part in firmware.version.split("."))
    return {
        "id": int(firmware.id),
        "file-path": firmware.extra["file-path"],
        "upload-date": firmware.extra["upload-date"],
        "product-id": int(firmware.product),
        "firmware-id": firmware.extra["firmware-id"],
        "hardware-ver": firmware.hardware_version,
        "marjor-ver": major,
        "minor-ver": minor,
        "build-number": build,
    }


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
    return _users(state).get(session.user)


def logged_in(admin: bool = False) -> Callable[[Callable[..., Response]], Callable[..., Response]]:
    """Decorator: the endpoint needs a live session (and an administrator if ``admin``)."""
    def decorator(view: Callable[..., Response]) -> Callable[..., Response]:
        @functools.wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Response:
            user = _current_user(get_state())
            if user is None:
                return _reply(NOT_LOGGED_IN)
            if admin and user["permit"] != ADMIN_PERMIT:
                return _reply(NO_PERMISSION)
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
        return _reply(INVALID_ARGUMENT)
    name = request.form.get("id")
    password = request.form.get("pass")
    if not name or password is None:
        return _reply(INVALID_ARGUMENT)
    user = _users(state).get(name)
    if user is None:
        return _reply(NOT_EXIST)
    if password != user["pass"]:
        return _reply(PASSWORD_INCORRECT)
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
    response = _reply(OK, sid=sid)
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
        return _reply(INVALID_ARGUMENT)
    if group != 0:
        return _reply(NOT_EXIST)
    fleet = state.fleet
    with fleet.lock:
        now = state.clock()
        devs = [_device_object(state, dev, now) for dev in fleet.list_devices(NAME) if not module or dev.family == str(module)]
    return _reply(OK, devs=devs)


@blueprint.get("/scapi/get-dev")
@logged_in()
def get_dev() -> Response:
    """GET /sc_cloud/scapi/get-dev?sn=..."""
    state = get_state()
    serial = request.args.get("sn")
    if not serial:
        return _reply(INVALID_ARGUMENT)
    with state.fleet.lock:
        device = state.fleet.device(NAME, serial)
        if device is None:
            return _reply(NOT_EXIST)
        dev = _device_object(state, device, state.clock())
    return _reply(OK, dev=dev)


@blueprint.get("/scapi/get-all-firmwares")
@logged_in()
def get_all_firmwares() -> Response:
    """GET /sc_cloud/scapi/get-all-firmwares?dev-type=<family, mandatory; 0 = all>&product-id=&hardware-ver=."""
    state = get_state()
    try:
        family = _int_arg("dev-type")
        product = _int_arg("product-id")
    except ValueError:
        return _reply(INVALID_ARGUMENT)
    if family is None:
        return _reply(INVALID_ARGUMENT)
    hardware = request.args.get("hardware-ver") or None
    items = [
        _firmware_object(fw) for fw in state.fleet.list_firmwares(NAME)
        if (not family or fw.family == str(family))
        and (product is None or fw.product == str(product))
        and (hardware is None or fw.hardware_version == hardware)
    ]
    return _reply(OK, firmwares=items)


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
        return _reply(INVALID_ARGUMENT)
    serials, firmware_id = parsed
    fleet = state.fleet
    firmware = fleet.firmware(NAME, str(firmware_id))
    if firmware is None:
        return _reply(NOT_EXIST)
    with fleet.lock:
        details = [{"sn": serial, "result": _start_one(state, serial, firmware)} for serial in serials]
    return _reply(OK, method="start-upgrade", details=details)


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


# -- control API helpers ---------------------------------------------------------------
def banner(state: EmulatorState) -> str:
    """Start-up line (never the passwords)."""
    return f"magewell: user={state.option(NAME, 'user')} (admin), {VIEWER_USER} (read-only)"


def scenarios(state: EmulatorState) -> dict[str, Any]:
    """Handy facts for tests, computed from the live fleet."""
    fleet = state.fleet
    with fleet.lock:
        now = state.clock()
        latest: dict[str, dict[str, Any]] = {}
        tests: dict[str, dict[str, Any]] = {}
        for fw in fleet.list_firmwares(NAME):
            key = f"{fw.product}/{fw.hardware_version}"
            entry = {"version": fw.version, "firmware_id": int(fw.id), "module": int(fw.family)}
            if fw.released:
                latest[key] = entry
            else:
                tests[key] = entry
        idle_online = []
        outdated, current, offline = [], [], []
        for dev in fleet.list_devices(NAME):
            status = fleet.status(dev, now)
            if not status.online:
                offline.append(dev.id)
                continue
            if dev.upgrading:
                continue
            idle_online.append(dev)
            key = f"{dev.product}/{dev.hardware_version}"
            (current if dev.firmware_version == latest[key]["version"] else outdated).append(dev.id)
        compatible = next((dev.id for dev in idle_online if (dev.product, dev.hardware_version)
                           == (INCOMPATIBLE["product"], INCOMPATIBLE["compatible_hardware"])), None)
        incompatible = next((dev.id for dev in idle_online if (dev.product, dev.hardware_version)
                             == (INCOMPATIBLE["product"], INCOMPATIBLE["incompatible_hardware"])), None)
        target = latest[f"{INCOMPATIBLE['product']}/{INCOMPATIBLE['compatible_hardware']}"]
        return {
            "incompatible": {
                "version": INCOMPATIBLE["version"], "firmware_id": target["firmware_id"],
                "product": int(INCOMPATIBLE["product"]), "module": target["module"],
                "compatible_hardware": INCOMPATIBLE["compatible_hardware"],
                "incompatible_hardware": INCOMPATIBLE["incompatible_hardware"],
                "compatible_device": compatible, "incompatible_device": incompatible,
            },
            "latest_by_product": latest,
            "test_by_product": tests,
            "outdated_online_devices": outdated,
            "current_online_devices": current,
            "offline_devices": offline,
            "always_online_devices": [dev.id for dev in fleet.list_devices(NAME)[:ALWAYS_ONLINE]],
            "users": {"admin": state.option(NAME, "user"), "viewer": VIEWER_USER},
            "result_codes": {str(code): text for code, text in RESULT_CODES.items()},
        }


PLATFORM = Platform(
    name=NAME,
    blueprint=blueprint,
    seed=seed,
    banner=banner,
    scenarios=scenarios,
    options={
        "user": ("Admin", "Magewell administrator user name"),
        "password": ("fleetota", "Magewell administrator password (clear text; the API expects its MD5)"),
    },
)
