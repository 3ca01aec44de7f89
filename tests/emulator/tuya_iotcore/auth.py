# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""IoT Core request checks: the Alibaba-style RPC signature (HMAC-SHA1), timestamp window, single-use nonce, per-action QPS."""

from __future__ import annotations

import base64
import calendar
import hashlib
import hmac
import time
from urllib.parse import unquote_plus

from flask import request

from ..state import EmulatorState
from .base import API_VERSIONS, NAME, NONCE_TTL, QPS, REQUIRED_COMMON, RpcError, store


# -- signing (an implementation independent of the client's) ---------------------------------
def rpc_encode(text: str) -> str:
    """RPC percent-encoding: RFC 3986 unreserved kept, the rest %XY (uppercase) of the UTF-8 bytes."""
    out = []
    for byte in text.encode("utf-8"):
        char = chr(byte)
        if char.isascii() and (char.isalnum() or char in "-_.~"):
            out.append(char)
        else:
            out.append(f"%{byte:02X}")
    return "".join(out)


def expected_signature(method: str, params: dict[str, str], secret: str) -> str:
    """Base64 HMAC-SHA1 (key secret + '&') of METHOD&%2F&encode(sorted encoded pairs)."""
    canonical = "&".join(f"{rpc_encode(k)}={rpc_encode(v)}" for k, v in sorted(params.items()) if k != "Signature")
    text = f"{method}&{rpc_encode('/')}&{rpc_encode(canonical)}"
    digest = hmac.new(f"{secret}&".encode(), text.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


def parse_params() -> dict[str, str]:
    """Decoded parameters from the raw query (and a form body for POST); a repeated name is refused."""
    params: dict[str, str] = {}
    sources = [request.query_string.decode("latin-1")]
    if request.method == "POST" and request.mimetype == "application/x-www-form-urlencoded":
        sources.append(request.get_data(as_text=True))
    for raw in sources:
        for part in raw.split("&"):
            if not part:
                continue
            key, _sep, value = part.partition("=")
            name = unquote_plus(key, encoding="utf-8", errors="strict")
            if name in params:
                raise RpcError("InvalidParameter", f"parameter {name} is given twice")
            params[name] = unquote_plus(value, encoding="utf-8", errors="strict")
    return params


def _parse_timestamp(text: str) -> float:
    return float(calendar.timegm(time.strptime(text, "%Y-%m-%dT%H:%M:%SZ")))


def authenticate(state: EmulatorState, params: dict[str, str]) -> None:
    """Check the common parameters and the signature; RpcError with the gateway code otherwise."""
    for name in REQUIRED_COMMON:
        if not params.get(name):
            raise RpcError("MissingParameter", f"The input parameter {name} that is mandatory for processing this request is not supplied.")
    if params["AccessKeyId"] != state.option(NAME, "access_key"):
        raise RpcError("InvalidAccessKeyId.NotFound", "Specified access key is not found.")
    if params["SignatureMethod"] != "HMAC-SHA1":
        raise RpcError("InvalidSignatureMethod", "Specified signature method is not valid (HMAC-SHA1 expected).")
    try:
        stamp = _parse_timestamp(params["Timestamp"])
    except ValueError:
        raise RpcError("InvalidTimeStamp.Format", "Specified time stamp or date value is not well formatted (YYYY-MM-DDThh:mm:ssZ, UTC).") from None
    now = state.wall_clock()
    if abs(now - stamp) > float(state.option(NAME, "skew")):
        raise RpcError("InvalidTimeStamp.Expired", "Specified time stamp or date value is expired.")
    method = request.method
    if not hmac.compare_digest(params["Signature"], expected_signature(method, params, state.option(NAME, "secret_key"))):
        raise RpcError("SignatureDoesNotMatch", "Specified signature is not matched with our calculation.")
    iot = store(state)
    with iot.lock:
        for nonce, expiry in list(iot.nonces.items()):
            if expiry < now:
                del iot.nonces[nonce]
        if params["SignatureNonce"] in iot.nonces:
            raise RpcError("SignatureNonceUsed", "Specified signature nonce was used already.")
        iot.nonces[params["SignatureNonce"]] = now + NONCE_TTL
    version = params.get("Version")
    if version is not None and version not in API_VERSIONS:
        raise RpcError("InvalidVersion", f"Specified parameter Version is not valid (one of {', '.join(API_VERSIONS)}).")


def throttle(state: EmulatorState, action: str) -> None:
    """Throttling.User over the per-action QPS (scaled by the qps_scale option)."""
    scale = float(state.option(NAME, "qps_scale"))
    limit = QPS.get(action)
    if not limit or scale <= 0:
        return
    now = time.monotonic()
    iot = store(state)
    with iot.lock:
        window = [t for t in iot.calls.get(action, []) if now - t < 1.0]
        if len(window) >= limit * scale:
            iot.calls[action] = window
            raise RpcError("Throttling.User", f"Request was denied due to user flow control ({action}: {limit * scale:g} per second).")
        window.append(now)
        iot.calls[action] = window
