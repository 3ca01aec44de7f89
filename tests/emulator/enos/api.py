# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""EnOS device and firmware calls (``/connect-service/v2.1/devices``, ``/ota-firmwares``)."""

from __future__ import annotations

from flask import Response, request

from ..state import EmulatorState
from .auth import signed
from .base import API_PREFIX, INVALID_ARGUMENT, NAME, OTA_NOT_FOUND, EnosError, blueprint, json_body, org, reply
from .catalog import device_struct, firmware_struct
from .jobs import refresh_all
from .query import matches, page, paged, parse_expression, project

# -- devices ---------------------------------------------------------------------------
DEVICE_FIELDS = {"productKey": ("=", "in"), "deviceKey": ("=", "in"), "assetId": ("=", "in"), "firmwareVersion": ("=", "in"),
                 "status": ("=", "in"), "productType": ("=",), "modelId": ("=", "in")}


@blueprint.post(API_PREFIX + "/devices")
@signed
def devices(state: EmulatorState, action: str) -> Response:
    """POST /connect-service/v2.1/devices?action=search {expression?, pagination?, projection?}."""
    if action != "search":
        raise EnosError(INVALID_ARGUMENT, f"Invalid Argument action:{action} is not supported")
    body = json_body()
    page_no, page_size = page(body, sorters_allowed=True)
    terms = parse_expression(body.get("expression"), DEVICE_FIELDS)
    fleet = state.fleet
    with fleet.lock:
        now = state.clock()
        refresh_all(state, now)
        items = [device_struct(state, dev, now) for dev in fleet.list_devices(NAME)]
    selected = [project(item, body.get("projection")) for item in items if matches(item, terms)]
    return paged(selected, page_no, page_size)


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
        return reply(firmware_struct(state, firmware))
    if request.method == "GET" and action == "listVersion":
        product = request.args.get("productKey")
        if not product:
            raise EnosError(INVALID_ARGUMENT, "Invalid Argument productKey:productKey is missing")
        return reply(sorted(set(dev.firmware_version for dev in fleet.list_devices(NAME) if dev.product == product)))
    if request.method == "POST" and action == "search":
        body = json_body()
        page_no, page_size = page(body, sorters_allowed=False)
        terms = parse_expression(body.get("expression"), FIRMWARE_FIELDS)
        items = [firmware_struct(state, fw) for fw in fleet.list_firmwares(NAME)]
        items.sort(key=lambda item: item["createTime"], reverse=True)   # documented: createTime desc
        return paged([item for item in items if matches(item, terms)], page_no, page_size)
    if request.method == "POST" and action == "searchDeviceUpgrade":
        body = json_body()
        page_no, page_size = page(body, sorters_allowed=False)
        terms = parse_expression(body.get("expression"), DEVICE_UPGRADE_FIELDS)
        with fleet.lock:
            now = state.clock()
            refresh_all(state, now)
            items = []
            for dev in fleet.list_devices(NAME):
                fleet.status(dev, now)
                items.append({"orgId": org(state), "assetId": dev.extra["assetId"], "productKey": dev.product, "deviceKey": dev.id,
                              "firmwareVersion": dev.firmware_version, "isUpgrading": dev.upgrading})
        return paged([item for item in items if matches(item, terms)], page_no, page_size)
    raise EnosError(INVALID_ARGUMENT, f"Invalid Argument action:{action} is not supported with {request.method}")
