# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Tuya Cloud OpenAPI emulation (vendors/tuya.md part A) and its fleet seeding.

Strict like the real cloud: every request is checked in the documented order (A.10):
headers present (1105, 1002) -> client_id known (1005) -> ``t`` within the window (1013)
-> HMAC-SHA256 ``sign`` over the raw body bytes and the decoded, re-sorted query (1004)
-> access token live (1010) -> per-project, per-API rate limit (1110, configurable) ->
the call itself. Errors are HTTP 200 with ``success: false``, ``code`` and ``msg``.

Firmware is per device and per channel: channel 0 (main module) runs on the shared fleet
state machine (upgrade, progress, fail, hang); products with an MCU report channel 9 too,
with its own version and nothing offered. The sign check is written here independently of
the collection's client, so that a bug in either shows up as 1004.
"""

from __future__ import annotations

import hashlib
import hmac
import threading
import time
import uuid
import weakref
from dataclasses import dataclass, field
from typing import Any

from flask import Blueprint, Response, request

from .fleet import ALWAYS_ONLINE, PHASE_IDLE, RESULT_FAILED, RESULT_SUCCESS, START_OFFLINE, START_OK, Device, Firmware, pick_offline
from .state import EmulatorState, Platform, get_state, json_response

NAME = "tuya"
RAW_HEADERS_KEY = "fleetota.emulator.underscore_headers"  # server.RAW_HEADERS_KEY (no import: server imports us)

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


_STATES: weakref.WeakKeyDictionary[EmulatorState, TuyaState] = weakref.WeakKeyDictionary()


def tuya_state(state: EmulatorState) -> TuyaState:
    """This emulator's Tuya tokens and buckets."""
    found = _STATES.get(state)
    if found is None:
        found = _STATES[state] = TuyaState()
    return found


def header(name: str) -> str | None:
    """A request header, including names with underscores (kept by server.EmulatorRequestHandler)."""
    value = request.headers.get(name)
    if value is not None:
        return value
    lower = name.lower()
    for key, raw in request.environ.get(RAW_HEADERS_KEY, ()):
        if key.lower() == lower:
            return raw
    return None


def _opt(state: EmulatorState, name: str, kind: type) -> Any:
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


# -- seeding ---------------------------------------------------------------------------
def seed(state: EmulatorState, rng: Any) -> None:
    """Fill the fleet with Tuya devices (deterministic); forget tokens and buckets."""
    _STATES[state] = TuyaState()
    fleet = state.fleet
    now = state.clock()
    for index, (product, name, category, releases, _mcu) in enumerate(PRODUCTS):
        for number, version in enumerate(releases):
            fleet.add_firmware(Firmware(
                platform=NAME, id=f"{product}:0:{version}", version=version, product=product, hardware_version="",
                family="0", released=True, name=f"{name} main module {version}", size=rng.randint(400, 1800) * 1024,
                checksum=hashlib.md5(f"{product}{version}".encode()).hexdigest(),
                created=(CATALOG_EPOCH_MS + 86400000 * (40 * number + index)) / 1000.0,
            ))
    count = state.config.devices
    offline = pick_offline(rng, count, state.config.offline_ratio)
    for index in range(count):
        if index < 2 * len(PRODUCTS):
            model = PRODUCTS[index % len(PRODUCTS)]
            current = index >= len(PRODUCTS)
        else:
            model = PRODUCTS[0] if index == BLOCKED_INDEX else rng.choice(PRODUCTS)
            current = False if index == BLOCKED_INDEX else rng.random() < 0.5
        product, name, category, releases, mcu = model
        version = releases[-1] if current else rng.choice(releases[:-1])
        online = index not in offline
        device_id = f"bf{index + 1:05d}{rng.getrandbits(60):015x}"
        extra: dict[str, Any] = {"product_name": name, "category": category, "uuid": f"{rng.getrandbits(64):016x}",
                                 "active_time": int(now) - rng.randint(30, 400) * 86400, "can_upgrade": True}
        if mcu:
            extra["channels"] = {MCU_CHANNEL: mcu}
        if index == BLOCKED_INDEX:
            extra["can_upgrade"] = False
            extra["remind"] = BLOCKED_REMIND
        fleet.add_device(Device(
            platform=NAME, id=device_id, name=f"{category}-{index + 1:04d}", product=product, hardware_version="",
            family="0", firmware_version=version, online=online,
            online_since=now - rng.randint(600, 30 * 86400) if online else None, extra=extra,
        ))


