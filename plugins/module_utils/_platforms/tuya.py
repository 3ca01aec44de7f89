# -*- coding: utf-8 -*-
# Copyright (c) fleetota.cloud developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Tuya Cloud OpenAPI: the only place that knows its paths, fields, codes and quirks.

Documented (vendors/tuya.md part A): HMAC-SHA256 request signing; the access token from
GET /v1.0/token?grant_type=1 (2 h) and its single-use refresh token (GET /v1.0/token/{refresh});
errors as HTTP 200 with success=false and a numeric `code`; per device and per channel
firmware: GET /v2.0/cloud/thing/{id}/firmware, POST .../firmware/{channel} to start,
GET .../firmware/{channel}/progress; device reads GET /v2.0/cloud/thing/batch (<= 20 ids)
and the paginated GET /v1.3/iot-03/devices (<= 200 per page).

How Tuya firmware maps onto the vendor-neutral model:

* Tuya has no firmware catalog. What a device's firmware endpoint reports IS its catalog:
  per channel, the running version and, when the cloud offers one, the upgradable version.
  list_firmwares(devices=...) turns that into per-device Firmware entries with
  extra={'device_id', 'channel', ...} and ids '<device id>:<channel>:<version>', so the
  engine, which groups starts by firmware id, sends exactly one start per device/channel,
  as the API requires. Without devices there is nothing to list (Tuya has no catalog call).
* A device's `current_version` is the version of its main channel: channel 0 (main
  module) when reported, else the lowest channel number (ASSUMPTION: the main channel is
  what users mean by "the firmware"; other channels, e.g. 9 = MCU, are listed by
  firmware_info but not upgraded by firmware_upgrade).
* Tuya only installs the version it offers, and only offers a newer one. Hence: `latest`
  is the offered version (or the running one: already current); an explicit `version`
  the device's endpoint does not offer is not in that device's catalog (incompatible, or a
  clear error when no device offers it); allow_downgrade cannot make Tuya install an older
  version, so it has no effect; force cannot re-install the running version: the device is
  reported failed with that reason, and no request is sent.
