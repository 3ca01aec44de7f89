# -*- coding: utf-8 -*-
# Copyright (c) fleetota.cloud developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The platform client contract, the connection options, and the factory.

Modules and the inventory plugin read their options differently, then both call
create_client() with a plain dict; everything after that is shared.
"""

import math
import os
import re
import ssl

from ansible_collections.fleetota.cloud.plugins.module_utils._errors import ConfigError
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
REQUIRED_CREDENTIALS = {
    'magewell': ('username', 'password'),
    'enos': ('access_key', 'secret_key', 'org_id'),
    'tuya': ('access_key', 'secret_key'),
    'tuya_iotcore': ('access_key', 'secret_key'),
}

SUPPORTED_PLATFORMS = tuple(sorted(REQUIRED_CREDENTIALS))

_URL_RE = re.compile(r'^https?://[^/\s?#]+(/[^\s?#]*)?$')


class PlatformClient:
    """What every vendor client implements. One instance serves one module run or inventory parse."""

    platform = None
    # Seconds the caller will wait for an upgrade (the engine sets it from wait_timeout before
    # start_upgrade). Platforms whose upgrade jobs carry a server-side timeout use it; None = vendor default.
    upgrade_timeout = None
    # Who the credentials are (user name or access key, and organization), never a secret: with platform and
    # endpoint it names the account's start lock (create_client sets it).
    account = None

    def __init__(self, transport):
        self.transport = transport
        self.jobs = []

    @property
    def api_calls(self):
        return self.transport.calls

    def close(self):
        """End the session (logout) and release connections. Never raises."""
        self.transport.close()

    def list_devices(self, firmware_versions=True):
        """Every device the credentials can see, as Device objects.

        With firmware_versions=False the caller does not need current_version: a platform whose
        listing lacks it skips the extra reads (current_version is then None).
        """
        raise NotImplementedError

    def get_devices(self, ids):
        """Dict id -> Device for the ids that exist; unknown ids are simply absent."""
        raise NotImplementedError

    def list_firmwares(self, devices=None, product=None, hardware_version=None):
        """Catalog entries (released or not) relevant to `devices`, or filtered by product/hardware."""
        raise NotImplementedError

    def firmware_fits(self, firmware, device):
        """True when the vendor would accept `firmware` for `device`."""
        if firmware.product is not None and firmware.product != device.product:
            return False
        if firmware.hardware_version is not None and device.hardware_version is not None:
            return firmware.hardware_version == device.hardware_version
        return True

    def firmware_misfit(self, firmware, device):
        """Why `firmware` does not fit `device` (a sentence for the plan), or None to let the plan say it generically."""
        return None

    def last_upgrade_failed(self, device):
        """True when the vendor says the device's last upgrade failed, False when it says it did not, None when it does not say."""
        return None

    def upgrade_blocker(self, firmware, device):
        """Why the vendor would refuse to install `firmware` on `device` now (a text), or None.

        Asked at plan time for every device that would be upgraded, so that check mode and
        the real run agree; such a device is reported failed and nothing is sent for it.
        """
        return None

    def start_upgrade(self, firmware, devices):
        """Ask the vendor to install `firmware` on `devices`; dict id -> StartResult.

        Sends as few requests as the vendor allows and records job ids in self.jobs.
        """
        raise NotImplementedError

    def poll(self, devices):
        """Dict id -> Progress for devices being upgraded."""
        raise NotImplementedError


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
    platform = options['platform']
    client = _platform_client(platform, options, transport, concurrency)
    client.account = '%s\n%s' % (options.get('username') or options.get('access_key') or '', options.get('org_id') or '')
    return client


def _platform_client(platform, options, transport, concurrency):
    if platform == 'magewell':
        from ansible_collections.fleetota.cloud.plugins.module_utils._platforms.magewell import MagewellClient
        return MagewellClient(transport, options['username'], options['password'])
    if platform == 'enos':
        from ansible_collections.fleetota.cloud.plugins.module_utils._platforms.enos import EnosClient
        return EnosClient(transport, options['access_key'], options['secret_key'], options['org_id'])
    if platform == 'tuya':
        from ansible_collections.fleetota.cloud.plugins.module_utils._platforms.tuya import TuyaClient
        return TuyaClient(transport, options['access_key'], options['secret_key'], max_concurrency=concurrency,
                          rate_limit=options.get('rate_limit'), token_cache=options.get('token_cache'))
    if platform == 'tuya_iotcore':
        from ansible_collections.fleetota.cloud.plugins.module_utils._platforms.tuya_iotcore import TuyaIotCoreClient
        return TuyaIotCoreClient(transport, options['access_key'], options['secret_key'], device_cache=options.get('device_cache'))
    raise ConfigError("platform '%s' is not supported" % platform)  # unreachable: validate_connection checked it
