# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Tuya IoT Core RPC API (``/?Action=...``, HMAC-SHA1) emulation and its fleet seeding.

Follows the project's vendor notes (vendors/tuya.md part B): one endpoint dispatching on
``Action``, the Alibaba-style RPC signature checked strictly (signature, AccessKeyId,
SignatureMethod, Timestamp window, single-use SignatureNonce), page-size caps, per-action
QPS limits, OTA jobs and tasks that progress on the shared job lifecycle and can fail.
What the vendor leaves open (gateway error strings, ``iot.ota.*`` codes, QPS numbers) is our
assumption, kept in the tables of ``base``.

Modules: ``base`` (constants, store, envelope, parameters), ``auth`` (signature, nonce, QPS),
``catalog`` (products, seeding, structures), ``actions`` (one function per Action).
"""

from __future__ import annotations

from typing import Any

from flask import Response

from ..seeding import partition
from ..state import EmulatorState, Platform, get_state
from .actions import ACTIONS, job_status, task_desc
from .auth import authenticate, expected_signature, parse_params, rpc_encode, throttle
from .base import NAME, OPTIONS, TASK_STATUS, RpcError, answer, blueprint, new_store, store
from .catalog import PRODUCTS, seed

__all__ = ["NAME", "PLATFORM", "PRODUCTS", "expected_signature", "rpc_encode"]


@blueprint.route("/", methods=["GET", "POST"])
def rpc() -> Response:
    """GET / (or POST / with a form body): verify the signature, then dispatch on Action."""
    state = get_state()
    try:
        try:
            params = parse_params()
        except UnicodeDecodeError:
            raise RpcError("iot.check.InvalidFormattedParameter", "Parameters must be UTF-8, percent-encoded.") from None
        authenticate(state, params)
        action = ACTIONS.get(params["Action"])
        if action is None:
            raise RpcError("InvalidApi.NotFound", f"Specified api {params['Action']} is not found.")
        throttle(state, params["Action"])
        return action(state, params)
    except RpcError as exc:
        return answer({"code": exc.code, "errorMessage": exc.message, "success": False}, status=exc.status)


def scenarios(state: EmulatorState, now: float) -> dict[str, Any]:
    """Handy facts for tests, from the live fleet at `now` (the fleet's lock is held)."""
    fleet = state.fleet
    firmwares = fleet.list_firmwares(NAME)
    latest: dict[str, dict[str, Any]] = {}
    by_status: dict[int, dict[str, dict[str, Any]]] = {0: {}, 3: {}}
    deltas: dict[str, dict[str, Any]] = {}
    for product_key, _name, _module, releases, (delta, src), _unverified, _failed in PRODUCTS:
        for fw in firmwares:
            if fw.product != product_key:
                continue
            entry = {"version": fw.version, "firmware_id": fw.id}
            if fw.version == releases[-1]:
                latest[product_key] = entry
            if fw.version == delta:
                deltas[product_key] = dict(entry, src_version=src)
            if fw.extra["status"] in by_status:
                by_status[fw.extra["status"]][product_key] = entry
    split = partition(fleet, NAME, lambda dev: latest[dev.product]["version"], now)
    book = store(state).book
    jobs = [{"id": job.id, "firmware_id": job.firmware_id, "status": job_status(state, job, now),
             "devices": [task.device_id for task in job.tasks], "timeout_minutes": job.extra["timeout_minutes"],
             "retry_count": job.extra["retry_count"], "retry_interval": job.extra["retry_interval"],
             "tasks": [{"device": task.device_id, "status": TASK_STATUS[task.status], "attempts": task.attempts,
                        "desc": task_desc(task)} for task in job.tasks]} for job in book.jobs.values()]
    first = fleet.list_devices(NAME)[:3 * len(PRODUCTS)]
    return {
        "products": [product[0] for product in PRODUCTS],
        "latest_by_product": latest,
        "delta_by_product": deltas,
        "unverified_by_product": by_status[0],
        "failed_verification_by_product": by_status[3],
        "src_version": {"product": PRODUCTS[0][0], **deltas.get(PRODUCTS[0][0], {}),
                        "fitting_device": first[len(PRODUCTS)].id if len(first) > len(PRODUCTS) else None,
                        "other_device": first[0].id if first else None},
        **split.facts(),
        "catalog_size": len(firmwares),
        "jobs": jobs,
        "access_key": state.option(NAME, "access_key"),
    }


PLATFORM = Platform(
    NAME, blueprint, seed, scenarios=scenarios,
    # the start-up line, never the secret
    banner=lambda state: f"tuya_iotcore: AccessKeyId={state.option(NAME, 'access_key')} (GET /?Action=..., HMAC-SHA1)",
    options=OPTIONS,
    new_store=new_store,
)
