# -*- coding: utf-8 -*-
# Copyright (c) fleetota.cloud developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Signing and credential hashing: pure functions, one per vendor scheme, pinned by unit tests
to the vendors' published vectors. No I/O and no clock of their own: callers pass the time."""

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