def _latest(state: EmulatorState, product: str) -> Firmware | None:
    firmwares = [fw for fw in state.fleet.list_firmwares(NAME) if fw.product == product and fw.released]
    return max(firmwares, key=lambda fw: tuple(int(p) for p in fw.version.split(".")), default=None)


def _newer(left: str, right: str) -> bool:
    try:
        return tuple(int(p) for p in left.split(".")) > tuple(int(p) for p in right.split("."))
    except ValueError:
        return left != right


# -- signing (independent of the collection's client) ----------------------------------
def _string_to_sign() -> str:
    body = request.get_data(cache=True) or b""
    names = [name for name in (request.headers.get("Signature-Headers") or "").split(":") if name]
    headers = "".join(f"{name}:{header(name) or ''}\n" for name in names)
    pairs = sorted((key, value) for key, values in request.args.lists() for value in values)
    url = request.path + ("?" + "&".join(f"{key}={value}" for key, value in pairs) if pairs else "")
    return f"{request.method.upper()}\n{hashlib.sha256(body).hexdigest()}\n{headers}\n{url}"


def _hmac(secret: str, message: str) -> str:
    return hmac.new(secret.encode(), message.encode(), hashlib.sha256).hexdigest().upper()


def _sign_ok(state: EmulatorState, client_id: str, t: str, token: str) -> bool:
    secret = _opt(state, "secret", str)
    given = request.headers.get("sign", "")
    nonce = request.headers.get("nonce", "")
    expected = _hmac(secret, client_id + token + t + nonce + _string_to_sign())
    if hmac.compare_digest(given, expected):
        return True
    return _opt(state, "legacy_sign", bool) and hmac.compare_digest(given, _hmac(secret, client_id + token + t))


def _is_token_call() -> bool:
    return request.path == "/v1.0/token" or request.path.startswith("/v1.0/token/")


def _rate_limited(state: EmulatorState, client_id: str) -> bool:
    """Per project (client_id) and per API (method + route): a token bucket of `rate` per second, burst `rate`."""
    rule = request.url_rule.rule if request.url_rule is not None else request.path
    write = request.method != "GET"
    rate = _opt(state, "write_rate_limit" if write else "rate_limit", float)
    if rate <= 0:
        return False
    tuya = tuya_state(state)
    key = (client_id, f"{request.method} {rule}")
    now = time.monotonic()
    with tuya.lock:
        tokens, stamp = tuya.buckets.get(key, (rate, now))
        tokens = min(rate, tokens + (now - stamp) * rate)
        if tokens < 1.0:
            tuya.buckets[key] = (tokens, now)
            tuya.rate_limited += 1
            return True
        tuya.buckets[key] = (tokens - 1.0, now)
    return False


@blueprint.before_request
def _authenticate() -> Response | None:
    state = get_state()
    client_id = header("client_id")
    t = request.headers.get("t")
    if not client_id or not t or not request.headers.get("sign") or header("sign_method") != "HMAC-SHA256":
        return fail(1105, "missing the header: client_id, t, sign and sign_method=HMAC-SHA256 are required")
    if client_id != _opt(state, "client_id", str):
        return fail(1005)
    try:
        skew = abs(int(t) / 1000.0 - state.clock())
    except ValueError:
        return fail(1013)
    if len(t) != 13 or skew > _opt(state, "time_window", float):
        return fail(1013)
    token = ""
    if not _is_token_call():
        token = header("access_token") or ""
        if not token:
            return fail(1002)
    if not _sign_ok(state, client_id, t, token):
        tuya = tuya_state(state)
        with tuya.lock:
            tuya.sign_refused += 1
        return fail(1004)
    if token:
        tuya = tuya_state(state)
        with tuya.lock:
            issued = tuya.tokens.get(token)
        if issued is None or issued.expires_at <= state.clock() or state.sessions.get(NAME, token) is None:
            return fail(1010)
    if _rate_limited(state, client_id):
        return fail(_opt(state, "rate_limit_code", int))
    return None


