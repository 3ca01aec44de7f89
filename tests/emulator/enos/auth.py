# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""EnOS token service, per-call signature checks and the EnOS-only faults applied around a signed call."""

from __future__ import annotations

import functools
import hashlib
import json
import secrets
from typing import Any, Callable

from flask import Response, request

from ..state import EmulatorState, get_state
from ..wire import dropped
from .base import (
    APP_KEY_UNKNOWN, CODES, CONTENT_TYPE, ENCRYPTION_INVALID, INVALID_ARGUMENT, NAME, NO_PERMISSION, OK, PARAMETER_EMPTY,
    PARAMETER_INVALID, REFRESH_FAILED, TIMESTAMP_WINDOW_MS, TOKEN_DUPLICATED, TOKEN_EXPIRED, TOKEN_PREFIX, EnosError, blueprint,
    now_ms, org, reply, store, token_reply,
)


def sha256_hex(text: bytes) -> str:
    """Lower-case hex SHA-256."""
    return hashlib.sha256(text).hexdigest()


def expected_encryption(app_key: str, timestamp: int, secret: str) -> str:
    """Token-service encryption, computed independently of the client's code."""
    return sha256_hex(f"{app_key}{timestamp}{secret}".encode("utf-8"))


def expected_signature(token: str, args: dict[str, str], body: bytes, timestamp: str, secret: str) -> str:
    """Per-call signature, computed independently of the client's code."""
    params = "".join(key + args[key] for key in sorted(args))
    return sha256_hex(token.encode("utf-8") + params.encode("utf-8") + body + timestamp.encode("utf-8") + secret.encode("utf-8"))


# -- tokens and signed calls -----------------------------------------------------------
def token_valid(state: EmulatorState, token: str) -> bool:
    """True while the access token lives."""
    enos = store(state)
    with enos.lock:
        expiry = enos.tokens.get(token)
    if expiry is None or state.wall_clock() >= expiry:
        return False
    # Also dead when the shared session store expired it (expire_sessions fault, /_emulator/sessions/expire, idle session_ttl).
    return state.sessions.get(NAME, token) is not None


def signed(view: Callable[..., Response]) -> Callable[..., Response]:
    """Decorator: verify token, timestamp and signature, then orgId and action; map EnosError to the envelope."""
    @functools.wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Response:
        state = get_state()
        body = request.get_data(cache=True)
        try:
            _verify(state, body)
            action = request.args.get("action")
            if not action:
                raise EnosError(INVALID_ARGUMENT, "Invalid Argument action:action is missing")
            given_org = request.args.get("orgId")
            if not given_org:
                raise EnosError(INVALID_ARGUMENT, "Invalid Argument orgId:orgId is missing")
            if given_org != org(state):
                raise EnosError(NO_PERMISSION, f"Denied resource: orgId {given_org}")
            fault = take_fault(state, "before")
            if fault is not None:
                if fault.get("code") is not None:
                    return reply(None, code=fault["code"], msg=CODES.get(fault["code"], "injected error"))
                return dropped()
            response = view(state, action, *args, **kwargs)
            if take_fault(state, "after") is not None:
                return dropped()
            if take_fault(state, "garbled") is not None:
                return Response(b'{"code":0,"msg":"OK","data":{"jo', status=200, content_type=CONTENT_TYPE)
            return response
        except EnosError as error:
            return reply(None, code=error.code, msg=error.msg)
    return wrapper


def _verify(state: EmulatorState, body: bytes) -> None:
    token = request.headers.get("apim-accesstoken")
    signature = request.headers.get("apim-signature")
    timestamp = request.headers.get("apim-timestamp")
    if not token or not signature or not timestamp:
        raise EnosError(PARAMETER_EMPTY, "parameter empty: apim-accesstoken, apim-signature and apim-timestamp are required")
    if not token_valid(state, token):
        raise EnosError(TOKEN_EXPIRED)
    try:
        stamp = int(timestamp)
    except ValueError as exc:
        raise EnosError(PARAMETER_INVALID, "invalid parameter: apim-timestamp") from exc
    if abs(now_ms(state) - stamp) > TIMESTAMP_WINDOW_MS:
        raise EnosError(PARAMETER_INVALID, "invalid parameter: apim-timestamp is outside the allowed window")
    args = {key: request.args.get(key, "") for key in request.args}
    # Multipart uploads sign the query only (vendor notes B.2.2); JSON calls sign the body bytes as received.
    signed_body = b"" if request.mimetype == "multipart/form-data" else body
    expected = expected_signature(token, args, signed_body, timestamp, state.option(NAME, "app_secret"))
    if not secrets.compare_digest(expected, signature.lower()):
        raise EnosError(ENCRYPTION_INVALID, "signature not valid")


