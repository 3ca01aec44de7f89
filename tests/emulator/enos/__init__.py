# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""EnOS Connection Service OTA emulation (token service, signed ``/connect-service/v2.1`` calls) and its fleet seeding.

Faithful to the public EnOS API documentation (vendor notes part B): the token service and
its codes, the per-call SHA-256 signature, ``orgId`` on every call, the ``code``/``msg``/
``requestId``/``data``/``pagination`` envelope, ``pageSize`` at most 200, firmware, device,
OTA job and task searches with expressions. What the documentation leaves open follows the
vendor notes' assumptions (task status names, which code answers a stale timestamp or a bad
signature, job status before start); see tests/emulator/README.md.

Modules: ``base`` (codes, envelopes, store, blueprint), ``auth`` (token service, signatures,
EnOS-only faults), ``query`` (pagination, expressions), ``catalog`` (products, seeding,
structures), ``api`` (devices, firmware), ``jobs`` (OTA jobs and tasks on emulator.jobs),
``control`` (``/_emulator/enos``). Vendor state (tokens, used encryptions, jobs, EnOS-only
faults) is an ``EnosStore``, rebuilt on every reseed.
"""

from __future__ import annotations

from typing import Any

from ..seeding import partition
from ..state import EmulatorState, Platform
from . import api, auth, control, jobs  # noqa: F401  pylint: disable=unused-import  # they register their routes
from .auth import expected_encryption, expected_signature
from .base import CODES, NAME, OPTIONS, blueprint, new_store
from .catalog import INCOMPATIBLE, PRODUCTS, seed
from .query import matches, parse_expression

__all__ = ["CODES", "NAME", "PLATFORM", "PRODUCTS", "expected_encryption", "expected_signature", "matches", "parse_expression"]

blueprint.register_blueprint(control.control)


def scenarios(state: EmulatorState, now: float) -> dict[str, Any]:
    """Handy facts for tests, from the live fleet at `now` (the fleet's lock is held)."""
    fleet = state.fleet
    latest: dict[str, dict[str, Any]] = {}
    tests: dict[str, dict[str, Any]] = {}
    for fw in sorted(fleet.list_firmwares(NAME), key=lambda item: item.created):
        entry = {"version": fw.version, "firmware_id": fw.id, "enable_verification": fw.extra["enableVerification"]}
        if fw.released:
            latest[fw.product] = entry
        else:
            tests[fw.product] = entry
    split = partition(fleet, NAME, lambda dev: latest[dev.product]["version"], now)
    compatible = next((dev.id for dev in split.idle_online if dev.product == INCOMPATIBLE["product"] and dev.id in split.outdated), None)
    incompatible = next((dev.id for dev in split.idle_online if dev.product == INCOMPATIBLE["other_product"]), None)
    return {
        "incompatible": {"version": INCOMPATIBLE["version"], "firmware_id": latest[INCOMPATIBLE["product"]]["firmware_id"],
                         "product": INCOMPATIBLE["product"], "other_product": INCOMPATIBLE["other_product"],
                         "compatible_device": compatible, "incompatible_device": incompatible},
        "latest_by_product": latest,
        "test_by_product": tests,
        **split.facts(),
        "credentials": {"app_key": state.option(NAME, "app_key"), "org_id": state.option(NAME, "org_id")},
        "codes": {str(code): text for code, text in CODES.items()},
    }


PLATFORM = Platform(
    NAME, blueprint, seed, scenarios=scenarios,
    # the start-up line, never the app secret
    banner=lambda state: f"enos: app_key={state.option(NAME, 'app_key')} org_id={state.option(NAME, 'org_id')}",
    options=OPTIONS,
    new_store=new_store,
)