# -- tokens ----------------------------------------------------------------------------
def _issue(state: EmulatorState, client_id: str) -> dict[str, Any]:
    ttl = _opt(state, "token_ttl", float)
    token = Token(uuid.uuid4().hex, uuid.uuid4().hex, client_id, state.clock() + ttl)
    tuya = tuya_state(state)
    with tuya.lock:
        tuya.tokens[token.access_token] = token
        tuya.refresh[token.refresh_token] = token.access_token
    state.sessions.create(NAME, token.access_token, client_id)
    return {"access_token": token.access_token, "expire_time": int(ttl), "refresh_token": token.refresh_token,
            "uid": f"emu{hashlib.sha1(client_id.encode()).hexdigest()[:16]}"}


@blueprint.get("/v1.0/token")
def get_token() -> Response:
    """GET /v1.0/token?grant_type=1 (simple mode)."""
    if request.args.get("grant_type") != "1":
        return fail(1003)
    state = get_state()
    return ok(_issue(state, header("client_id") or ""))


@blueprint.get("/v1.0/token/<refresh_token>")
def refresh_token_view(refresh_token: str) -> Response:
    """GET /v1.0/token/{refresh_token}: single use; both old tokens die."""
    state = get_state()
    tuya = tuya_state(state)
    with tuya.lock:
        access = tuya.refresh.pop(refresh_token, None)
        old = tuya.tokens.pop(access, None) if access else None
    if old is None:
        return fail(1012)
    state.sessions.delete(NAME, old.access_token)
    return ok(_issue(state, header("client_id") or ""))


# -- devices ---------------------------------------------------------------------------
def _device_info(state: EmulatorState, device: Device, batch: bool) -> dict[str, Any]:
    status = state.fleet.status(device)
    extra = device.extra
    info = {"id": device.id, "name": device.name, "product_id": device.product, "product_name": extra["product_name"],
            "category": extra["category"], "uuid": extra["uuid"], "active_time": extra["active_time"],
            "time_zone": "+01:00", "sub": False, "icon": f"smart/icon/{device.product}.png", "ip": "", "lat": "", "lon": ""}
    if batch:
        info.update({"custom_name": device.name, "is_online": status.online, "create_time": extra["active_time"],
                     "update_time": extra["active_time"]})
    else:
        info.update({"online": status.online, "category_name": extra["product_name"], "create_time": extra["active_time"],
                     "update_time": extra["active_time"]})
    return info


@blueprint.get("/v2.0/cloud/thing/batch")
def batch() -> Response:
    """GET /v2.0/cloud/thing/batch?device_ids=a,b (<= 20); unknown ids are skipped."""
    state = get_state()
    ids = [item for item in (request.args.get("device_ids") or "").split(",") if item]
    if not ids:
        return fail(1109, "device_ids is required")
    if len(ids) > BATCH_MAX:
        return fail(1101, f"device_ids takes at most {BATCH_MAX} ids")
    with state.fleet.lock:
        found = [state.fleet.device(NAME, item) for item in ids]
        return ok([_device_info(state, dev, True) for dev in found if dev is not None])


@blueprint.get("/v1.3/iot-03/devices")
def device_list() -> Response:
    """GET /v1.3/iot-03/devices?page_size=<=200&last_row_key=... (cursor paging)."""
    state = get_state()
    try:
        size = int(request.args.get("page_size") or 20)
    except ValueError:
        return fail(1109, "page_size must be an integer")
    if not 1 <= size <= DEVICE_LIST_MAX:
        return fail(1101, f"page_size must be 1..{DEVICE_LIST_MAX}")
    cursor = request.args.get("last_row_key") or ""
    with state.fleet.lock:
        devices = state.fleet.list_devices(NAME)
        start = 0
        if cursor:
            index = next((i for i, dev in enumerate(devices) if dev.id == cursor), None)
            if index is None:
                return fail(1109, "last_row_key is not valid")
            start = index + 1
        page = devices[start:start + size]
        more = start + size < len(devices)
        return ok({"list": [_device_info(state, dev, False) for dev in page], "has_more": more,
                   "last_row_key": page[-1].id if page else "", "total": len(devices)})


