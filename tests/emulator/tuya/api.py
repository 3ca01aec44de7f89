# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Tuya device and firmware calls: device list and batch, per-channel firmware, start, progress."""

from __future__ import annotations

from typing import Any

from flask import Response, request

from ..fleet import PHASE_IDLE, RESULT_FAILED, RESULT_SUCCESS, START_OFFLINE, START_OK, Device
from ..state import EmulatorState, get_state
from .base import (
    BATCH_MAX, DEVICE_LIST_MAX, NAME, ST_DONE, ST_FAILED, ST_NONE, ST_READY, ST_TIMEOUT, ST_UPGRADING, blueprint, fail, latest, newer, ok, opt,
)


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
    newest = latest(state, device.product)
    current = device.firmware_version
    offered = newest.version if newest is not None and newer(newest.version, current) else None
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
    if offered and newest is not None:
        main.update({"md5": newest.checksum, "file_size": str(newest.size), "firmware_deploy_time": int(newest.created * 1000)})
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
    if opt(state, "single_object", bool) and len(items) == 1:
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
        target = latest(state, device.product)
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
