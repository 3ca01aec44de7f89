# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Shared fleet model of the emulator: devices, firmware and the upgrade state machine.

Every platform module (magewell, later tuya, enos, ...) stores its devices and its
firmware catalog here, in a neutral form, and renders them in its own API format.

The upgrade state machine is computed lazily from the (injectable) clock: nothing runs
in the background. An upgrade started at ``started_at`` and lasting ``upgrade_seconds``
(``T``) goes through these phases, by elapsed fraction ``f`` of ``T``:

* ``uploading``  0.0 <= f < 0.4: the cloud uploads the file, position 0..100;
* ``installing`` 0.4 <= f < 0.8: install steps 1..4 (0.1 of ``T`` each);
* ``rebooting``  0.8 <= f < 1.0: the device is offline;
* done           f >= 1.0: ``firmware_version`` := target, phase ``idle``, result ``success``.

Behaviour ``fail``: the install fails at the end of step 2 (f = 0.6): firmware unchanged,
phase ``idle``, result ``failed``. Behaviour ``hang``: the upload reaches position 50
(f = 0.2) and stays there forever (phase ``uploading``). Behaviour ``fail_once``: the next upgrade
fails as with ``fail``, and the device's behaviour becomes ``normal`` (a retry succeeds).
"""

from __future__ import annotations

import random
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable

BEHAVIOURS = ("normal", "fail", "hang", "fail_once")

PHASE_IDLE = "idle"
PHASE_UPLOADING = "uploading"
PHASE_INSTALLING = "installing"
PHASE_REBOOTING = "rebooting"

RESULT_NONE = ""
RESULT_SUCCESS = "success"
RESULT_FAILED = "failed"

# Outcome of Fleet.start_upgrade().
START_OK = "started"
START_REPEAT = "repeat"
START_OFFLINE = "offline"

UPLOAD_END = 0.4
INSTALL_END = 0.8
STEP_FRACTION = 0.1
FAIL_AT = 0.6
HANG_POSITION = 50
HANG_AT = UPLOAD_END * HANG_POSITION / 100.0

# The first devices of every platform are always seeded online (tests pick them).
ALWAYS_ONLINE = 10


def seeded_random(seed: int, platform: str) -> random.Random:
    """The deterministic random generator of one platform for one seed."""
    return random.Random(f"fleetota:{platform}:{seed}")


def pick_offline(rng: random.Random, count: int, ratio: float, always_online: int = ALWAYS_ONLINE) -> set[int]:
    """Indices of the devices to seed offline: round(count * ratio) of them, never the first ones."""
    candidates = list(range(min(always_online, count), count))
    wanted = min(len(candidates), max(0, int(round(count * ratio))))
    return set(rng.sample(candidates, wanted))


@dataclass
class Device:
    """One device of one platform (neutral form)."""

    platform: str
    id: str
    name: str
    product: str
    hardware_version: str
    family: str
    firmware_version: str
    online: bool = True
    online_since: float | None = None
    behaviour: str = "normal"
    upgrade_count: int = 0
    # Upgrade in progress (target_firmware is None when idle).
    target_firmware: str | None = None
    target_firmware_id: str | None = None
    started_at: float | None = None
    upgrade_seconds: float = 0.0
    upgrade_behaviour: str = "normal"
    # Outcome of the last finished upgrade: "", "success" or "failed".
    last_result: str = RESULT_NONE
    finished_at: float | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def upgrading(self) -> bool:
        """True while an upgrade is in progress (not yet finalized)."""
        return self.target_firmware is not None


@dataclass
class Firmware:
    """One firmware package of one platform's catalog (neutral form)."""

    platform: str
    id: str
    version: str
    product: str
    hardware_version: str
    family: str
    released: bool
    name: str
    size: int
    checksum: str
    created: float
    extra: dict[str, Any] = field(default_factory=dict)

    def matches(self, device: Device) -> bool:
        """True if this firmware is meant for the device's family, product and hardware."""
        return (self.family, self.product, self.hardware_version) == (device.family, device.product, device.hardware_version)


