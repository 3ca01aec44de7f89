# -*- coding: utf-8 -*-
# Copyright (c) fleetota.cloud developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Signing and credential hashing: pure functions, one per vendor scheme, pinned by unit tests
to the vendors' published vectors. No I/O and no clock of their own: callers pass the time."""

import base64
import datetime
import hashlib
import hmac


def magewell_password_hash(password):
    """Magewell login sends the lowercase hex MD5 of the clear-text password (no salt).

    Published vector: md5("Admin") == "e3afed0047b08059d0fada10f400c1e5".
    """
    return hashlib.md5(password.encode('utf-8')).hexdigest()


# -- Tuya Cloud OpenAPI (HMAC-SHA256) ----------------------------------------------------

TUYA_EMPTY_BODY_SHA256 = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855'


def tuya_canonical_url(path, query=None):
    """Path plus the query with keys sorted and values NOT URL-encoded, as Tuya signs it.

    `query` is a dict or a list of (key, value) pairs; None values are dropped.
    """
    if not query:
        return path
    pairs = query.items() if isinstance(query, dict) else query
    items = sorted((str(key), '' if value is None else str(value)) for key, value in pairs if value is not None)
    if not items:
        return path
    return path + '?' + '&'.join('%s=%s' % (key, value) for key, value in items)


def tuya_string_to_sign(method, path, query=None, body=b'', signed_headers=None):
    """METHOD \\n Content-SHA256 \\n Headers \\n Url (vendors/tuya.md A.4, steps 1-4).

    `body` is the exact bytes sent (b'' or None for no body); `signed_headers` is a list
    of (name, value) in the order of the Signature-Headers header, or None.
    """
    if body is None:
        body = b''
    if not isinstance(body, bytes):
        body = body.encode('utf-8')
    content_sha256 = hashlib.sha256(body).hexdigest()
    headers = ''.join('%s:%s\n' % (name, value) for name, value in signed_headers or ())
    return '%s\n%s\n%s\n%s' % (method.upper(), content_sha256, headers, tuya_canonical_url(path, query))


def tuya_sign(secret, client_id, t, string_to_sign, access_token='', nonce=''):
    """Uppercase hex HMAC-SHA256 of client_id + access_token + t + nonce + stringToSign.

    Token requests pass access_token='' (the token-request variant); `t` is the 13-digit
    millisecond timestamp as sent in the `t` header; nonce '' when no nonce header is sent.
    """
    message = '%s%s%s%s%s' % (client_id, access_token or '', t, nonce or '', string_to_sign)
    return hmac.new(secret.encode('utf-8'), message.encode('utf-8'), hashlib.sha256).hexdigest().upper()


def tuya_legacy_sign(secret, client_id, t, access_token=''):
    """The archived formula of projects created before 2021-06-30: HMAC-SHA256(client_id [+ access_token] + t)."""
    message = '%s%s%s' % (client_id, access_token or '', t)
    return hmac.new(secret.encode('utf-8'), message.encode('utf-8'), hashlib.sha256).hexdigest().upper()


# -- EnOS (SHA-256; vendors/magewell_enos.md B.2) -------------------------------------------

def enos_token_encryption(app_key, timestamp_ms, app_secret):
    """`encryption` of a token request: lower hex sha256(appKey + timestamp + appSecret)."""
    return hashlib.sha256(('%s%d%s' % (app_key, int(timestamp_ms), app_secret)).encode('utf-8')).hexdigest()


def enos_request_signature(access_token, query, body, timestamp_ms, app_secret):
    """`apim-signature` of one call: sha256(token + sorted key+value of the query + body bytes as sent + timestamp + secret).

    `query` is a dict of decoded values (action and orgId included); `body` the exact bytes sent,
    or None for a call without body.
    """
    params = ''.join('%s%s' % (key, query[key]) for key in sorted(query))
    data = access_token.encode('utf-8') + params.encode('utf-8')
    if body:
        data += body if isinstance(body, bytes) else body.encode('utf-8')
    data += ('%d' % int(timestamp_ms)).encode('utf-8') + app_secret.encode('utf-8')
    return hashlib.sha256(data).hexdigest()


