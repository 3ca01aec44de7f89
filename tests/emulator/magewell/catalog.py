# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The Magewell catalog and fleet: deterministic seeding, device and firmware objects."""

from __future__ import annotations

from typing import Any

from ..fleet import PHASE_INSTALLING, PHASE_UPLOADING, RESULT_FAILED, Device, Firmware, pick_offline
from ..seeding import online_since, pick_release
from ..state import EmulatorState
from .base import (
    CATALOG_EPOCH, FAMILIES, FIRMWARE_TYPE_RELEASED, FIRMWARE_TYPE_TEST, INSTALL_FAILED, MODELS, NAME, SN_PREFIX, md5_hex,
)


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
        model, version = pick_release(rng, index, MODELS, lambda item: item[4])
        family, product, product_name, hardware, _releases, _test = model
        online = index not in offline
        number = index + 1
        fleet.add_device(Device(
            platform=NAME, id=f"{SN_PREFIX}{number:05d}", name=f"encoder-{number:04d}", product=str(product),
            hardware_version=hardware, family=str(family), firmware_version=version, online=online,
            online_since=online_since(rng, now, online),
            extra={"product-name": product_name, "apply-date": int(now) - rng.randint(30, 400) * 86400,
                   "eth": f"10.{20 + (number >> 16)}.{(number >> 8) & 255}.{number & 255}"},
        ))


# -- rendering -------------------------------------------------------------------------
def device_object(state: EmulatorState, device: Device, now: float) -> dict[str, Any]:
    """A device as get-devs / get-dev answer it."""
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


def firmware_object(firmware: Firmware) -> dict[str, Any]:
    """A firmware as get-all-firmwares answers it."""
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