@dataclass
class UpgradeStatus:
    """Point-in-time view of a device's upgrade state."""

    phase: str
    online: bool
    online_since: float | None
    upload_position: int
    step: int
    last_result: str
    target_firmware: str | None


def compute_phase(device: Device, now: float) -> tuple[str, int, int]:
    """Pure computation of (phase, upload position, install step) of an upgrading device.

    Returns phase PHASE_IDLE when the upgrade is over (successfully, or failed for the
    ``fail`` behaviour); the caller finalizes it.
    """
    seconds = device.upgrade_seconds if device.upgrade_seconds > 0 else 1e-9
    fraction = max(0.0, (now - (device.started_at or now)) / seconds)
    behaviour = device.upgrade_behaviour
    if behaviour == "hang" and fraction >= HANG_AT:
        return PHASE_UPLOADING, HANG_POSITION, 0
    if fraction < UPLOAD_END:
        return PHASE_UPLOADING, min(99, int(fraction / UPLOAD_END * 100)), 0
    if behaviour == "fail" and fraction >= FAIL_AT:
        return PHASE_IDLE, 0, 0
    if fraction < INSTALL_END:
        return PHASE_INSTALLING, 100, min(4, 1 + int(round((fraction - UPLOAD_END) / STEP_FRACTION, 9)))
    if fraction < 1.0:
        return PHASE_REBOOTING, 100, 0
    return PHASE_IDLE, 0, 0


