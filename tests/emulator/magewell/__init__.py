# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Magewell Control Cloud (``/sc_cloud``) emulation and its fleet seeding.

Faithful to the public Magewell Cloud API documentation (field names included, such as
``marjor-ver``); what the documentation leaves open follows the project's vendor notes
(result-code table, session expiry, upgrade progress fields).

Modules: ``base`` (codes, users, envelope, blueprint), ``catalog`` (models, seeding, objects),
``api`` (sessions and endpoints).
"""

from __future__ import annotations

from typing import Any

from ..seeding import partition
from ..state import EmulatorState, Platform
from . import api  # noqa: F401  pylint: disable=unused-import  # registers the endpoints
from .base import INCOMPATIBLE, MODELS, NAME, OPTIONS, RESULT_CODES, VIEWER_USER, blueprint, md5_hex
from .catalog import seed

__all__ = ["MODELS", "NAME", "PLATFORM", "RESULT_CODES", "md5_hex"]


def scenarios(state: EmulatorState, now: float) -> dict[str, Any]:
    """Handy facts for tests, from the live fleet at `now` (the fleet's lock is held)."""
    fleet = state.fleet
    latest: dict[str, dict[str, Any]] = {}
    tests: dict[str, dict[str, Any]] = {}
    for fw in fleet.list_firmwares(NAME):
        key = f"{fw.product}/{fw.hardware_version}"
        entry = {"version": fw.version, "firmware_id": int(fw.id), "module": int(fw.family)}
        if fw.released:
            latest[key] = entry
        else:
            tests[key] = entry
    split = partition(fleet, NAME, lambda dev: latest[f"{dev.product}/{dev.hardware_version}"]["version"], now)
    compatible = next((dev.id for dev in split.idle_online if (dev.product, dev.hardware_version)
                       == (INCOMPATIBLE["product"], INCOMPATIBLE["compatible_hardware"])), None)
    incompatible = next((dev.id for dev in split.idle_online if (dev.product, dev.hardware_version)
                         == (INCOMPATIBLE["product"], INCOMPATIBLE["incompatible_hardware"])), None)
    target = latest[f"{INCOMPATIBLE['product']}/{INCOMPATIBLE['compatible_hardware']}"]
    return {
        "incompatible": {
            "version": INCOMPATIBLE["version"], "firmware_id": target["firmware_id"],
            "product": int(INCOMPATIBLE["product"]), "module": target["module"],
            "compatible_hardware": INCOMPATIBLE["compatible_hardware"],
            "incompatible_hardware": INCOMPATIBLE["incompatible_hardware"],
            "compatible_device": compatible, "incompatible_device": incompatible,
        },
        "latest_by_product": latest,
        "test_by_product": tests,
        **split.facts(),
        "users": {"admin": state.option(NAME, "user"), "viewer": VIEWER_USER},
        "result_codes": {str(code): text for code, text in RESULT_CODES.items()},
    }


PLATFORM = Platform(
    NAME, blueprint, seed, scenarios=scenarios,
    # the start-up line, never the passwords
    banner=lambda state: f"magewell: user={state.option(NAME, 'user')} (admin), {VIEWER_USER} (read-only)",
    options=OPTIONS,
)
