# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The EnOS catalog and fleet: products, deterministic seeding, device and firmware structures."""

from __future__ import annotations

import hashlib
import secrets
from typing import Any

from ..fleet import Device, Firmware, pick_offline
from ..seeding import online_since, pick_release
from ..state import EmulatorState
from .base import NAME, i18n, org


# (productKey, product name, device name prefix, released versions oldest first, (test version, enableVerification))
PRODUCTS = (
    ("BXwU4kMk", "Solar Inverter S3", "inverter", ("2.0.1", "2.1.0", "2.2.4"), ("2.3.0", False)),
    ("Ht7cQ2Lp", "Turbine Controller T9", "turbine", ("4.1.0", "4.2.3", "4.3.0"), ("4.4.0", True)),
    ("Zm3RkE9s", "Battery BMS B2", "bms", ("1.0.8", "1.1.2"), ("1.2.0", False)),
)
# 2.2.4 exists for the inverter only: asking a BMS for it is the "incompatible" scenario.
INCOMPATIBLE = {"version": "2.2.4", "product": "BXwU4kMk", "other_product": "Zm3RkE9s"}
DEVICE_PREFIX = "DK"
ASSET_PREFIX = "As"
CATALOG_EPOCH_MS = 1_590_746_442_378


# -- seeding ---------------------------------------------------------------------------
def seed(state: EmulatorState, rng: Any) -> None:
    """Fill the fleet with the EnOS firmware catalog and devices (deterministic)."""
    fleet = state.fleet
    now = state.clock()
    number = 1
    for product_key, product_name, _prefix, releases, (test, needs_verification) in PRODUCTS:
        for index, version in enumerate(releases + (test,)):
            released = index < len(releases)
            firmware_id = f"fw{product_key[:4].lower()}{number:04d}"
            name = f"{product_name} {version}"
            fleet.add_firmware(Firmware(
                platform=NAME, id=firmware_id, version=version, product=product_key, hardware_version="", family=product_key,
                released=released, name=name, size=rng.randint(2, 30) * 1048576 + rng.randint(0, 1048575),
                checksum=hashlib.md5(name.encode("utf-8")).hexdigest(), created=(CATALOG_EPOCH_MS + 86_400_000 * 20 * number) / 1000.0,
                extra={"enableVerification": needs_verification if not released else True, "isVerified": released},
            ))
            number += 1
    count = state.config.devices
    offline = pick_offline(rng, count, state.config.offline_ratio)
    for index in range(count):
        product, version = pick_release(rng, index, PRODUCTS, lambda model: model[3])
        product_key, product_name, prefix, _releases, _test = product
        online = index not in offline
        fleet.add_device(Device(
            platform=NAME, id=f"{DEVICE_PREFIX}{index + 1:05d}", name=f"{prefix}-{index + 1:04d}", product=product_key,
            hardware_version="", family=product_key, firmware_version=version, online=online,
            online_since=online_since(rng, now, online),
            extra={"assetId": f"{ASSET_PREFIX}{index + 1:06d}{product_key[:2]}", "productName": product_name,
                   "deviceSecret": secrets.token_hex(10), "createTime": int((now - rng.randint(30, 400) * 86400) * 1000)},
        ))


# -- rendering -------------------------------------------------------------------------
def device_struct(state: EmulatorState, device: Device, now: float) -> dict[str, Any]:
    """A device as devices?action=search answers it."""
    status = state.fleet.status(device, now)
    return {
        "orgId": org(state), "assetId": device.extra["assetId"], "modelId": "fleetota_" + device.product, "modelIdPath": "/fleetota_" + device.product,
        "productKey": device.product, "productName": i18n(device.extra["productName"]), "productType": "Device", "dataFormat": "Json",
        "deviceKey": device.id, "deviceName": i18n(device.name), "deviceSecret": device.extra["deviceSecret"], "deviceDesc": None,
        "timezone": "+00:00", "deviceAttributes": {}, "deviceTags": {}, "firmwareVersion": device.firmware_version,
        "createTime": device.extra["createTime"], "status": "online" if status.online else "offline",
        "activeTime": device.extra["createTime"], "lastOnlineTime": int((status.online_since or 0) * 1000) or None,
        "lastOfflineTime": None,
    }


def firmware_struct(state: EmulatorState, firmware: Firmware) -> dict[str, Any]:
    """A firmware as ota-firmwares answers it."""
    return {
        "orgId": org(state), "firmwareId": firmware.id, "productKey": firmware.product, "name": i18n(firmware.name),
        "version": firmware.version, "desc": None, "signMethod": "md5", "sign": firmware.checksum,
        "fileUrl": f"enos-connect://{firmware.id}.zip", "fileSize": firmware.size, "isVerified": firmware.extra["isVerified"],
        "enableVerification": firmware.extra["enableVerification"], "createTime": int(firmware.created * 1000), "firmwareTags": {},
        "maxAllowedForVerification": 5, "minSuccessForVerified": 2,
    }