class Fleet:
    """Thread-safe store of every platform's devices and firmware (one lock)."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self.lock = threading.RLock()
        self.clock = clock
        self.devices: dict[str, dict[str, Device]] = {}
        self.firmwares: dict[str, dict[str, Firmware]] = {}

    # -- content -------------------------------------------------------------------
    def clear(self, platform: str | None = None) -> None:
        """Forget all devices and firmware (of one platform, or of all)."""
        with self.lock:
            if platform is None:
                self.devices.clear()
                self.firmwares.clear()
            else:
                self.devices.pop(platform, None)
                self.firmwares.pop(platform, None)

    def add_device(self, device: Device) -> Device:
        """Add (or replace) a device."""
        with self.lock:
            self.devices.setdefault(device.platform, {})[device.id] = device
        return device

    def add_firmware(self, firmware: Firmware) -> Firmware:
        """Add (or replace) a firmware package."""
        with self.lock:
            self.firmwares.setdefault(firmware.platform, {})[firmware.id] = firmware
        return firmware

    def platforms(self) -> list[str]:
        """Names of the platforms that have devices or firmware."""
        with self.lock:
            return sorted(set(self.devices) | set(self.firmwares))

    def device(self, platform: str, device_id: str) -> Device | None:
        """One device or None."""
        with self.lock:
            return self.devices.get(platform, {}).get(device_id)

    def list_devices(self, platform: str) -> list[Device]:
        """All devices of a platform, in seeding order."""
        with self.lock:
            return list(self.devices.get(platform, {}).values())

    def firmware(self, platform: str, firmware_id: str) -> Firmware | None:
        """One firmware package or None."""
        with self.lock:
            return self.firmwares.get(platform, {}).get(firmware_id)

    def list_firmwares(self, platform: str) -> list[Firmware]:
        """The firmware catalog of a platform, in creation order."""
        with self.lock:
            return list(self.firmwares.get(platform, {}).values())

    # -- upgrade state machine -----------------------------------------------------
    def status(self, device: Device, now: float | None = None) -> UpgradeStatus:
        """Bring the device's upgrade state up to date and return a view of it."""
        with self.lock:
            if now is None:
                now = self.clock()
            phase, position, step = PHASE_IDLE, 0, 0
            if device.upgrading:
                phase, position, step = compute_phase(device, now)
                if phase == PHASE_IDLE:
                    self._finalize(device)
            online = device.online and phase != PHASE_REBOOTING
            return UpgradeStatus(
                phase=phase,
                online=online,
                online_since=device.online_since if online else None,
                upload_position=position,
                step=step,
                last_result=device.last_result,
                target_firmware=device.target_firmware,
            )

    @staticmethod
    def _finalize(device: Device) -> None:
        started = device.started_at or 0.0
        if device.upgrade_behaviour == "fail":
            device.last_result = RESULT_FAILED
            device.finished_at = started + FAIL_AT * device.upgrade_seconds
        else:
            device.last_result = RESULT_SUCCESS
            device.finished_at = started + device.upgrade_seconds
            device.firmware_version = device.target_firmware or device.firmware_version
            if device.online:
                device.online_since = device.finished_at
        device.target_firmware = None
        device.target_firmware_id = None
        device.started_at = None

    def start_upgrade(self, device: Device, firmware: Firmware, upgrade_seconds: float, at: float | None = None) -> str:
        """Start upgrading a device: START_OK, START_REPEAT (already upgrading) or START_OFFLINE.

        Compatibility (family/product/hardware) is the caller's business. ``at``: when it started (default now;
        a vendor's retry that came due in the past of an advanced emulated clock started then).
        """
        with self.lock:
            now = self.clock() if at is None else at
            current = self.status(device, now)
            if device.upgrading:
                return START_REPEAT
            if not current.online:
                return START_OFFLINE
            device.target_firmware = firmware.version
            device.target_firmware_id = firmware.id
            device.started_at = now
            device.upgrade_seconds = float(upgrade_seconds)
            device.upgrade_behaviour = "fail" if device.behaviour == "fail_once" else device.behaviour
            if device.behaviour == "fail_once":
                device.behaviour = "normal"
            device.upgrade_count += 1
            device.last_result = RESULT_NONE
            device.finished_at = None
            return START_OK

    def cancel_upgrade(self, device: Device) -> None:
        """Drop an upgrade in progress (firmware unchanged, no result)."""
        with self.lock:
            device.target_firmware = None
            device.target_firmware_id = None
            device.started_at = None

    def set_online(self, device: Device, online: bool) -> None:
        """Force a device online or offline."""
        with self.lock:
            if online and not device.online:
                device.online_since = self.clock()
            elif not online:
                device.online_since = None
            device.online = online

    # -- neutral views -------------------------------------------------------------
    def neutral_device(self, device: Device, now: float | None = None) -> dict[str, Any]:
        """Platform-independent JSON view of a device (control API)."""
        with self.lock:
            state = self.status(device, now)
            return {
                "platform": device.platform,
                "id": device.id,
                "name": device.name,
                "product": device.product,
                "hardware_version": device.hardware_version,
                "family": device.family,
                "firmware_version": device.firmware_version,
                "online": state.online,
                "upgrading": device.upgrading,
                "phase": state.phase,
                "behaviour": device.behaviour,
                "upgrade_count": device.upgrade_count,
                "target_firmware": state.target_firmware,
                "upload_position": state.upload_position,
                "step": state.step,
                "last_result": state.last_result,
            }

    def neutral_devices(self, platforms: Iterable[str]) -> list[dict[str, Any]]:
        """Neutral views of every device of the given platforms."""
        with self.lock:
            now = self.clock()
            return [self.neutral_device(dev, now) for name in platforms for dev in self.devices.get(name, {}).values()]

    @staticmethod
    def neutral_firmware(firmware: Firmware) -> dict[str, Any]:
        """Platform-independent JSON view of a firmware package (control API)."""
        return {
            "platform": firmware.platform,
            "id": firmware.id,
            "version": firmware.version,
            "product": firmware.product,
            "hardware_version": firmware.hardware_version,
            "family": firmware.family,
            "released": firmware.released,
            "name": firmware.name,
            "size": firmware.size,
            "checksum": firmware.checksum,
            "created": firmware.created,
        }