* can_upgrade=false (the device's data-point conditions are not met) with its `remind`
  text is reported, at plan time (check mode says so too), as that device's failure
  reason; no start is sent for it (upgrade_blocker).

Quotas: Tuya limits requests per cloud project and per API (requests/second). The rows for
the firmware and device APIs are not published; vendors/tuya.md A.9 assumes 10/s for reads
and 4/s for starting an upgrade (ASSUMPTION, READ_RATE / WRITE_RATE below). A token bucket
per API keeps the client under that, whatever max_concurrency is; codes 1110/1199 (over
the limit) are retried with backoff.

The access token is reused by every call of one run and cached between runs in a file
readable only by the user (TokenCache): never the secret, and keyed by a hash of endpoint
and access key.
"""

import datetime
import json
import re
import threading
import time
import uuid

from concurrent.futures import ThreadPoolExecutor

from ansible_collections.fleetota.cloud.plugins.module_utils._cache import AccountCache, NoLock, cache_path
from ansible_collections.fleetota.cloud.plugins.module_utils._client import PlatformClient
from ansible_collections.fleetota.cloud.plugins.module_utils._errors import (
    ApiError,
    AuthError,
    ConfigError,
    NetworkError,
    OutcomeUnknownError,
    RateLimitError,
)
from ansible_collections.fleetota.cloud.plugins.module_utils._models import Device, Firmware, Progress, StartResult, int_or as _int
from ansible_collections.fleetota.cloud.plugins.module_utils._pacing import RetryBudget, TokenBucket
from ansible_collections.fleetota.cloud.plugins.module_utils._signing import tuya_sign, tuya_string_to_sign

PATH_TOKEN = '/v1.0/token'
PATH_REFRESH = '/v1.0/token/%s'
PATH_BATCH = '/v2.0/cloud/thing/batch'
PATH_DEVICES = '/v1.3/iot-03/devices'
PATH_FIRMWARE = '/v2.0/cloud/thing/%s/firmware'
PATH_START = '/v2.0/cloud/thing/%s/firmware/%s'
PATH_PROGRESS = '/v2.0/cloud/thing/%s/firmware/%s/progress'

# Device listing for the inventory. Of the documented paginated listings (A.7),
# GET /v1.3/iot-03/devices takes up to 200 devices per page with a cursor (last_row_key +
# has_more) and reports product_id and online; GET /v2.0/cloud/thing/device stops at 20
# per page and /v1.0/users/{uid}/devices needs a user. 200 per page = 5 calls per 1,000
# devices instead of 50, and the cursor does not skip or repeat devices while the fleet changes.
DEVICES_PAGE_SIZE = 200
# GET /v2.0/cloud/thing/batch takes at most 20 device ids (documented).
BATCH_SIZE = 20

# Global error codes (documented, A.8).
SIGN_INVALID = 1004
CLIENT_ID_INVALID = 1005
SECRET_INVALID = 1001
TOKEN_NULL = 1002
TOKEN_EXPIRED = 1010
TOKEN_INVALID = 1011
TOKEN_STATUS_INVALID = 1012
TIME_INVALID = 1013
PERMISSION_DENY = 1106
OVER_LIMIT = 1110
TOO_FREQUENT = 1199
DEVICE_OFFLINE = 2001
DEVICE_NOT_EXIST = 2010
TOKEN_CODES = frozenset((TOKEN_NULL, TOKEN_EXPIRED, TOKEN_INVALID, TOKEN_STATUS_INVALID))
RATE_LIMIT_CODES = frozenset((OVER_LIMIT, TOO_FREQUENT))  # 1110 public list, 1199 private-cloud list

# upgrade_status (A.6.5, documented values).
STATUS_NONE = 0
STATUS_READY = 1
STATUS_UPGRADING = 2
STATUS_DONE = 3
STATUS_FAILED = 4
STATUS_TIMEOUT = 7
# An offered version can be started from these states (ASSUMPTION: a failed or timed-out
# upgrade may be started again, as the app offers it again).
STARTABLE = frozenset((STATUS_READY, STATUS_FAILED, STATUS_TIMEOUT))

MAIN_CHANNEL = 0
CHANNEL_NAMES = {0: 'main module', 1: 'Bluetooth', 2: 'GPRS', 3: 'Zigbee', 5: '433 MHz', 6: 'NB-IoT', 9: 'MCU'}

# ASSUMPTION (A.9): per-API limits of the firmware and device APIs are not published.
READ_RATE = 10.0
WRITE_RATE = 4.0

# Refresh the access token when less than this is left (as Tuya's own connector does).
REFRESH_MARGIN = 60.0
DEFAULT_EXPIRE = 7200

_DEVICE_ID_RE = re.compile(r'^[A-Za-z0-9_\-]{1,64}$')


TOKEN_CACHE_FILE = 'tuya-tokens.json'


class TokenCache(AccountCache):
    """Access tokens between runs: per account, the access token, the refresh token and the
    expiry (epoch seconds); never the secret. A broken entry only costs one more token request."""

    def load(self):
        entry = super().load()
        if not isinstance(entry, dict) or not entry.get('access_token'):
            return None
        return entry


def _iso_time(value):
    """Tuya times are epoch seconds or milliseconds (both seen); ISO 8601 UTC or None."""
    number = _int(value)
    if not number:
        return None
    if number > 10 ** 11:
        number //= 1000
    try:
        return datetime.datetime.fromtimestamp(number, tz=datetime.timezone.utc).strftime('%Y-%m-%dT%H:%M:%SZ')
    except (ValueError, OverflowError, OSError):
        return None


def firmware_channels(result):
    """The firmware endpoint's result as {channel: item}; accepts a list or a single object,
    and `type` or `channel` for the channel (the documented table and example disagree)."""
    if result is None:
        return {}
    items = result if isinstance(result, list) else [result]
    channels = {}
    for item in items:
        if not isinstance(item, dict):
            continue
        channel = _int(item.get('type'), None)
        if channel is None:
            channel = _int(item.get('channel'), MAIN_CHANNEL)
        channels[channel] = item
    return channels


def main_channel(channels):
    if not channels:
        return None
    return MAIN_CHANNEL if MAIN_CHANNEL in channels else min(channels)


def _offers(item):
    """The version the cloud offers for this channel, or None."""
    version = item.get('version')
    status = _int(item.get('upgrade_status'), STATUS_NONE)
    if not version or version == item.get('current_version'):
        return None
    return version if status in STARTABLE or status == STATUS_UPGRADING else None


def normalize_device(info, channels):
    """A Device from a batch/list entry plus its firmware channels."""
    channel = main_channel(channels)
    item = channels.get(channel) or {}
    online = info.get('is_online') if 'is_online' in info else info.get('online')
    product = info.get('product_id')
    return Device(
        id=info.get('id'),
        name=info.get('custom_name') or info.get('name'),
        product=None if product is None else str(product),
        hardware_version=None,
        online=None if online is None else bool(online),
        current_version=item.get('current_version'),
        upgrading=_int(item.get('upgrade_status')) == STATUS_UPGRADING,
        extra={
            'channel': channel,
            'product_name': info.get('product_name'),
            'category': info.get('category'),
            'channels': dict((str(number), {
                'current_version': entry.get('current_version'),
                'version': entry.get('version'),
                'upgrade_status': _int(entry.get('upgrade_status')),
                'can_upgrade': entry.get('can_upgrade'),
                'remind': entry.get('remind'),
                'type_desc': entry.get('type_desc'),
            }) for number, entry in sorted(channels.items())),
        },
    )


def channel_firmwares(device_id, product, channels):
    """Per-device catalog entries: the running version of each channel and the offered one."""
    firmwares = []
    for channel, item in sorted(channels.items()):
        label = item.get('type_desc') or CHANNEL_NAMES.get(channel, 'channel %d' % channel)
        common = {'device_id': device_id, 'channel': channel, 'upgrade_status': _int(item.get('upgrade_status')),
                  'can_upgrade': item.get('can_upgrade') is not False, 'remind': item.get('remind')}
        current = item.get('current_version')
        if current:
            firmwares.append(Firmware(
                id='%s:%s:%s' % (device_id, channel, current), version=current, product=product, released=True,
                name='%s (channel %d) of %s' % (label, channel, device_id), extra=dict(common, installed=True)))
        offered = _offers(item)
        if offered:
            size = _int(item.get('file_size'))
            firmwares.append(Firmware(
                id='%s:%s:%s' % (device_id, channel, offered), version=offered, product=product, released=True,
                name='%s (channel %d) of %s' % (label, channel, device_id), description=item.get('desc'),
                size=size, checksum=item.get('md5') or None, checksum_algorithm='md5' if item.get('md5') else None,
                created=_iso_time(item.get('firmware_deploy_time')), extra=dict(common, installed=False)))
    return firmwares


def describe_status(status):
    return {STATUS_FAILED: 'failed (upgrade_status 4)', STATUS_TIMEOUT: 'timed out on the device (upgrade_status 7)'}.get(
        status, 'upgrade_status %s' % status)


class TuyaClient(PlatformClient):
    platform = 'tuya'

    def __init__(self, transport, access_key, secret_key, max_concurrency=8, rate_limit=None, token_cache=None,
                 clock=time.time, monotonic=time.monotonic, sleep=None):
        super().__init__(transport)
        self.access_key = access_key
        self._secret = secret_key
        self.max_concurrency = max(1, int(max_concurrency or 1))
        self.clock = clock
        self.sleep = sleep or transport.retry.sleep
        read = float(rate_limit) if rate_limit else READ_RATE
        write = min(read, WRITE_RATE)
        self._buckets = dict((api, TokenBucket(write if api == 'start' else read, clock=monotonic, sleep=self.sleep))
                             for api in ('token', 'devices', 'batch', 'firmware', 'start', 'progress'))
        self._token_lock = threading.Lock()
        self._token = None
        path = cache_path(token_cache, TOKEN_CACHE_FILE)
        self._cache = TokenCache(path, transport.endpoint, access_key) if path else None
        self._channels = {}
        self._channels_lock = threading.Lock()

    # -- signing and tokens --------------------------------------------------------------

    def _headers(self, method, path, query, body, access_token):
        t = str(int(self.clock() * 1000))
        nonce = uuid.uuid4().hex
        sign = tuya_sign(self._secret, self.access_key, t, tuya_string_to_sign(method, path, query, body), access_token=access_token, nonce=nonce)
        headers = {'client_id': self.access_key, 't': t, 'sign_method': 'HMAC-SHA256', 'nonce': nonce, 'sign': sign, 'lang': 'en'}
        if access_token:
            headers['access_token'] = access_token
        if body:
            headers['Content-Type'] = 'application/json'
        return headers

    def _send(self, api, method, path, query=None, body=b'', access_token='', what=None, safe_to_retry=None):
        """One signed request; retries Tuya's over-limit codes with backoff. Returns the JSON envelope."""
        budget = RetryBudget(self.transport.retry, sleep=self.sleep)
        while True:
            self._buckets[api].acquire()
            headers = self._headers(method, path, query, body, access_token)
            response = self.transport.request(method, path, params=query, data=body or None, headers=headers, safe_to_retry=safe_to_retry, what=what)
            envelope = self.transport.json(response, what)
            if not isinstance(envelope, dict) or 'success' not in envelope:
                # After a write, its outcome is unknown (OutcomeUnknownError): the device's state is read again.
                raise self.transport.unexpected(response, what, 'JSON that is not a Tuya envelope')
            code = _int(envelope.get('code'))
            if envelope.get('success') is False and code in RATE_LIMIT_CODES:
                if budget.again():
                    continue
                raise RateLimitError('%s: Tuya kept answering %s (%s) after %d attempts; lower rate_limit or max_concurrency, or try later'
                                     % (what, code, envelope.get('msg'), budget.refusals), code=code, request_id=envelope.get('tid'))
            return envelope

    def _token_request(self, refresh_token=None):
        if refresh_token:
            path, query, what = PATH_REFRESH % refresh_token, None, 'Tuya token refresh for access key %s' % self.access_key
        else:
            path, query, what = PATH_TOKEN, {'grant_type': '1'}, 'Tuya token request for access key %s' % self.access_key
        try:
            envelope = self._send('token', 'GET', path, query, what=what)
        except NetworkError as exc:
            # The refresh token is part of the URL; never let it into a message.
            raise type(exc)(str(exc).replace(refresh_token, '***') if refresh_token else str(exc))
        if envelope.get('success') is not True or not isinstance(envelope.get('result'), dict):
            self._raise(envelope, what)
        result = envelope['result']
        expire = _int(result.get('expire_time'), None) or _int(result.get('expire'), DEFAULT_EXPIRE)
        if not result.get('access_token'):
            raise AuthError('%s: the answer holds no access token' % what)
        return {'access_token': result['access_token'], 'refresh_token': result.get('refresh_token'),
                'expires_at': self.clock() + expire, 'uid': result.get('uid')}

    def _valid(self, token):
        """True for a token with more than REFRESH_MARGIN seconds left (a malformed cache entry is not valid)."""
        try:
            return token is not None and float(token.get('expires_at') or 0) - self.clock() > REFRESH_MARGIN
        except (TypeError, ValueError, AttributeError):
            return False

    def _access_token(self, stale=None):
        """The access token to sign with; a new one when `stale` (refused by the cloud) is the one held.

        Threads share one token (under a lock); runs share it through the cache file, locked
        while a token is fetched, so parallel runs (Ansible forks) fetch one between them.
        """
        with self._token_lock:
            held = self._token
            if self._valid(held) and (stale is None or held['access_token'] != stale):
                return held['access_token']
            with self._cache_lock():
                cached = self._cache.load() if self._cache is not None else None
                if self._valid(cached) and (stale is None or cached['access_token'] != stale):
                    self._token = cached    # another run fetched or refreshed it meanwhile
                    return cached['access_token']
                token = None
                current = held or cached
                if stale is None and current is not None and current.get('refresh_token'):
                    try:
                        token = self._token_request(current['refresh_token'])
                    except ApiError:
                        token = None  # single use: another run may have refreshed it first; fall back to a new token
                self._token = None
                self._token = token or self._token_request()
                self._cache_store()
                return self._token['access_token']

    def _cache_lock(self):
        return self._cache.locked() if self._cache is not None else NoLock()

    def _cache_store(self):
        if self._cache is not None and self._token is not None:
            self._cache.store(dict((key, self._token.get(key)) for key in ('access_token', 'refresh_token', 'expires_at', 'uid')))

    def _raise(self, envelope, what):
        code = _int(envelope.get('code'))
        msg = envelope.get('msg') or 'no message'
        tid = envelope.get('tid')
        text = '%s failed: Tuya code %s (%s)' % (what, code, msg)
        if code == SIGN_INVALID:
            raise AuthError('%s. The signature was refused: check secret_key for access key %s (the Access Secret of the cloud project).'
                            % (text, self.access_key), code=code, request_id=tid)
        if code in (SECRET_INVALID, CLIENT_ID_INVALID):
            raise AuthError('%s. Check access_key and secret_key (Access ID / Access Secret of the cloud project).' % text, code=code, request_id=tid)
        if code == TIME_INVALID:
            raise AuthError('%s. The clock of the host running the task is off; Tuya refuses requests whose time t is not current.' % text,
                            code=code, request_id=tid)
        if code == PERMISSION_DENY:
            raise AuthError('%s. The project may not use this API or this device, or the endpoint is not the data center of the device.' % text,
                            code=code, request_id=tid)
        if code in TOKEN_CODES:
            raise AuthError('%s. A fresh access token was refused too.' % text, code=code, request_id=tid)
        raise ApiError(text, code=code, request_id=tid)

    def _call(self, api, method, path, query=None, json_body=None, what=None, safe_to_retry=None):
        """A business call: signed with the access token; a refused token is renewed once."""
        what = what or 'Tuya %s %s' % (method, path)
        body = b'' if json_body is None else json.dumps(json_body, separators=(',', ':')).encode('utf-8')
        token = self._access_token()
        for attempt in (1, 2):
            envelope = self._send(api, method, path, query, body, access_token=token, what=what, safe_to_retry=safe_to_retry)
            if envelope.get('success') is True:
                return envelope.get('result')
            if _int(envelope.get('code')) in TOKEN_CODES and attempt == 1:
                token = self._access_token(stale=token)
                continue
            self._raise(envelope, what)
        raise AuthError('%s: could not keep an access token' % what)  # not reached

    # -- concurrency ---------------------------------------------------------------------

    def _map(self, function, items):
        """function(item) for every item, up to max_concurrency at a time; results in order."""
        items = list(items)
        if len(items) <= 1 or self.max_concurrency == 1:
            return [function(item) for item in items]
        with ThreadPoolExecutor(max_workers=min(self.max_concurrency, len(items))) as pool:
            return list(pool.map(function, items))

    # -- reads ---------------------------------------------------------------------------

    def _firmware(self, device_id):
        result = self._call('firmware', 'GET', PATH_FIRMWARE % device_id, what='Tuya firmware info of device %s' % device_id)
        channels = firmware_channels(result)
        with self._channels_lock:
            self._channels[device_id] = channels
        return channels

    def _with_firmware(self, infos):
        channels = self._map(lambda info: self._firmware(info['id']), infos)
        return [normalize_device(info, chans) for info, chans in zip(infos, channels)]

    def list_devices(self, firmware_versions=True):
        infos = []
        last_row_key = None
        while True:
            query = {'page_size': DEVICES_PAGE_SIZE}
            if last_row_key:
                query['last_row_key'] = last_row_key
            result = self._call('devices', 'GET', PATH_DEVICES, query, what='Tuya device list') or {}
            page = result.get('list') or []
            infos.extend(info for info in page if isinstance(info, dict) and info.get('id'))
            last_row_key = result.get('last_row_key')
            if not result.get('has_more') or not page or not last_row_key:
                break
        if not firmware_versions:
            # The listing has no firmware field; a version costs one request per device.
            return [normalize_device(info, {}) for info in infos]
        return self._with_firmware(infos)

    def get_devices(self, ids):
        ids = list(ids)
        for device_id in ids:
            if not _DEVICE_ID_RE.match(device_id):
                raise ConfigError("device id '%s' is not a Tuya device id: expected letters, digits, '_' or '-' (up to 64)" % device_id)
        chunks = [ids[start:start + BATCH_SIZE] for start in range(0, len(ids), BATCH_SIZE)]
        pages = self._map(lambda chunk: self._call('batch', 'GET', PATH_BATCH, {'device_ids': ','.join(chunk)},
                                                   what='Tuya device batch query (%d ids)' % len(chunk)), chunks)
        wanted = set(ids)
        infos = []
        for page in pages:
            for info in page if isinstance(page, list) else (page or {}).get('list') or []:
                if isinstance(info, dict) and info.get('id') in wanted:
                    wanted.discard(info['id'])
                    infos.append(info)
        return dict((device.id, device) for device in self._with_firmware(infos))

    def _channels_of(self, device):
        with self._channels_lock:
            channels = self._channels.get(device.id)
        return channels if channels is not None else self._firmware(device.id)

    def list_firmwares(self, devices=None, product=None, hardware_version=None):
        if not devices or hardware_version is not None:
            return []  # no catalog call exists; and Tuya devices have no hardware version to filter on
        firmwares = []
        for device, channels in zip(devices, self._map(self._channels_of, devices)):
            if product is not None and device.product != str(product):
                continue
            firmwares.extend(channel_firmwares(device.id, device.product, channels))
        return firmwares

    def firmware_fits(self, firmware, device):
        return firmware.extra.get('device_id') == device.id and firmware.extra.get('channel') == device.extra.get('channel')

    def last_upgrade_failed(self, device):
        # upgrade_status of the main channel: 4 failed, 7 timed out; any other documented value means it did not fail.
        status = ((device.extra.get('channels') or {}).get(str(device.extra.get('channel'))) or {}).get('upgrade_status')
        if status is None:
            return None
        return status in (STATUS_FAILED, STATUS_TIMEOUT)

    def firmware_misfit(self, firmware, device):
        channel = device.extra.get('channel')
        if firmware.extra.get('device_id') == device.id:
            return 'firmware %s is for channel %s of device %s; only its main channel %s is upgraded' % (
                firmware.id, firmware.extra.get('channel'), device.id, channel)
        item = (device.extra.get('channels') or {}).get(str(channel)) or {}
        return 'Tuya does not offer %s to device %s: it runs %s on channel %s and is offered %s' % (
            firmware.version, device.id, item.get('current_version') or 'an unknown version', channel, _offers(item) or 'no other version')

    # -- upgrade -------------------------------------------------------------------------

    def start_upgrade(self, firmware, devices, upgrade_timeout=None):
        return dict(self._map(lambda device: (device.id, self._start_one(firmware, device)), devices))

    def upgrade_blocker(self, firmware, device):
        if firmware.extra.get('installed'):
            return ('Tuya only installs the version it offers; it cannot re-install the running version %s (force has no effect on Tuya)'
                    % firmware.version)
        if not firmware.extra.get('can_upgrade', True):
            return 'Tuya says the device cannot be upgraded now: %s' % (firmware.extra.get('remind') or 'can_upgrade is false, no reason given')
        return None

    def _start_one(self, firmware, device):
        channel = firmware.extra['channel']
        blocker = self.upgrade_blocker(firmware, device)   # the plan already reported these; never send them
        if blocker:
            return StartResult(StartResult.FAILED, blocker)
        what = 'Tuya upgrade start of device %s channel %s to %s' % (device.id, channel, firmware.version)
        try:
            self._call('start', 'POST', PATH_START % (device.id, channel), what=what, safe_to_retry=False)
        except OutcomeUnknownError as exc:
            # Never sent again: the engine re-reads the device and waits for any sign of this request.
            return StartResult(StartResult.UNKNOWN, str(exc))
        except ApiError as exc:
            if isinstance(exc, (AuthError, RateLimitError)):
                raise
            if exc.code == DEVICE_OFFLINE:
                return StartResult(StartResult.OFFLINE, 'device offline (Tuya code 2001); Tuya queues nothing, the upgrade was not started')
            return self._reread_after(device, channel, str(exc))
        return StartResult(StartResult.STARTED)

    def _reread_after(self, device, channel, reason):
        """After a refused start, the device's own state says whether an upgrade runs anyway."""
        try:
            item = self._firmware(device.id).get(channel) or {}
        except ApiError:
            return StartResult(StartResult.FAILED, reason)
        if _int(item.get('upgrade_status')) == STATUS_UPGRADING:
            return StartResult(StartResult.IN_PROGRESS, 'already upgrading (%s); waiting for it' % reason)
        return StartResult(StartResult.FAILED, reason)

    def poll(self, devices):
        return dict(self._map(lambda device: (device.id, self._progress(device)), devices))

    def _progress(self, device):
        channel = device.extra.get('channel', MAIN_CHANNEL)
        result = self._call('progress', 'GET', PATH_PROGRESS % (device.id, channel),
                            what='Tuya upgrade progress of device %s channel %s' % (device.id, channel)) or {}
        status = _int(result.get('upgrade_status'))
        if status == STATUS_UPGRADING:
            return Progress(Progress.UPGRADING, device.current_version, 'upgrading %s%%' % _int(result.get('progress'), 0))
        if status in (STATUS_FAILED, STATUS_TIMEOUT):
            return Progress(Progress.FAILED, device.current_version, describe_status(status),
                            'Tuya reports the upgrade %s' % describe_status(status))
        # Done (3) or idle: the firmware endpoint tells the version now running.
        item = self._firmware(device.id).get(channel) or {}
        if _int(item.get('upgrade_status')) == STATUS_UPGRADING:
            return Progress(Progress.UPGRADING, item.get('current_version'), 'upgrading')
        return Progress(Progress.IDLE, item.get('current_version'), 'idle' if status != STATUS_DONE else 'completed')