def enos_signed_headers(access_token, query, body, timestamp_ms, app_secret):
    return {
        'apim-accesstoken': access_token,
        'apim-signature': enos_request_signature(access_token, query, body, timestamp_ms, app_secret),
        'apim-timestamp': '%d' % int(timestamp_ms),
    }


# -- Tuya IoT Core RPC API (HMAC-SHA1, Alibaba-style; vendors/tuya.md B.2, B.3) ------------

IOTCORE_SIGNATURE_METHOD = 'HMAC-SHA1'
IOTCORE_SIGNATURE_VERSION = '1.0'
# ASSUMPTION (B.2): Tuya's examples send no Version/Format; its common-parameter page lists both.
IOTCORE_API_VERSION = '2018-01-20'
IOTCORE_RESPONSE_FORMAT = 'JSON'
IOTCORE_TIMESTAMP_FORMAT = '%Y-%m-%dT%H:%M:%SZ'

# RFC 3986 unreserved characters stay literal; everything else is %XY with uppercase hex.
_IOTCORE_UNRESERVED = frozenset(b'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.~')


def iotcore_percent_encode(value):
    """RPC percent-encoding of one name or value: UTF-8, `~` literal, space %20, `*` %2A, `+` %2B."""
    if not isinstance(value, bytes):
        value = (value if isinstance(value, str) else str(value)).encode('utf-8')
    return ''.join(chr(byte) if byte in _IOTCORE_UNRESERVED else '%%%02X' % byte for byte in bytearray(value))


def iotcore_canonical_query(params):
    """The sorted `name=value` pairs joined by `&`, both sides percent-encoded; `Signature` left out."""
    pairs = sorted((iotcore_percent_encode(name), iotcore_percent_encode(value)) for name, value in params.items() if name != 'Signature')
    return '&'.join('%s=%s' % pair for pair in pairs)


def iotcore_string_to_sign(method, params):
    """`METHOD&%2F&encode(canonical query)` (B.3 step 4)."""
    return '%s&%s&%s' % (method.upper(), iotcore_percent_encode('/'), iotcore_percent_encode(iotcore_canonical_query(params)))


def iotcore_signature(method, params, secret):
    """Base64 of HMAC-SHA1 over iotcore_string_to_sign, keyed with secret + '&' (B.3 step 5)."""
    digest = hmac.new((secret + '&').encode('utf-8'), iotcore_string_to_sign(method, params).encode('utf-8'), hashlib.sha1).digest()
    return base64.b64encode(digest).decode('ascii')


def iotcore_timestamp(epoch):
    """UTC `YYYY-MM-DDThh:mm:ssZ` of epoch seconds."""
    return datetime.datetime.fromtimestamp(int(epoch), tz=datetime.timezone.utc).strftime(IOTCORE_TIMESTAMP_FORMAT)


def iotcore_signed_query(method, action, params, access_key, secret, epoch, nonce):
    """The exact query string to send: common parameters + `params`, canonical order, then `Signature`.

    A pure function of its arguments (clock and nonce are passed in).
    """
    full = {
        'Action': action,
        'AccessKeyId': access_key,
        'SignatureMethod': IOTCORE_SIGNATURE_METHOD,
        'SignatureVersion': IOTCORE_SIGNATURE_VERSION,
        'SignatureNonce': nonce,
        'Timestamp': iotcore_timestamp(epoch),
        'Format': IOTCORE_RESPONSE_FORMAT,
        'Version': IOTCORE_API_VERSION,
    }
    for name, value in params.items():
        if value is not None:
            full[name] = value if isinstance(value, str) else str(value)
    return iotcore_canonical_query(full) + '&Signature=' + iotcore_percent_encode(iotcore_signature(method, full, secret))
