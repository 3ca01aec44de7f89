# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The EnOS control API (``/_emulator/enos``: not counted, never faulted): jobs, tokens, token_ttl, EnOS-only faults, firmware."""

from __future__ import annotations

from typing import Any

from flask import Response, request

from ..state import get_state, json_response
from .auth import token_valid
from .base import NAME, control, store
from .catalog import firmware_struct
from .jobs import job_status, refresh, task_view


def _control_body() -> dict[str, Any]:
    body = request.get_json(silent=True, force=True) if request.get_data() else {}
    return body if isinstance(body, dict) else {}


@control.get("/jobs")
def control_jobs() -> Response:
    """Every job with its task counts by status and its pushes per device: [{jobId, ..., tasks: {status: n}, attempts: {key: n}}]."""
    state = get_state()
    book = store(state).book
    with state.fleet.lock, book.lock:
        now = state.clock()
        result = []
        for job in book.jobs.values():
            counts: dict[str, int] = {}
            attempts: dict[str, int] = {}
            for task in job.tasks:
                refresh(state, job, task, now)
                status = task_view(task)[0]
                counts[status] = counts.get(status, 0) + 1
                attempts[task.device_id] = task.attempts
            result.append({"jobId": job.id, "firmwareId": job.firmware_id, "status": job_status(job), "devices": len(job.device_ids),
                           "deviceKeys": list(job.device_ids), "upgradeTimeout": job.timeout,
                           "retryPolicy": job.extra["spec"].get("retryPolicy"),
                           "name": (job.extra["spec"].get("name") or {}).get("defaultValue"), "tasks": counts, "attempts": attempts})
    return json_response(result)


@control.get("/jobs/deleted")
def control_jobs_deleted() -> Response:
    """Ids of the jobs deleted through the API (action=delete), oldest first."""
    state = get_state()
    book = store(state).book
    with book.lock:
        return json_response(list(book.deleted))


@control.get("/tokens")
def control_tokens() -> Response:
    """The live access tokens (tests check that none leaks into Ansible output)."""
    state = get_state()
    enos = store(state)
    with enos.lock:
        return json_response([token for token in enos.tokens if token_valid(state, token)])


@control.route("/config", methods=["GET", "POST"])
def control_config() -> Response:
    """Read or change {"token_ttl": seconds} (applies to tokens issued afterwards)."""
    state = get_state()
    enos = store(state)
    body = _control_body() if request.method == "POST" else {}
    if "token_ttl" in body:
        value = body["token_ttl"]
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
            return json_response({"error": "token_ttl must be a positive number"}, status=400)
        enos.token_ttl = float(value)
    return json_response({"token_ttl": enos.token_ttl})


@control.route("/faults", methods=["GET", "POST", "DELETE"])
def control_faults() -> Response:
    """EnOS-only faults: {"rules": [{"resource": "ota-jobs", "action": "create", "when": "after" | "before", "times": 1}]}.

    ``after``: the call is processed, then the connection is dropped (the client cannot know it worked);
    ``garbled``: the call is processed, then answered HTTP 200 with a truncated JSON body;
    ``before``: dropped unprocessed, or, with ``"code": 99500`` (any integer), answered with that business code
    unprocessed. Matched on the path (substring) and the ``action`` query parameter.
    """
    state = get_state()
    enos = store(state)
    if request.method == "POST":
        rules = _control_body().get("rules")
        if not isinstance(rules, list):
            return json_response({"error": "rules must be a list"}, status=400)
        parsed = []
        for rule in rules:
            if (not isinstance(rule, dict) or rule.get("when", "after") not in ("after", "before", "garbled")
                    or not isinstance(rule.get("action"), str) or not isinstance(rule.get("resource", ""), str)):
                return json_response({"error": "a rule is {resource, action, when: after|before|garbled, times}"}, status=400)
            times = rule.get("times", 1)
            if isinstance(times, bool) or not isinstance(times, int) or times < 1:
                return json_response({"error": "times must be a positive integer"}, status=400)
            code = rule.get("code")
            if code is not None and (isinstance(code, bool) or not isinstance(code, int) or rule.get("when", "after") != "before"):
                return json_response({"error": "code must be an integer, with when: before"}, status=400)
            parsed.append({"resource": rule.get("resource", ""), "action": rule["action"], "when": rule.get("when", "after"), "times": times,
                           "code": code})
        with enos.lock:
            enos.faults = parsed
    elif request.method == "DELETE":
        with enos.lock:
            enos.faults = []
    with enos.lock:
        return json_response({"rules": [dict(rule) for rule in enos.faults]})


@control.post("/firmwares/<firmware_id>")
def control_firmware(firmware_id: str) -> Response:
    """Set {"isVerified": bool, "enableVerification": bool} of a firmware."""
    state = get_state()
    firmware = state.fleet.firmware(NAME, firmware_id)
    if firmware is None:
        return json_response({"error": f"unknown firmware {firmware_id}"}, status=404)
    body = _control_body()
    for key in ("isVerified", "enableVerification"):
        if isinstance(body.get(key), bool):
            firmware.extra[key] = body[key]
    firmware.released = firmware.extra["isVerified"]
    return json_response(firmware_struct(state, firmware))


@control.delete("/firmwares/<firmware_id>")
def control_firmware_delete(firmware_id: str) -> Response:
    """Delete a firmware from the catalog (to test 24404)."""
    state = get_state()
    with state.fleet.lock:
        removed = state.fleet.firmwares.get(NAME, {}).pop(firmware_id, None)
    if removed is None:
        return json_response({"error": f"unknown firmware {firmware_id}"}, status=404)
    return json_response({"deleted": firmware_id})
