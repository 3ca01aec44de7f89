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
with its own version and nothing offered.

Modules: ``base`` (codes, store, envelopes, blueprint), ``auth`` (request checks, tokens),
``api`` (devices, firmware).
"""


from __future__ import annotations

import hashlib
from typing import Any

from ..fleet import Device, Firmware, pick_offline
from ..seeding import online_since, partition, pick_release
from ..state import EmulatorState, Platform
from . import api, auth  # noqa: F401  pylint: disable=unused-import  # they register their routes
from .base import BLOCKED_INDEX, BLOCKED_REMIND, CATALOG_EPOCH_MS, CODES, MCU_CHANNEL, NAME, OPTIONS, PRODUCTS, blueprint, latest, new_store, opt, tuya_state

__all__ = ["CODES", "NAME", "PLATFORM", "PRODUCTS"]


# -- seeding ---------------------------------------------------------------------------
def seed(state: EmulatorState, rng: Any) -> None:
    """Fill the fleet with Tuya devices (deterministic)."""
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
        model, version = pick_release(rng, index, PRODUCTS, lambda item: item[3], pinned=(PRODUCTS[0], False) if index == BLOCKED_INDEX else None)
        product, name, category, _releases, mcu = model
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
            online_since=online_since(rng, now, online), extra=extra,
        ))


def scenarios(state: EmulatorState, now: float) -> dict[str, Any]:
    """Handy facts for tests, from the live fleet at `now` (the fleet's lock is held)."""
    fleet = state.fleet
    newest = {product: latest(state, product).version for product, *_rest in PRODUCTS}
    split = partition(fleet, NAME, lambda dev: newest[dev.product], now,
                      set_aside=lambda dev: not dev.extra.get("can_upgrade", True))
    return {
        "latest_by_product": newest,
        "older_by_product": {product: list(releases[:-1]) for product, _n, _c, releases, _m in PRODUCTS},
        **split.facts(),
        "blocked_devices": split.set_aside,
        "blocked_remind": BLOCKED_REMIND,
        "mcu_devices": [dev.id for dev in split.idle_online if dev.extra.get("channels")],
        "mcu_channel": MCU_CHANNEL,
        "client_id": opt(state, "client_id", str),
        "rate_limited": tuya_state(state).rate_limited,
        "sign_refused": tuya_state(state).sign_refused,
        "live_tokens": len(tuya_state(state).tokens),
        "codes": {str(code): text for code, text in CODES.items()},
    }


PLATFORM = Platform(
    NAME, blueprint, seed, scenarios=scenarios,
    # the start-up line, never the secret
    banner=lambda state: (f"tuya: client_id={opt(state, 'client_id', str)}, rate {opt(state, 'rate_limit', float):g}/s reads, "
                          f"{opt(state, 'write_rate_limit', float):g}/s starts per API"),
    new_store=new_store,
    options=OPTIONS,
)
