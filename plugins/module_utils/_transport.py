# -*- coding: utf-8 -*-
# Copyright (c) fleetota.cloud developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""HTTP transport: one requests.Session per client and the one retry policy.

Retries are bounded, with exponential backoff and jitter, on connection errors, 429 and
5xx, honouring Retry-After. A request that is not safe to repeat (a write whose outcome
is unknown after a dropped connection or a 5xx) is not repeated: OutcomeUnknownError tells
the platform to re-read state before doing anything else.
"""

import os
import random
import re
import ssl
import threading
import time
import traceback
import warnings

from email.utils import parsedate_to_datetime
from urllib.parse import urlparse

from ansible_collections.fleetota.cloud.plugins.module_utils._errors import (
    ApiError,
    AuthError,
    ConfigError,
    NetworkError,
    OutcomeUnknownError,
    RateLimitError,
)

try:
    import requests
    HAS_REQUESTS = True
    REQUESTS_IMPORT_ERROR = None
except ImportError:
    requests = None
    HAS_REQUESTS = False
    REQUESTS_IMPORT_ERROR = traceback.format_exc()

USER_AGENT = 'fleetota.cloud-ansible/1.0'
RETRY_STATUSES = frozenset((429, 500, 502, 503, 504))
MAX_RETRY_AFTER = 60.0


class RetryPolicy:
    """How often and how long to retry; sleep and random are injectable for tests."""

    def __init__(self, attempts=5, backoff=0.5, max_backoff=20.0, sleep=time.sleep, rand=random.random):
        self.attempts = attempts
        self.backoff = backoff
        self.max_backoff = max_backoff
        self.sleep = sleep
        self.rand = rand

    def delay(self, attempt, retry_after=None):
        """Seconds to wait before retry number `attempt` (1-based)."""
        if retry_after is not None:
            return min(max(retry_after, 0.0), MAX_RETRY_AFTER)
        base = min(self.backoff * (2 ** (attempt - 1)), self.max_backoff)
        return base / 2.0 + base / 2.0 * self.rand()


def parse_retry_after(value, now=None):
    """Seconds from a Retry-After header (delta-seconds or HTTP date), or None."""
    if not value:
        return None
    value = value.strip()
    try:
        return float(value)
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when is None:
        return None
    return max(when.timestamp() - (now if now is not None else time.time()), 0.0)


class Transport:
    """Sends requests to one endpoint with connection reuse, timeouts, TLS and retries."""

    def __init__(self, endpoint, timeout=30.0, validate_certs=True, ca_path=None, retry=None, pool_size=10):
        if not HAS_REQUESTS:
            raise ConfigError('the Python library requests is required on the host that runs this task (pip install requests)')
        self.endpoint = endpoint.rstrip('/')
        self.timeout = timeout
        self.retry = retry or RetryPolicy()
        self.session = requests.Session()
        self.session.headers['User-Agent'] = USER_AGENT
        self.session.headers['Accept'] = 'application/json, text/plain, */*'
        # requests lets REQUESTS_CA_BUNDLE / CURL_CA_BUNDLE replace session.verify, but not the verify given with
        # each request: what the user set is passed with every request, so it wins over the environment, while
        # proxies (HTTPS_PROXY, NO_PROXY) still come from it. Neither set: None, the environment's bundle may apply.
        if not validate_certs:
            self.verify = False
        elif ca_path:
            self.verify = ca_path
        else:
            self.verify = None
        self.warnings = []
        if self.verify is False and self.endpoint.lower().startswith('https://'):
            self.warnings.append('TLS certificate verification is disabled for %s' % self.endpoint)
            _silence_insecure_request_warning(urlparse(self.endpoint).hostname)
        adapter = requests.adapters.HTTPAdapter(pool_connections=pool_size, pool_maxsize=pool_size, max_retries=0)
        self.session.mount('http://', adapter)
        self.session.mount('https://', adapter)
        # Platforms that fan out over threads share this transport: count under a lock.
        self._calls_lock = threading.Lock()
        self.calls = 0

    def close(self):
        self.session.close()

    def url(self, path):
        return self.endpoint + path

    def request(self, method, path, params=None, data=None, headers=None, files=None, safe_to_retry=None, what=None, accept_status=()):
        """Send one logical request; returns the requests.Response of a 2xx answer.

        safe_to_retry defaults to True for GET and False otherwise. `what` names the call
        in error messages (never the body, which may hold credentials). `accept_status`:
        4xx statuses returned to the caller instead of raised, for vendors whose error
        bodies carry the code that says what went wrong.
        """
        if safe_to_retry is None:
            safe_to_retry = method.upper() == 'GET'
        what = what or '%s %s' % (method.upper(), path)
        attempt = 0
        while True:
            attempt += 1
            with self._calls_lock:
                self.calls += 1
            try:
                response = self.session.request(method, self.url(path), params=params, data=data, headers=headers,
                                                files=files, timeout=self.timeout, allow_redirects=False, verify=self.verify)
            except requests.exceptions.SSLError as exc:
                raise NetworkError(self._tls_failure(exc))
            except (requests.exceptions.ConnectionError, requests.exceptions.Timeout) as exc:
                connect_failed = isinstance(exc, requests.exceptions.ConnectTimeout) or _is_connect_refused(exc)
                if not safe_to_retry and not connect_failed:
                    raise OutcomeUnknownError('%s to %s got no answer (%s); it may or may not have been applied'
                                              % (what, self.endpoint, _short(exc)))
                if attempt >= self.retry.attempts:
                    raise NetworkError('%s to %s failed after %d attempts: %s. Check the endpoint URL and the network.'
                                       % (what, self.endpoint, attempt, _short(exc)))
                self.retry.sleep(self.retry.delay(attempt))
                continue
            status = response.status_code
            if status in RETRY_STATUSES:
                # 429 means the request was refused unprocessed, so it is always safe to repeat.
                if status != 429 and not safe_to_retry:
                    raise OutcomeUnknownError('%s answered HTTP %d; it may or may not have been applied' % (what, status))
                if attempt >= self.retry.attempts:
                    if status == 429:
                        raise RateLimitError('%s was rate limited (HTTP 429) %d times in a row; lower the request rate or try later'
                                             % (what, attempt), http_status=status)
                    raise ApiError('%s failed with HTTP %d after %d attempts' % (what, status, attempt), http_status=status)
                self.retry.sleep(self.retry.delay(attempt, parse_retry_after(response.headers.get('Retry-After'))))
                continue
            # json() needs to know: an unreadable answer to a write leaves its outcome unknown.
            response.fleetota_write = not safe_to_retry
            if status in accept_status:
                return response
            if status in (401, 403):
                raise AuthError('%s was refused with HTTP %d: check the credentials and their rights' % (what, status), http_status=status)
            if status == 404:
                raise ApiError('%s: HTTP 404 at %s; is the endpoint the right API base URL?' % (what, self.endpoint), http_status=status)
            if status >= 400:
                raise ApiError('%s failed with HTTP %d' % (what, status), http_status=status)
            return response

    def _tls_failure(self, exc):
        """The message for a TLS failure: the host, why, which CA bundle was used, and what to do."""
        host = urlparse(self.endpoint).hostname
        reason = _ssl_reason(exc)
        if not isinstance(reason, ssl.SSLCertVerificationError):
            return ('TLS connection to %s (%s) failed: %s. Check that the endpoint is the HTTPS URL of the API.'
                    % (host, self.endpoint, _short(reason or exc)))
        if self.verify:
            bundle = 'ca_path %s' % self.verify
        else:
            variable = next((name for name in ('REQUESTS_CA_BUNDLE', 'CURL_CA_BUNDLE') if os.environ.get(name)), None)
            bundle = 'the CA bundle %s from %s' % (os.environ[variable], variable) if variable else 'the default CA bundle'
        return ('TLS certificate verification failed for %s (%s): %s, checked against %s. Set ca_path (or FLEETOTA_CA_PATH) to '
                'the CA bundle that signed its certificate, or validate_certs=false for a lab endpoint.'
                % (host, self.endpoint, getattr(reason, 'verify_message', None) or _short(reason), bundle))

    @staticmethod
    def json(response, what, hint='is the endpoint right?'):
        """The decoded JSON body. A body that is not JSON is an ApiError for a read; for a write (a request not
        safe to retry) it is OutcomeUnknownError: the request may have been processed, so it must be re-read."""
        try:
            return response.json()
        except ValueError:
            raise Transport.unexpected(response, what, 'something that is not JSON', hint)

    @staticmethod
    def unexpected(response, what, found, hint='is the endpoint right?'):
        """The error for an answer that cannot be read (`found` says what it was): OutcomeUnknownError after a
        write, ApiError after a read. To raise, not to return to the user."""
        if getattr(response, 'fleetota_write', False):
            return OutcomeUnknownError('%s answered %s (HTTP %d, %d bytes); it may or may not have been applied'
                                       % (what, found, response.status_code, len(response.content)))
        return ApiError('%s answered %s (HTTP %d, %d bytes); %s' % (what, found, response.status_code, len(response.content), hint),
                        http_status=response.status_code)


def _short(exc):
    text = str(exc)
    return text if len(text) <= 200 else text[:200] + '...'


def _ssl_reason(exc):
    """The ssl.SSLError under a requests SSLError (requests and urllib3 wrap it), or None."""
    seen = set()
    pending = [exc]
    while pending:
        item = pending.pop(0)
        if item is None or id(item) in seen:
            continue
        seen.add(id(item))
        if isinstance(item, ssl.SSLError):
            return item
        linked = [getattr(item, 'reason', None), item.__cause__, item.__context__] + list(getattr(item, 'args', ()))
        pending.extend(link for link in linked if isinstance(link, BaseException))
    return None


def _silence_insecure_request_warning(host):
    """Drop urllib3's InsecureRequestWarning for requests to this host only (the user chose validate_certs=false for it).

    The filter matches the message, which names the host: requests to any other host still warn.
    Installed before any request is sent, so no thread races it (warnings.catch_warnings is not thread-safe).
    """
    # Imported here: urllib3 comes with requests, which may be missing when this file is imported.
    from urllib3.exceptions import InsecureRequestWarning  # pylint: disable=import-outside-toplevel
    if host:
        warnings.filterwarnings('ignore', message=r"Unverified HTTPS request is being made to host '%s'" % re.escape(host),
                                category=InsecureRequestWarning)


def _is_connect_refused(exc):
    """True when the connection was never established, so nothing was sent."""
    reason = exc
    for _dummy in range(6):
        reason = getattr(reason, 'reason', None) or getattr(reason, '__cause__', None) or (reason.args[0] if getattr(reason, 'args', None) else None)
        if reason is None:
            return False
        if isinstance(reason, ConnectionRefusedError):
            return True
        name = type(reason).__name__
        if name in ('NewConnectionError', 'ConnectTimeoutError', 'NameResolutionError'):
            return True
    return False
