# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Fleet seeding draws and scenario partitions shared by every vendor package.

Seeding: the first ``2 * len(models)`` devices cover every model, outdated then current; the
others draw their model and whether they run the newest release (``pick_release``). Scenarios:
the live fleet of a platform split into offline, outdated and current online devices
(``partition``); the vendor says what "the newest release" of a device is and which devices
are set aside (e.g. Tuya's devices that refuse updates).
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

from .fleet import ALWAYS_ONLINE, Device, Fleet


def pick_release(rng: random.Random, index: int, models: Sequence[Any], releases: Callable[[Any], Sequence[str]],
                 pinned: tuple[Any, bool] | None = None) -> tuple[Any, str]:
    """(model, firmware version) of device ``index``; ``pinned`` = (model, current) skips the draw."""
    if index < 2 * len(models):
        model = models[index % len(models)]
        current = index >= len(models)
    elif pinned is not None:
        model, current = pinned
    else:
        model = rng.choice(models)
        current = rng.random() < 0.5
    versions = releases(model)
    return model, versions[-1] if current else rng.choice(versions[:-1])


def online_since(rng: random.Random, now: float, online: bool) -> float | None:
    """When a seeded online device came online (10 min to 30 days ago)."""
    return now - rng.randint(600, 30 * 86400) if online else None


@dataclass
class Partition:
    """A platform's devices split for tests (ids), in seeding order; upgrading devices are in no list but ``offline``."""

    outdated: list[str] = field(default_factory=list)
    current: list[str] = field(default_factory=list)
    offline: list[str] = field(default_factory=list)
    set_aside: list[str] = field(default_factory=list)
    idle_online: list[Device] = field(default_factory=list)
    always_online: list[str] = field(default_factory=list)

    def facts(self) -> dict[str, list[str]]:
        """The scenario keys every platform answers."""
        return {
            "outdated_online_devices": self.outdated,
            "current_online_devices": self.current,
            "offline_devices": self.offline,
            "always_online_devices": self.always_online,
        }


def partition(fleet: Fleet, platform: str, newest: Callable[[Device], str], now: float,
              set_aside: Callable[[Device], bool] | None = None) -> Partition:
    """Split the live fleet: offline; upgrading (left out); set aside; idle online, current (runs ``newest``) or outdated."""
    result = Partition()
    with fleet.lock:
        devices = fleet.list_devices(platform)
        for dev in devices:
            status = fleet.status(dev, now)
            if not status.online:
                result.offline.append(dev.id)
                continue
            if dev.upgrading:
                continue
            if set_aside is not None and set_aside(dev):
                result.set_aside.append(dev.id)
                continue
            result.idle_online.append(dev)
            (result.current if dev.firmware_version == newest(dev) else result.outdated).append(dev.id)
        result.always_online = [dev.id for dev in devices[:ALWAYS_ONLINE]]
    return result
