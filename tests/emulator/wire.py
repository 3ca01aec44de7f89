# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Low-level HTTP helpers every vendor package may use: dropping a connection, raw header names.

Core module: imports nothing of the emulator, so that the server and the vendor packages can
both use it without importing each other.
"""

from __future__ import annotations

import socket

from flask import Response, request

# Set in the WSGI environ when the connection is to be closed without an answer.
DROP_KEY = "fleetota.emulator.drop"
# Header names with underscores (dropped by werkzeug's environ), kept by server.EmulatorRequestHandler.
RAW_HEADERS_KEY = "fleetota.emulator.underscore_headers"


def drop_connection() -> None:
    """Close the client's TCP connection without any answer."""
    request.environ[DROP_KEY] = True
    sock = request.environ.get("werkzeug.socket")
    if sock is not None:
        try:
            sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass


def dropped() -> Response:
    """Drop the connection; the returned response is never sent."""
    drop_connection()
    return Response(b"", status=500)


def header(name: str) -> str | None:
    """A request header, including names with underscores (e.g. Tuya's client_id, access_token)."""
    value = request.headers.get(name)
    if value is not None:
        return value
    lower = name.lower()
    for key, raw in request.environ.get(RAW_HEADERS_KEY, ()):
        if key.lower() == lower:
            return raw
    return None
