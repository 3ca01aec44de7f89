# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Tuya request checks in the documented order (headers, client_id, t, HMAC-SHA256 sign, token, rate limit) and the token calls.

The sign check is written here independently of the collection's client, so that a bug in either shows up as 1004.
"""

from __future__ import annotations

import hashlib
import hmac
import time
import uuid
from typing import Any

from flask import Response, request

from ..state import EmulatorState, get_state
from ..wire import header
from .base import NAME, Token, blueprint, fail, ok, opt, tuya_state


# -- signing (independent of the collection's client) ----------------------------------
def _string_to_sign() -> str:
    body = request.get_data(cache=True) or b""
    names = [name for name in (request.headers.get("Signature-Headers") or "").split(":") if name]
    headers = "".join(f"{name}:{header(name) or ''}\n" for name in names)
    pairs = sorted((key, value) for key, values in request.args.lists() for value in values)
    url = request.path + ("?" + "&".join(f"{key}={value}" for key, value in pairs) if pairs else "")
    return f"{request.method.upper()}\n{hashlib.sha256(body).hexdigest()}\n{headers}\n{url}"


def _hmac(secret: str, message: str) -> str:
    return hmac.new(secret.encode(), message.encode(), hashlib.sha256).hexdigest().upper()


def _sign_ok(state: EmulatorState, client_id: str, t: str, token: str) -> bool:
    secret = opt(state, "secret", str)
    given = request.headers.get("sign", "")
    nonce = request.headers.get("nonce", "")
    expected = _hmac(secret, client_id + token + t + nonce + _string_to_sign())
    if hmac.compare_digest(given, expected):
        return True
    return opt(state, "legacy_sign", bool) and hmac.compare_digest(given, _hmac(secret, client_id + token + t))


def _is_token_call() -> bool:
    return request.path == "/v1.0/token" or request.path.startswith("/v1.0/token/")


def _rate_limited(state: EmulatorState, client_id: str) -> bool:
    """Per project (client_id) and per API (method + route): a token bucket of `rate` per second, burst `rate`."""
    rule = request.url_rule.rule if request.url_rule is not None else request.path
    write = request.method != "GET"
    rate = opt(state, "write_rate_limit" if write else "rate_limit", float)
    if rate <= 0:
        return False
    tuya = tuya_state(state)
    key = (client_id, f"{request.method} {rule}")
    now = time.monotonic()
    with tuya.lock:
        tokens, stamp = tuya.buckets.get(key, (rate, now))
        tokens = min(rate, tokens + (now - stamp) * rate)
        if tokens < 1.0:
            tuya.buckets[key] = (tokens, now)
            tuya.rate_limited += 1
            return True
        tuya.buckets[key] = (tokens - 1.0, now)
    return False


@blueprint.before_request
def _authenticate() -> Response | None:
    state = get_state()
    client_id = header("client_id")
    t = request.headers.get("t")
    if not client_id or not t or not request.headers.get("sign") or header("sign_method") != "HMAC-SHA256":
        return fail(1105, "missing the header: client_id, t, sign and sign_method=HMAC-SHA256 are required")
    if client_id != opt(state, "client_id", str):
        return fail(1005)
    try:
        skew = abs(int(t) / 1000.0 - state.wall_clock())
    except ValueError:
        return fail(1013)
    if len(t) != 13 or skew > opt(state, "time_window", float):
        return fail(1013)
    token = ""
    if not _is_token_call():
        token = header("access_token") or ""
        if not token:
            return fail(1002)
    if not _sign_ok(state, client_id, t, token):
        tuya = tuya_state(state)
        with tuya.lock:
            tuya.sign_refused += 1
        return fail(1004)
    if token:
        tuya = tuya_state(state)
        with tuya.lock:
            issued = tuya.tokens.get(token)
        if issued is None or issued.expires_at <= state.wall_clock() or state.sessions.get(NAME, token) is None:
            return fail(1010)
    if _rate_limited(state, client_id):
        return fail(opt(state, "rate_limit_code", int))
    return None


# -- tokens ----------------------------------------------------------------------------
def _issue(state: EmulatorState, client_id: str) -> dict[str, Any]:
    ttl = opt(state, "token_ttl", float)
    token = Token(uuid.uuid4().hex, uuid.uuid4().hex, client_id, state.wall_clock() + ttl)
    tuya = tuya_state(state)
    with tuya.lock:
        tuya.tokens[token.access_token] = token
        tuya.refresh[token.refresh_token] = token.access_token
    state.sessions.create(NAME, token.access_token, client_id)
    return {"access_token": token.access_token, "expire_time": int(ttl), "refresh_token": token.refresh_token,
            "uid": f"emu{hashlib.sha1(client_id.encode()).hexdigest()[:16]}"}


@blueprint.get("/v1.0/token")
def get_token() -> Response:
    """GET /v1.0/token?grant_type=1 (simple mode)."""
    if request.args.get("grant_type") != "1":
        return fail(1003)
    state = get_state()
    return ok(_issue(state, header("client_id") or ""))


@blueprint.get("/v1.0/token/<refresh_token>")
def refresh_token_view(refresh_token: str) -> Response:
    """GET /v1.0/token/{refresh_token}: single use; both old tokens die."""
    state = get_state()
    tuya = tuya_state(state)
    with tuya.lock:
        access = tuya.refresh.pop(refresh_token, None)
        old = tuya.tokens.pop(access, None) if access else None
    if old is None:
        return fail(1012)
    state.sessions.delete(NAME, old.access_token)
    return ok(_issue(state, header("client_id") or ""))