# -- firmware --------------------------------------------------------------------------
def _channels(state: EmulatorState, device: Device) -> list[dict[str, Any]]:
    status = state.fleet.status(device)
    latest = _latest(state, device.product)
    current = device.firmware_version
    offered = latest.version if latest is not None and _newer(latest.version, current) else None
    if device.upgrading:
        upgrade_status, version = ST_UPGRADING, device.target_firmware
    elif offered and status.last_result == RESULT_FAILED:
        upgrade_status, version = ST_FAILED, offered
    elif offered:
        upgrade_status, version = ST_READY, offered
    else:
        upgrade_status, version = ST_NONE, current
    main = {
        "type": 0, "type_desc": "Wi-Fi module", "current_version": current, "version": version,
        "upgrade_status": upgrade_status, "upgrade_type": 0, "dev_type": 0, "control_type": 0,
        "timeout": int(max(60, 3 * state.config.upgrade_seconds)), "desc": f"{device.extra['product_name']} firmware {version}",
        "upgrading_desc": "Updating. Keep the device powered.", "can_upgrade": bool(device.extra.get("can_upgrade", True)),
        "last_upgrade_time": int((device.finished_at or 0) * 1000),
    }
    if offered and latest is not None:
        main.update({"md5": latest.checksum, "file_size": str(latest.size), "firmware_deploy_time": int(latest.created * 1000)})
    if device.extra.get("remind"):
        main["remind"] = device.extra["remind"]
    items = [main]
    for channel, mcu_version in sorted((device.extra.get("channels") or {}).items()):
        items.append({"type": channel, "type_desc": "MCU", "current_version": mcu_version, "version": mcu_version,
                      "upgrade_status": ST_NONE, "upgrade_type": 0, "dev_type": 0, "control_type": 0, "timeout": 120,
                      "can_upgrade": True})
    return items


def _device_or_deny(state: EmulatorState, device_id: str) -> Device | None:
    return state.fleet.device(NAME, device_id)


@blueprint.get("/v2.0/cloud/thing/<device_id>/firmware")
def firmware_info(device_id: str) -> Response:
    """GET /v2.0/cloud/thing/{device_id}/firmware: one item per channel (or the doc example's single object)."""
    state = get_state()
    with state.fleet.lock:
        device = _device_or_deny(state, device_id)
        if device is None:
            return fail(1106)
        items = _channels(state, device)
    if _opt(state, "single_object", bool) and len(items) == 1:
        item = dict(items[0])
        item["channel"] = item.pop("type")
        return ok(item)
    return ok(items)


@blueprint.post("/v2.0/cloud/thing/<device_id>/firmware/<channel>")
def start(device_id: str, channel: str) -> Response:
    """POST /v2.0/cloud/thing/{device_id}/firmware/{channel}: no body; result true."""
    state = get_state()
    if request.get_data(cache=True):
        return fail(1109, "this call takes no body")
    try:
        number = int(channel)
    except ValueError:
        return fail(1109, "channel must be an integer")
    fleet = state.fleet
    with fleet.lock:
        device = _device_or_deny(state, device_id)
        if device is None:
            return fail(1106)
        item = next((entry for entry in _channels(state, device) if entry["type"] == number), None)
        if item is None:
            return fail(1109, f"the device has no firmware channel {number}")
        if item["upgrade_status"] == ST_UPGRADING:
            return fail(1109, "an update of this channel is already in progress")
        if item["upgrade_status"] not in (ST_READY, ST_FAILED, ST_TIMEOUT):
            return fail(1109, "no update is available for this channel")
        if not item.get("can_upgrade", True):
            return fail(1109, item.get("remind") or "the device cannot be updated now")
        target = _latest(state, device.product)
        outcome = fleet.start_upgrade(device, target, state.config.upgrade_seconds)
    if outcome == START_OK:
        return ok(True)
    if outcome == START_OFFLINE:
        return fail(2001)
    return fail(1109, "an update of this channel is already in progress")


