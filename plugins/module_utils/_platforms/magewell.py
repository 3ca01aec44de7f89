# -*- coding: utf-8 -*-
# Copyright (c) fleetota.cloud developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Magewell Control Cloud (`/sc_cloud`): the only place that knows its paths, fields and quirks.

Documented: login (id + MD5 of the password, multipart) giving cookies mwcloud-sid /
mwcloud-uid; get-devs, get-dev, get-all-firmwares; upgrade/start, which takes devices of
one product family + model + hardware version per request and answers per SN (0 ok,
1 repeat operation). Assumed (the vendor's "API Status" page could not be found; see
RESULT_CODES and the ASSUMPTIONS notes below, the one place to correct them).
"""

import datetime
import json
import posixpath

from ansible_collections.fleetota.cloud.plugins.module_utils._client import PlatformClient
from ansible_collections.fleetota.cloud.plugins.module_utils._errors import ApiError, AuthError, FleetotaError, OutcomeUnknownError
from ansible_collections.fleetota.cloud.plugins.module_utils._models import Device, Firmware, Progress, StartResult
from ansible_collections.fleetota.cloud.plugins.module_utils._signing import magewell_password_hash

# Result codes. Documented: 0, 1 (repeat operation, inside upgrade/start details), -1, -14.
# ASSUMPTION (vendors/magewell_enos.md A.3): the rest, until Magewell's API Status table is found.
OK = 0
REPEAT_OPERATION = 1
PASSWORD_INCORRECT = -1
NOT_LOGGED_IN = -2
NO_PERMISSION = -3
DEVICE_OFFLINE = -5
RESULT_CODES = {
    OK: 'success',
    REPEAT_OPERATION: 'repeat operation: an upgrade is already in progress',
    PASSWORD_INCORRECT: 'password incorrect',
    NOT_LOGGED_IN: 'not logged in or session expired',
    NO_PERMISSION: 'no permission: the user needs administrator rights',
    -4: 'invalid argument',
    DEVICE_OFFLINE: 'device offline',
    -6: 'firmware does not match the device family, model or hardware version',
    -7: 'device busy',
    -8: 'firmware install failed on the device',
    -14: 'user or object does not exist',
}

# firmware-id in get-all-firmwares is the firmware *type*: 1 = test version (documented).
TEST_FIRMWARE_TYPE = 1

# ASSUMPTION: no batch limit is documented for upgrade/start; we cap a request at this many SNs.
UPGRADE_BATCH_SIZE = 500

# Up to this many devices, one get-dev per device; beyond, one get-devs per product family
# (the list endpoint returns every device, so it only pays off for larger sets).
PER_DEVICE_LOOKUP_LIMIT = 20

PATH_LOGIN = '/sc_cloud/login'
PATH_LOGOUT = '/sc_cloud/logout'
PATH_DEVICES = '/sc_cloud/scapi/get-devs'
PATH_DEVICE = '/sc_cloud/scapi/get-dev'
PATH_FIRMWARES = '/sc_cloud/scapi/get-all-firmwares'
PATH_UPGRADE = '/sc_cloud/upgrade/start'


def describe(code):
    return '%s (result %s)' % (RESULT_CODES.get(code, 'unknown result code'), code)


def firmware_version(item):
    return '%s.%s.%s' % (item.get('marjor-ver'), item.get('minor-ver'), item.get('build-number'))


def _iso_time(epoch):
    if not epoch:
        return None
    try:
        return datetime.datetime.fromtimestamp(int(epoch), tz=datetime.timezone.utc).strftime('%Y-%m-%dT%H:%M:%SZ')
    except (TypeError, ValueError, OverflowError, OSError):
        return None


def _int(value, default=0):
    try:
        return int(value)
    except (TypeError, ValueError):
        return default


def normalize_device(dev):
    status = dev.get('status') or {}
    uploading = _int(dev.get('is-upload-file')) == 1
    step = _int(status.get('upgrade-step'))
    product = status.get('product-id')
    return Device(
        id=dev.get('sn'),
        name=status.get('name'),
        product=None if product is None else str(product),
        hardware_version=status.get('hardware-ver'),
        online=_int(dev.get('online-date')) > 0,
        current_version=status.get('firmware-ver'),
        upgrading=uploading or 1 <= step <= 4,
        extra={
            'family': _int(dev.get('module')),
            'family_name': status.get('module-name'),
            'upload_position': _int(dev.get('upload-file-pos')),
            'upgrade_step': step,
            'upgrade_result': _int(status.get('upgrade-ret')),
            'uploading': uploading,
        },
    )


def normalize_firmware(item):
    product = item.get('product-id')
    path = item.get('file-path')
    return Firmware(
        id=str(item.get('id')),
        version=firmware_version(item),
        product=None if product is None else str(product),
        hardware_version=item.get('hardware-ver'),
        released=_int(item.get('firmware-id')) != TEST_FIRMWARE_TYPE,
        name=posixpath.basename(path) if path else None,
        created=_iso_time(item.get('upload-date')),
        extra={'catalog_id': item.get('id'), 'file_path': path, 'type': item.get('firmware-id')},
    )


def progress_of(device):
    """Read an upgrade's progress from the device object (there is no progress endpoint).

    ASSUMPTION (A.6): uploading while is-upload-file == 1, installing while upgrade-step is
    1..4, rebooting while offline right after; a non-zero upgrade-ret once idle is a failure.
    """
    extra = device.extra
    if extra['uploading']:
        return Progress(Progress.UPGRADING, device.current_version, 'uploading %d%%' % extra['upload_position'])
    if 1 <= extra['upgrade_step'] <= 4:
        return Progress(Progress.UPGRADING, device.current_version, 'installing, step %d of 4' % extra['upgrade_step'])
    if extra['upgrade_result'] != OK:
        return Progress(Progress.FAILED, device.current_version, 'failed', 'the device reported ' + describe(extra['upgrade_result']))
    if not device.online:
        return Progress(Progress.UPGRADING, device.current_version, 'offline (rebooting?)')
    return Progress(Progress.IDLE, device.current_version, 'idle')


class MagewellClient(PlatformClient):
    platform = 'magewell'

    def __init__(self, transport, username, password):
        super().__init__(transport)
        self.username = username
        # Only the hash is kept: it is what the API takes, and the clear text is not needed again.
        self._password_hash = magewell_password_hash(password)
        self._sid = None

    # -- session -------------------------------------------------------------------------

    def _login(self):
        what = 'Magewell login as %s' % self.username
        response = self.transport.request('POST', PATH_LOGIN, files={'id': (None, self.username), 'pass': (None, self._password_hash)},
                                          safe_to_retry=True, what=what)
        body = self.transport.json(response, what)
        result = body.get('result')
        if result != OK or not body.get('sid'):
            raise AuthError('%s failed: %s. Check username and password.' % (what, describe(result)), code=result)
        self._sid = body['sid']

    def _cookies(self):
        # Built from the login answer rather than Set-Cookie, whose attributes are undocumented.
        return 'mwcloud-sid=%s; mwcloud-uid=%s' % (self._sid, self.username)

    def _call(self, method, path, params=None, json_body=None, safe_to_retry=None, what=None):
        """One API call with the session cookie; logs in first, and once more if the session died."""
        what = what or 'Magewell %s' % path
        for attempt in (1, 2):
            if self._sid is None:
                self._login()
            headers = {'Cookie': self._cookies()}
            data = None
            if json_body is not None:
                data = json.dumps(json_body, separators=(',', ':')).encode('utf-8')
                headers['Content-Type'] = 'application/json;charset=utf-8'
            response = self.transport.request(method, path, params=params, data=data, headers=headers, safe_to_retry=safe_to_retry, what=what)
            body = self.transport.json(response, what)
            if not isinstance(body, dict) or 'result' not in body:
                # A write answered this way was processed or not: OutcomeUnknownError (see Transport.unexpected).
                raise self.transport.unexpected(response, what, 'JSON without a result code')
            result = body.get('result')
            if result == NOT_LOGGED_IN and attempt == 1:
                self._sid = None
                continue
            if result == NO_PERMISSION:
                raise AuthError('%s refused for user %s: %s' % (what, self.username, describe(result)), code=result)
            if result == NOT_LOGGED_IN:
                raise AuthError('%s: the session was refused again right after a new login: %s' % (what, describe(result)), code=result)
            if result != OK:
                raise ApiError('%s failed: %s' % (what, describe(result)), code=result)
            return body
        raise AuthError('%s: could not keep a session' % what)  # not reached: the loop returns or raises

    def last_upgrade_failed(self, device):
        # The same reading of upgrade-ret as progress_of (ASSUMPTION A.6): non-zero once idle.
        if device.upgrading:
            return False
        return device.extra.get('upgrade_result', OK) != OK

    def close(self):
        if self._sid is not None:
            try:
                self.transport.request('POST', PATH_LOGOUT, headers={'Cookie': self._cookies()}, safe_to_retry=False, what='Magewell logout')
            except Exception:  # pylint: disable=broad-exception-caught
                pass  # a failed logout must not hide the run's own result; the session expires anyway
            self._sid = None
        super().close()

    # -- reads ---------------------------------------------------------------------------

    def list_devices(self, firmware_versions=True, family=0):
        # The listing carries the firmware version: nothing to skip without it.
        body = self._call('GET', PATH_DEVICES, params={'id': 0, 'module': family}, what='Magewell get-devs')
        return [normalize_device(dev) for dev in body.get('devs') or []]

    def _get_device(self, sn):
        what = 'Magewell get-dev %s' % sn
        try:
            body = self._call('GET', PATH_DEVICE, params={'sn': sn}, what=what)
        except ApiError as exc:
            if exc.code == -14:
                return None
            raise
        return normalize_device(body['dev']) if body.get('dev') else None

    def get_devices(self, ids, families=None):
        ids = list(ids)
        if len(ids) <= PER_DEVICE_LOOKUP_LIMIT:
            found = (self._get_device(sn) for sn in ids)
            return dict((device.id, device) for device in found if device is not None)
        wanted = set(ids)
        devices = []
        for family in sorted(families) if families else [0]:
            devices.extend(self.list_devices(family=family))
        return dict((device.id, device) for device in devices if device.id in wanted)

    def list_firmwares(self, devices=None, product=None, hardware_version=None):
        if devices:
            groups = sorted(set((d.extra['family'], d.product, d.hardware_version) for d in devices if d.product is not None),
                            key=lambda g: tuple(str(part) for part in g))
            items = []
            for family, model, hardware in groups:
                params = {'dev-type': family, 'product-id': model}
                if hardware:
                    params['hardware-ver'] = hardware
                items.extend(self._call('GET', PATH_FIRMWARES, params=params, what='Magewell get-all-firmwares').get('firmwares') or [])
        else:
            items = self._call('GET', PATH_FIRMWARES, params={'dev-type': 0}, what='Magewell get-all-firmwares').get('firmwares') or []
        seen = set()
        firmwares = []
        for item in items:
            firmware = normalize_firmware(item)
            if firmware.id in seen:
                continue
            seen.add(firmware.id)
            if product is not None and firmware.product != str(product):
                continue
            if hardware_version is not None and firmware.hardware_version != hardware_version:
                continue
            firmwares.append(firmware)
        return firmwares

    # -- upgrade -------------------------------------------------------------------------

    def start_upgrade(self, firmware, devices, upgrade_timeout=None):
        # The API's rule: one request per product family + model + hardware version.
        groups = {}
        for device in devices:
            groups.setdefault((device.extra['family'], device.product, device.hardware_version), []).append(device.id)
        results = {}
        for key in sorted(groups, key=lambda g: tuple(str(part) for part in g)):
            sns = groups[key]
            for start in range(0, len(sns), UPGRADE_BATCH_SIZE):
                batch = sns[start:start + UPGRADE_BATCH_SIZE]
                results.update(self._start_batch(firmware, batch))
        return results

    def _start_batch(self, firmware, batch):
        what = 'Magewell upgrade/start of firmware %s (%s) on %d device(s)' % (firmware.id, firmware.version, len(batch))
        try:
            # Not safe to repeat: after a lost answer the original request may still be processed after a
            # retry's upgrade has finished (the cloud answers 1, repeat operation, only while one runs), and
            # the device would be flashed twice. The engine re-reads the devices instead (StartResult.UNKNOWN).
            body = self._call('POST', PATH_UPGRADE, json_body={'sn': batch, 'firmware-id': firmware.extra['catalog_id']}, safe_to_retry=False,
                              what=what)
        except OutcomeUnknownError as exc:
            return dict((sn, StartResult(StartResult.UNKNOWN, str(exc))) for sn in batch)
        except FleetotaError as exc:
            # Refused unprocessed; other batches of this firmware keep their own answers.
            return dict((sn, StartResult(StartResult.FAILED, 'upgrade request failed: %s' % exc)) for sn in batch)
        details = body.get('details')
        details = dict((d.get('sn'), d.get('result')) for d in details if isinstance(d, dict)) if isinstance(details, list) else {}
        return dict((sn, self._start_result(details.get(sn, 'missing'), what)) for sn in batch)

    @staticmethod
    def _start_result(code, what):
        if code == OK:
            return StartResult(StartResult.STARTED)
        if code == REPEAT_OPERATION:
            return StartResult(StartResult.IN_PROGRESS, 'already upgrading (the cloud answered repeat operation); waiting for it')
        if code == 'missing':
            # Processed (result 0), but what it did with this device is not said: the device's state will tell.
            return StartResult(StartResult.UNKNOWN, '%s answered without a result for this device' % what)
        if code == DEVICE_OFFLINE:
            # Refused, nothing started and nothing queued: Magewell keeps no upgrade for a device that reconnects later.
            return StartResult(StartResult.OFFLINE, 'upgrade/start refused: %s; Magewell queues nothing, the upgrade was not started' % describe(code))
        return StartResult(StartResult.FAILED, 'upgrade/start refused: ' + describe(code))

    def poll(self, devices):
        families = set(d.extra.get('family', 0) for d in devices)
        current = self.get_devices([d.id for d in devices], families=families)
        progress = {}
        for device in devices:
            now = current.get(device.id)
            if now is None:
                progress[device.id] = Progress(Progress.FAILED, None, 'gone', 'the device is no longer listed by the cloud')
            else:
                progress[device.id] = progress_of(now)
        return progress
