# -*- coding: utf-8 -*-
# Copyright (c) fleetota.cloud developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The one error hierarchy of the client layer.

Modules catch FleetotaError once in main() and fail with its message; the inventory
plugin turns it into AnsibleError. Messages name what failed and what the user can do,
and never carry a secret (no password, hash, token, signature key or request body).
"""


class FleetotaError(Exception):
    """Base of every error the client layer raises on purpose."""

    def __init__(self, msg, **details):
        super().__init__(msg)
        self.msg = msg
        self.details = details

    def __str__(self):
        return self.msg


class ConfigError(FleetotaError):
    """Bad input from the user: options, device ids, versions. Raised before any write."""


class NetworkError(FleetotaError):
    """The endpoint could not be reached, or kept failing after the retries."""


class OutcomeUnknownError(NetworkError):
    """A write was sent but no answer came back: it may or may not have been applied."""


class ApiError(FleetotaError):
    """The vendor answered with an error (HTTP status or a business code)."""

    def __init__(self, msg, code=None, request_id=None, http_status=None):
        super().__init__(msg, code=code, request_id=request_id, http_status=http_status)
        self.code = code
        self.request_id = request_id
        self.http_status = http_status


class AuthError(ApiError):
    """Credentials were refused, the session or token could not be renewed, or rights are missing."""


class RateLimitError(ApiError):
    """The vendor kept answering 'too many requests' after the retries."""


class JobFailedError(FleetotaError):
    """An upgrade job or device task ended in failure."""


class JobTimeoutError(FleetotaError):
    """Waiting for an upgrade passed wait_timeout."""