@blueprint.get("/v2.0/cloud/thing/<device_id>/firmware/<channel>/progress")
def progress(device_id: str, channel: str) -> Response:
    """GET .../firmware/{channel}/progress: {upgrade_status, progress}."""
    state = get_state()
    try:
        number = int(channel)
    except ValueError:
        return fail(1109, "channel must be an integer")
    fleet = state.fleet
    with fleet.lock:
        device = _device_or_deny(state, device_id)
        if device is None:
            return fail(1106)
        if number != 0:
            if number not in (device.extra.get("channels") or {}):
                return fail(1109, f"the device has no firmware channel {number}")
            return ok({"upgrade_status": ST_NONE, "progress": 0})
        status = fleet.status(device)
        if device.upgrading:
            seconds = device.upgrade_seconds or 1e-9
            fraction = (state.clock() - (device.started_at or state.clock())) / seconds
            percent = 20 if device.upgrade_behaviour == "hang" and fraction > 0.2 else min(99, int(fraction * 100))
            return ok({"upgrade_status": ST_UPGRADING, "progress": max(0, percent)})
        if status.phase == PHASE_IDLE and status.last_result == RESULT_FAILED:
            return ok({"upgrade_status": ST_FAILED, "progress": 60})
        if status.last_result == RESULT_SUCCESS:
            return ok({"upgrade_status": ST_DONE, "progress": 100})
        return ok({"upgrade_status": ST_NONE, "progress": 0})


# -- control API helpers ---------------------------------------------------------------
def banner(state: EmulatorState) -> str:
    """Start-up line (never the secret)."""
    return (f"tuya: client_id={_opt(state, 'client_id', str)}, rate {_opt(state, 'rate_limit', float):g}/s reads, "
            f"{_opt(state, 'write_rate_limit', float):g}/s starts per API")


def scenarios(state: EmulatorState) -> dict[str, Any]:
    """Handy facts for tests, computed from the live fleet."""
    fleet = state.fleet
    with fleet.lock:
        latest = {product: _latest(state, product).version for product, *_rest in PRODUCTS}
        outdated, current, offline, blocked, mcu = [], [], [], [], []
        for dev in fleet.list_devices(NAME):
            status = fleet.status(dev)
            if not status.online:
                offline.append(dev.id)
                continue
            if dev.upgrading:
                continue
            if not dev.extra.get("can_upgrade", True):
                blocked.append(dev.id)
                continue
            if dev.extra.get("channels"):
                mcu.append(dev.id)
            (current if dev.firmware_version == latest[dev.product] else outdated).append(dev.id)
        return {
            "latest_by_product": latest,
            "older_by_product": {product: list(releases[:-1]) for product, _n, _c, releases, _m in PRODUCTS},
            "outdated_online_devices": outdated,
            "current_online_devices": current,
            "offline_devices": offline,
            "blocked_devices": blocked,
            "blocked_remind": BLOCKED_REMIND,
            "mcu_devices": mcu,
            "mcu_channel": MCU_CHANNEL,
            "always_online_devices": [dev.id for dev in fleet.list_devices(NAME)[:ALWAYS_ONLINE]],
            "client_id": _opt(state, "client_id", str),
            "rate_limited": tuya_state(state).rate_limited,
            "sign_refused": tuya_state(state).sign_refused,
            "live_tokens": len(tuya_state(state).tokens),
            "codes": {str(code): text for code, text in CODES.items()},
        }


PLATFORM = Platform(
    name=NAME,
    blueprint=blueprint,
    seed=seed,
    banner=banner,
    scenarios=scenarios,
    options={
        "client_id": ("fleetotaemuclient001", "Tuya Access ID (client_id) of the emulated cloud project"),
        "secret": ("fleetota-tuya-secret", "its Access Secret (env FLEETOTA_EMULATOR_TUYA_SECRET keeps it off the command line)"),
        "token_ttl": (7200.0, "seconds an access token lives (expire_time)"),
        "time_window": (300.0, "largest accepted difference between the t header and the emulator clock, seconds"),
        "rate_limit": (10.0, "GET requests per second per API per project (0 = no limit)"),
        "write_rate_limit": (4.0, "POST requests per second per API per project (0 = no limit)"),
        "rate_limit_code": (1110, "the code answered over the limit (1110, or 1199)"),
        "legacy_sign": (False, "also accept the archived sign formula (projects before 2021-06-30)"),
        "single_object": (False, "answer the firmware call of single-channel devices with one object keyed 'channel' (doc example)"),
    },
)
