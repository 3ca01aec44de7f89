# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The IoT Core catalog and fleet: products, deterministic seeding, firmware and device structures."""

from __future__ import annotations

import hashlib
from typing import Any

from ..fleet import Device, Firmware, pick_offline
from ..seeding import online_since
from ..state import EmulatorState
from .base import NAME, utc


# (ProductKey, product name, module, verified releases oldest first, (SrcVersion-bound package, its SrcVersion),
#  unverified package (NeedToVerify=false), package that failed verification)
PRODUCTS = (
    ("k1nhvylA001", "smart-bulb", "wifi", ("3.0.0", "3.1.0", "3.2.0"), ("3.2.1", "3.1.0"), "3.3.0", "3.4.0"),
    ("k1nhvylB002", "smart-plug", "wifi", ("5.0.1", "5.1.0", "5.2.4"), ("5.2.5", "5.1.0"), "5.3.0", "5.4.0"),
    ("k1nhvylC003", "door-sensor", "ble", ("1.8.0", "1.9.2", "2.0.0"), ("2.0.1", "1.9.2"), "2.1.0", "2.2.0"),
)
# Old verified packages per product ("0.<n // 10>.<n % 10>"), so that the whole catalog spans several pages.
HISTORY = 40
CATALOG_EPOCH = 1704067200  # 2024-01-01T00:00:00Z
NAME_PREFIX = "iotdev"


# -- seeding -----------------------------------------------------------------------------------
def seed(state: EmulatorState, rng: Any) -> None:
    """Fill the fleet with the IoT Core catalog and devices (deterministic)."""
    fleet = state.fleet
    now = state.clock()
    next_id = 101
    for product_key, product_name, module, releases, (delta, delta_src), unverified, failed in PRODUCTS:
        packages = [(f"0.{n // 10}.{n % 10}", 1, None, True) for n in range(HISTORY)]
        packages += [(version, 1, None, True) for version in releases]
        packages += [(delta, 1, delta_src, True), (unverified, 0, None, False), (failed, 3, None, True)]
        for index, (version, status, src, need_verify) in enumerate(packages):
            name = f"{product_name}-{version}"
            created = CATALOG_EPOCH + 3600 * (index + next_id)
            fleet.add_firmware(Firmware(
                platform=NAME, id=str(next_id), version=version, product=product_key, hardware_version="", family=product_key,
                released=status == 1, name=name, size=rng.randint(200_000, 4_000_000), checksum=hashlib.md5(name.encode()).hexdigest(),
                created=float(created),
                extra={"status": status, "src_version": src, "need_to_verify": need_verify, "module": module, "product_name": product_name},
            ))
            next_id += 1
    count = state.config.devices
    offline = pick_offline(rng, count, state.config.offline_ratio)
    for index in range(count):
        if index < 3 * len(PRODUCTS):
            product = PRODUCTS[index % len(PRODUCTS)]
            version = product[3][index // len(PRODUCTS)]      # oldest, middle (SrcVersion of the delta), newest release
        else:
            product = rng.choice(PRODUCTS)
            version = rng.choice(product[3])
        product_key, product_name = product[0], product[1]
        number = index + 1
        online = index not in offline
        fleet.add_device(Device(
            platform=NAME, id=f"{NAME_PREFIX}{number:05d}", name=f"{product_name}-{number:04d}", product=product_key, hardware_version="",
            family=product_key, firmware_version=version, online=online,
            online_since=online_since(rng, now, online),
            extra={"iot_id": "".join(rng.choices("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789", k=26)),
                   "device_secret": "".join(rng.choices("0123456789abcdef", k=32)), "product_name": product_name,
                   "created": now - rng.randint(30, 400) * 86400},
        ))


# -- rendering ---------------------------------------------------------------------------------
def firmware_info(firmware: Firmware, full: bool = False) -> dict[str, Any]:
    """A firmware as ListOTAFirmware / QueryOTAFirmware answer it."""
    info = {
        "destVersion": firmware.version, "firmwareDesc": f"{firmware.extra['product_name']} firmware {firmware.version}",
        "firmwareId": firmware.id, "firmwareName": firmware.name, "firmwareSign": firmware.checksum, "firmwareSize": firmware.size,
        "moduleName": firmware.extra["module"], "productKey": firmware.product, "productName": firmware.extra["product_name"],
        "signMethod": "MD5", "srcVersion": firmware.extra["src_version"] or "", "status": firmware.extra["status"], "type": 0,
        "utcCreate": utc(firmware.created), "utcModified": utc(firmware.created),
    }
    if full:
        info["firmwareUrl"] = f"https://ota.example.invalid/{firmware.product}/{firmware.name}.bin"
    return info


def device_status(state: EmulatorState, device: Device) -> str:
    """ONLINE or OFFLINE."""
    return "ONLINE" if state.fleet.status(device).online else "OFFLINE"


def simple_device(state: EmulatorState, device: Device) -> dict[str, Any]:
    """A device as QueryDeviceByStatus answers it."""
    return {"deviceName": device.id, "iotId": device.extra["iot_id"], "productKey": device.product, "nickname": device.name,
            "status": device_status(state, device), "utcCreate": utc(device.extra["created"]), "utcModified": utc(device.extra["created"])}


def device_detail(state: EmulatorState, device: Device) -> dict[str, Any]:
    """A device as QueryDeviceDetail answers it."""
    return {"deviceName": device.id, "deviceSecret": device.extra["device_secret"], "firmwareVersion": device.firmware_version,
            "iotId": device.extra["iot_id"], "nickname": device.name, "nodeType": 0, "productKey": device.product,
            "productName": device.extra["product_name"], "region": "cn-shanghai", "status": device_status(state, device),
            "utcCreate": utc(device.extra["created"]), "utcActive": utc(device.extra["created"])}