# -- EnOS-only faults (lose the answer of a processed call, or drop before processing) ---
def take_fault(state: EmulatorState, when: str) -> dict[str, Any] | None:
    """The first EnOS-only fault rule for this call and moment, consuming one of its times."""
    enos = store(state)
    action = request.args.get("action")
    with enos.lock:
        for rule in enos.faults:
            if rule["when"] == when and rule["action"] == action and rule["resource"] in request.path:
                rule["times"] -= 1
                if rule["times"] == 0:
                    enos.faults.remove(rule)
                return rule
    return None


# -- token service ---------------------------------------------------------------------
def _token_body(state: EmulatorState) -> tuple[str, dict[str, Any]] | Response:
    try:
        body = json.loads(request.get_data().decode("utf-8") or "null")
    except (UnicodeDecodeError, ValueError):
        return token_reply(PARAMETER_INVALID)
    if not isinstance(body, dict):
        return token_reply(PARAMETER_INVALID)
    app_key, encryption, timestamp = body.get("appKey"), body.get("encryption"), body.get("timestamp")
    if not app_key or not encryption or timestamp in (None, ""):
        return token_reply(PARAMETER_EMPTY)
    try:
        stamp = int(timestamp)
    except (TypeError, ValueError):
        return token_reply(PARAMETER_INVALID)
    if app_key != state.option(NAME, "app_key"):
        return token_reply(APP_KEY_UNKNOWN)
    if not secrets.compare_digest(expected_encryption(app_key, stamp, state.option(NAME, "app_secret")), str(encryption).lower()):
        return token_reply(ENCRYPTION_INVALID)
    if abs(now_ms(state) - stamp) > TIMESTAMP_WINDOW_MS:
        return token_reply(PARAMETER_INVALID)
    enos = store(state)
    with enos.lock:
        if encryption in enos.used_encryptions:
            return token_reply(TOKEN_DUPLICATED)
        enos.used_encryptions.add(encryption)
    return app_key, body


def _issue(state: EmulatorState, app_key: str, reuse: bool) -> Response:
    enos = store(state)
    now = state.wall_clock()
    with enos.lock:
        current = enos.app_tokens.get(app_key)
        if reuse and current and token_valid(state, current):
            return token_reply(OK, {"accessToken": current, "expire": int(enos.tokens[current] - now)})
        if current:
            enos.tokens.pop(current, None)
            state.sessions.delete(NAME, current)
        token = secrets.token_urlsafe(32)
        enos.tokens[token] = now + enos.token_ttl
        enos.app_tokens[app_key] = token
    state.sessions.create(NAME, token, app_key)
    return token_reply(OK, {"accessToken": token, "expire": int(enos.token_ttl)})


@blueprint.post(TOKEN_PREFIX + "/get")
def token_get() -> Response:
    """POST /apim-token-service/v2.0/token/get {appKey, encryption, timestamp}: the current token, or a new one."""
    state = get_state()
    parsed = _token_body(state)
    if isinstance(parsed, Response):
        return parsed
    return _issue(state, parsed[0], reuse=True)


@blueprint.post(TOKEN_PREFIX + "/refresh")
def token_refresh() -> Response:
    """POST /apim-token-service/v2.0/token/refresh {appKey, encryption, timestamp, accessToken}: a new token; the old one dies."""
    state = get_state()
    parsed = _token_body(state)
    if isinstance(parsed, Response):
        return parsed
    app_key, body = parsed
    token = body.get("accessToken")
    if not token or store(state).app_tokens.get(app_key) != token or not token_valid(state, token):
        return token_reply(REFRESH_FAILED)
    return _issue(state, app_key, reuse=False)
