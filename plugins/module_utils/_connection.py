# -*- coding: utf-8 -*-
# Copyright (c) fleetota.cloud developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The connection options, their validation, and the factory of platform clients.

Modules and the inventory plugin read their options differently, then both call
create_client() with a plain dict; everything after that is shared. Which platforms exist,
what credentials each needs and how its client is built: _platforms/_registry.py.
"""

import math
import os
import re
import ssl

from ansible_collections.fleetota.cloud.plugins.module_utils._errors import ConfigError
from ansible_collections.fleetota.cloud.plugins.module_utils._platforms._registry import PLATFORMS
from ansible_collections.fleetota.cloud.plugins.module_utils._transport import RetryPolicy, Transport

# option name -> (argument spec type, env var, secret)
CONNECTION_OPTIONS = {
    'platform': ('str', 'FLEETOTA_PLATFORM', False),
    'endpoint': ('str', 'FLEETOTA_ENDPOINT', False),
    'username': ('str', 'FLEETOTA_USERNAME', False),
    'password': ('str', 'FLEETOTA_PASSWORD', True),
    'access_key': ('str', 'FLEETOTA_ACCESS_KEY', False),
    'secret_key': ('str', 'FLEETOTA_SECRET_KEY', True),
    'org_id': ('str', 'FLEETOTA_ORG_ID', False),
    'validate_certs': ('bool', 'FLEETOTA_VALIDATE_CERTS', False),
    'ca_path': ('path', 'FLEETOTA_CA_PATH', False),
    'timeout': ('float', None, False),
    'max_concurrency': ('int', 'FLEETOTA_MAX_CONCURRENCY', False),
    'rate_limit': ('float', 'FLEETOTA_RATE_LIMIT', False),
    'token_cache': ('str', 'FLEETOTA_TOKEN_CACHE', False),
    'device_cache': ('str', 'FLEETOTA_DEVICE_CACHE', False),
}

DEFAULT_MAX_CONCURRENCY = 8
MAX_CONCURRENCY_LIMIT = 64

# What each platform needs besides platform and endpoint.
REQUIRED_CREDENTIALS = dict((name, entry.credentials) for name, entry in PLATFORMS.items())

SUPPORTED_PLATFORMS = tuple(sorted(PLATFORMS))

_URL_RE = re.compile(r'^https?://[^/\s?#]+(/[^\s?#]*)?$')


def validate_connection(options):
    """Check the connection options; raises ConfigError naming the bad value and what would be right."""
    platform = options.get('platform')
    if not platform:
        raise ConfigError('platform is required: one of %s (option platform or env FLEETOTA_PLATFORM)' % ', '.join(SUPPORTED_PLATFORMS))
    if platform not in REQUIRED_CREDENTIALS:
        raise ConfigError("platform '%s' is not supported: use one of %s" % (platform, ', '.join(SUPPORTED_PLATFORMS)))
    endpoint = options.get('endpoint')
    if not endpoint:
        raise ConfigError('endpoint is required: the base URL of the %s API, e.g. https://cloud.example.com '
                          '(option endpoint or env FLEETOTA_ENDPOINT)' % platform)
    if not _URL_RE.match(endpoint):
        raise ConfigError("endpoint '%s' is not a URL: expected http(s)://host[:port][/path], e.g. https://cloud.example.com" % endpoint)
    missing = [name for name in REQUIRED_CREDENTIALS[platform] if not options.get(name)]
    if missing:
        raise ConfigError('platform %s needs %s: set %s' % (
            platform, ' and '.join(missing),
            ', '.join('option %s or env %s' % (name, CONNECTION_OPTIONS[name][1]) for name in missing)))
    timeout = options.get('timeout')
    if timeout is not None and (isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or not math.isfinite(timeout) or timeout <= 0):
        raise ConfigError("timeout '%s' is not valid: expected a positive, finite number of seconds" % (timeout,))
    concurrency = options.get('max_concurrency')
    if concurrency is not None and (isinstance(concurrency, bool) or not isinstance(concurrency, int) or not 1 <= concurrency <= MAX_CONCURRENCY_LIMIT):
        raise ConfigError("max_concurrency '%s' is not valid: expected a whole number from 1 to %d" % (concurrency, MAX_CONCURRENCY_LIMIT))
    rate = options.get('rate_limit')
    if rate is not None and (isinstance(rate, bool) or not isinstance(rate, (int, float)) or not math.isfinite(rate) or rate <= 0):
        raise ConfigError("rate_limit '%s' is not valid: expected a positive, finite number of requests per second" % (rate,))
    for name in ('token_cache', 'device_cache'):
        path = options.get(name)
        if path and os.path.isdir(os.path.expanduser(str(path))):
            raise ConfigError("%s '%s' is a directory: expected the path of a cache file (it is created if missing), or off" % (name, path))


def checked_ca_path(ca_path):
    """The CA bundle (file or directory) to verify the endpoint with, or None; ConfigError when it cannot be one.

    Empty means not set: AWX injects an empty FLEETOTA_CA_PATH for a credential without a CA bundle.
    """
    if not ca_path:
        return None
    path = os.path.expanduser(str(ca_path))
    if os.path.isdir(path):
        return path
    if not os.path.isfile(path):
        raise ConfigError("ca_path '%s' is not a file or directory: expected the path of a PEM file of the CA certificates that signed "
                          "the endpoint's certificate (or a directory of them prepared with c_rehash)" % ca_path)
    try:
        ssl.create_default_context(cafile=path)
    except (ssl.SSLError, ValueError, OSError) as exc:
        raise ConfigError("ca_path '%s' holds no CA certificate that can be read (%s): expected a PEM file of CA certificates" % (ca_path, exc))
    return path


def create_client(options, retry=None):
    """Validate the options and build the platform client with its transport."""
    validate_connection(options)
    timeout = options.get('timeout') or 30.0
    validate_certs = options.get('validate_certs')
    concurrency = options.get('max_concurrency') or DEFAULT_MAX_CONCURRENCY
    transport = Transport(
        options['endpoint'],
        timeout=float(timeout),
        validate_certs=True if validate_certs is None else validate_certs,
        ca_path=checked_ca_path(options.get('ca_path')),
        retry=retry or RetryPolicy(),
        pool_size=max(10, concurrency),
    )
    client = PLATFORMS[options['platform']].build(transport, dict(options, max_concurrency=concurrency))
    client.account = '%s\n%s' % (options.get('username') or options.get('access_key') or '', options.get('org_id') or '')
    return client
