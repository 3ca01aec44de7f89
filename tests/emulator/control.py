# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The ``/_emulator/...`` control API (no authentication, JSON in and out)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, request

from .faults import FaultRuleError
from .fleet import BEHAVIOURS
from .state import EmulatorState, get_state, json_response

PREFIX = "/_emulator"
DEFAULT_LOG_LIMIT = 100

blueprint = Blueprint("emulator_control", __name__, url_prefix=PREFIX)


class ControlError(Exception):
    """A control API request is wrong (HTTP 400 or 404)."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


@blueprint.errorhandler(ControlError)
def _control_error(error: ControlError) -> Response:
    return json_response({"error": error.message}, status=error.status)


def _body() -> dict[str, Any]:
    if not request.get_data():
        return {}
    body = request.get_json(silent=True, force=True)
    if not isinstance(body, dict):
        raise ControlError("the body must be a JSON object")
    return body


def _platforms(state: EmulatorState, required: bool = False) -> list[str]:
    name = request.args.get("platform")
    if not name:
        if required:
            raise ControlError(f"platform is required, one of {sorted(state.platforms)}")
        return sorted(state.platforms)
    return [_platform(state, name)]


def _platform(state: EmulatorState, name: str) -> str:
    if name not in state.platforms:
        raise ControlError(f"unknown platform {name!r}, one of {sorted(state.platforms)}", 404)
    return name


def _number(body: dict[str, Any], key: str, minimum: float) -> float | None:
    value = body.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value < minimum:
        raise ControlError(f"{key} must be a number >= {minimum}")
    return float(value)


@blueprint.get("/health")
def health() -> Response:
    """Liveness probe."""
    return json_response({"ok": True})


@blueprint.get("/stats")
def stats() -> Response:
    """Request counters of the vendor APIs."""
    return json_response(get_state().stats.snapshot())


@blueprint.post("/stats/reset")
def stats_reset() -> Response:
    """Zero the counters and clear the request log."""
    get_state().stats.reset()
    return json_response({"ok": True})


@blueprint.get("/log")
def log() -> Response:
    """Recent vendor-API requests (method, path, query, status, time; never bodies)."""
    try:
        limit = int(request.args.get("limit", DEFAULT_LOG_LIMIT))
    except ValueError as exc:
        raise ControlError("limit must be an integer") from exc
    return json_response(get_state().stats.recent(limit))


@blueprint.route("/faults", methods=["GET", "POST", "DELETE"])
def faults() -> Response:
    """Read (GET), replace (POST {"rules": [...], "append": false}) or clear (DELETE) the fault rules."""
    state = get_state()
    if request.method == "POST":
        body = _body()
        try:
            state.faults.replace(body.get("rules", []), append=bool(body.get("append", False)))
        except FaultRuleError as exc:
            raise ControlError(str(exc)) from exc
    elif request.method == "DELETE":
        state.faults.clear()
    return json_response({"rules": state.faults.rules()})


@blueprint.post("/sessions/expire")
def sessions_expire() -> Response:
    """Expire every session now (optionally ?platform=...)."""
    state = get_state()
    name = request.args.get("platform")
    expired = state.sessions.expire_all(_platform(state, name) if name else None)
    return json_response({"expired": expired})


@blueprint.get("/devices")
def devices() -> Response:
    """Every device (of ?platform=...) in neutral form (the vendors' jobs are brought up to date first)."""
    state = get_state()
    state.refresh_jobs()
    return json_response(state.fleet.neutral_devices(_platforms(state)))


@blueprint.get("/devices/<platform>/<device_id>")
def device(platform: str, device_id: str) -> Response:
    """One device in neutral form (the vendors' jobs are brought up to date first)."""
    state = get_state()
    state.refresh_jobs()
    found = state.fleet.device(_platform(state, platform), device_id)
    if found is None:
        raise ControlError(f"unknown device {platform}/{device_id}", 404)
    return json_response(state.fleet.neutral_device(found))


@blueprint.post("/devices/<platform>")
def devices_update(platform: str) -> Response:
    """Set devices' state: {"ids": [...], "behaviour": ..., "online": ..., "firmware_version": ..., "name": ..., "cancel_upgrade": true}."""
    state = get_state()
    fleet = state.fleet
    _platform(state, platform)
    body = _body()
    ids = body.get("ids")
    if not isinstance(ids, list) or not ids or not all(isinstance(item, str) for item in ids):
        raise ControlError("ids must be a non-empty list of device ids")
    unknown_keys = set(body) - {"ids", "behaviour", "online", "firmware_version", "name", "cancel_upgrade"}
    if unknown_keys:
        raise ControlError(f"unknown keys: {sorted(unknown_keys)}")
    behaviour = body.get("behaviour")
    if behaviour is not None and behaviour not in BEHAVIOURS:
        raise ControlError(f"behaviour must be one of {list(BEHAVIOURS)}")
    online = body.get("online")
    if online is not None and not isinstance(online, bool):
        raise ControlError("online must be a boolean")
    version = body.get("firmware_version")
    if version is not None and (not isinstance(version, str) or not version):
        raise ControlError("firmware_version must be a non-empty string")
    name = body.get("name")
    if name is not None and (not isinstance(name, str) or not name):
        raise ControlError("name must be a non-empty string")
    with fleet.lock:
        targets = [fleet.device(platform, item) for item in ids]
        missing = [item for item, found in zip(ids, targets) if found is None]
        if missing:
            raise ControlError(f"unknown devices: {missing}", 404)
        for target in targets:
            if body.get("cancel_upgrade"):
                fleet.cancel_upgrade(target)
            if behaviour is not None:
                target.behaviour = behaviour
            if online is not None:
                fleet.set_online(target, online)
            if version is not None:
                target.firmware_version = version
            if name is not None:
                target.name = name
        return json_response({"updated": [fleet.neutral_device(target) for target in targets]})


@blueprint.get("/firmwares")
def firmwares() -> Response:
    """The firmware catalogs (of ?platform=...) in neutral form."""
    state = get_state()
    return json_response([state.fleet.neutral_firmware(fw) for name in _platforms(state) for fw in state.fleet.list_firmwares(name)])


@blueprint.get("/scenarios")
def scenarios() -> Response:
    """Handy facts for tests: of ?platform=..., or of every platform keyed by name."""
    state = get_state()
    name = request.args.get("platform")
    if name:
        return json_response(state.platforms[_platform(state, name)].facts(state))
    return json_response({key: platform.facts(state) for key, platform in sorted(state.platforms.items())})


@blueprint.route("/config", methods=["GET", "POST"])
def config() -> Response:
    """Read or change {"upgrade_seconds": ..., "session_ttl": ...}."""
    state = get_state()
    if request.method == "POST":
        body = _body()
        unknown = set(body) - {"upgrade_seconds", "session_ttl"}
        if unknown:
            raise ControlError(f"unknown keys: {sorted(unknown)} (changeable: upgrade_seconds, session_ttl)")
        upgrade_seconds = _number(body, "upgrade_seconds", 0.0)
        session_ttl = _number(body, "session_ttl", 0.0)
        if upgrade_seconds is not None:
            state.config.upgrade_seconds = upgrade_seconds
        if session_ttl is not None:
            state.config.session_ttl = session_ttl
    cfg = state.config
    return json_response({"devices": cfg.devices, "seed": cfg.seed, "upgrade_seconds": cfg.upgrade_seconds,
                          "session_ttl": cfg.session_ttl, "offline_ratio": cfg.offline_ratio})


@blueprint.route("/clock", methods=["GET", "POST"])
def clock() -> Response:
    """Read or advance the emulated time: POST {"advance": seconds} moves devices and jobs forward.

    Upgrades, queued tasks, task timeouts and retry intervals follow the emulated time; signature timestamps, nonces,
    tokens and sessions keep the wall clock (a client signing with real time is still accepted). Reset clears it.
    """
    state = get_state()
    if request.method == "POST":
        body = _body()
        unknown = set(body) - {"advance"}
        if unknown:
            raise ControlError(f"unknown keys: {sorted(unknown)} (POST {{\"advance\": seconds}})")
        seconds = _number(body, "advance", 0.0)
        if seconds is None:
            raise ControlError("advance is required: the seconds to move the emulated time forward, a number >= 0")
        state.advance(seconds)
        state.refresh_jobs()
    return json_response({"offset": state.clock_offset, "now": state.clock(), "wall": state.wall_clock()})


@blueprint.post("/reset")
def reset() -> Response:
    """Restore the seeded fleet and the start-up configuration; clear faults, counters, sessions.

    Optional body {"devices": N, "seed": S, "offline_ratio": R} re-seeds with another size, seed or ratio
    (they then become the values later resets restore).
    """
    state = get_state()
    body = _body()
    unknown = set(body) - {"devices", "seed", "offline_ratio"}
    if unknown:
        raise ControlError(f"unknown keys: {sorted(unknown)}")
    for key in ("devices", "seed"):
        value = body.get(key)
        if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 0):
            raise ControlError(f"{key} must be a non-negative integer")
    ratio = _number(body, "offline_ratio", 0.0)
    if ratio is not None and ratio > 1:
        raise ControlError("offline_ratio must be between 0 and 1")
    state.reset(devices=body.get("devices"), seed=body.get("seed"), offline_ratio=ratio)
    cfg = state.config
    return json_response({"ok": True, "devices": cfg.devices, "seed": cfg.seed, "offline_ratio": cfg.offline_ratio})


@blueprint.post("/shutdown")
def shutdown() -> Response:
    """Stop the server (shortly after answering)."""
    hook = get_state().shutdown_hook
    if hook is None:
        raise ControlError("shutdown is not available", 409)
    hook()
    return json_response({"ok": True})
