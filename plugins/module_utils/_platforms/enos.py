# -*- coding: utf-8 -*-
# Copyright (c) fleetota.cloud developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""EnOS Connection Service OTA (`/connect-service/v2.1/...`): the only place that knows its paths, fields and quirks.

Documented (vendors/magewell_enos.md part B): the token service (`apim-token-service/v2.0/token/get`
and `refresh`, encryption = sha256(appKey + timestamp + appSecret), 7200 s tokens); the per-call
signature (sha256(token + sorted query key+value + body bytes + timestamp + secret)) in the headers
apim-accesstoken / apim-signature / apim-timestamp; `orgId` on every call; the JSON envelope with
`code`, `msg`, `requestId`, `data` and `pagination` (pageSize at most 200); firmware get/search,
searchDeviceUpgrade, device search, OTA jobs (create, search, start, stop, cancelTask, retryTask) and their tasks (searchTask);
the public error codes 99400/99403/99404/99500, the OTA codes 24xxx and the token codes 1001-1204.

Assumed where the vendor is silent: marked ASSUMPTION below, in this file only.
"""

import json
import math
import time
import uuid

from ansible_collections.fleetota.cloud.plugins.module_utils._client import PlatformClient, TaskWords, task_cancel_result
from ansible_collections.fleetota.cloud.plugins.module_utils._errors import (
    ApiError,
    AuthError,
    ConfigError,
    FleetotaError,
    OutcomeUnknownError,
)
from ansible_collections.fleetota.cloud.plugins.module_utils._models import Device, Firmware, Progress, StartResult
from ansible_collections.fleetota.cloud.plugins.module_utils._pacing import RetryBudget, doubling_pauses
from ansible_collections.fleetota.cloud.plugins.module_utils._signing import enos_signed_headers, enos_token_encryption

PATH_TOKEN_GET = '/apim-token-service/v2.0/token/get'
PATH_TOKEN_REFRESH = '/apim-token-service/v2.0/token/refresh'
PATH_FIRMWARES = '/connect-service/v2.1/ota-firmwares'
PATH_JOBS = '/connect-service/v2.1/ota-jobs'
PATH_DEVICES = '/connect-service/v2.1/devices'

# -- codes ------------------------------------------------------------------------------
OK = 0
# Token service / gateway (documented).
TOKEN_DUPLICATED = 1001
TOKEN_EXPIRED = 1203
TOKEN_CODES = {
    1001: 'repeated request with a duplicated encryption',
    1002: 'the app key does not exist',
    1003: 'the encryption or signature is not valid',
    1004: 'invalid parameter',
    1005: 'token service internal error',
    1202: 'a required parameter is empty',
    1203: 'the access token has expired',
    1204: 'failed to refresh the access token',
}
TOKEN_HINTS = {
    1002: 'check access_key (the EnOS application key)',
    1003: 'check secret_key (the EnOS application secret)',
    # ASSUMPTION: the gateway answers 1004 to a timestamp too far from its clock (skew window undocumented).
    1004: "check the controller's clock: request timestamps must be close to the gateway's",
}
# Public error codes of the connection service (documented).
INVALID_ARGUMENT = 99400
NO_PERMISSION = 99403
NOT_FOUND = 99404
INTERNAL_ERROR = 99500
# OTA codes (documented).
OTA_NOT_FOUND = 24404
OTA_INTERNAL_ERROR = 24500
JOB_ALREADY_STARTED = 24615
JOB_ALREADY_STOPPED = 24616
JOB_NOT_RUNNING = 24617
TASK_NOT_CANCELABLE = 24620
TASK_NOT_RETRYABLE = 24621
SERVICE_CODES = {
    INVALID_ARGUMENT: 'invalid request parameter',
    NO_PERMISSION: 'missing permission',
    NOT_FOUND: 'object does not exist',
    INTERNAL_ERROR: 'internal error',
    OTA_NOT_FOUND: 'firmware or job not found',
    OTA_INTERNAL_ERROR: 'OTA service internal error',
    24604: 'firmware cannot be deleted',
    JOB_ALREADY_STARTED: 'job has started',
    JOB_ALREADY_STOPPED: 'job has stopped',
    JOB_NOT_RUNNING: 'job not running',
    24618: 'not allowed to delete a running job',
    TASK_NOT_CANCELABLE: 'only init or published tasks can be canceled',
    TASK_NOT_RETRYABLE: 'only failed tasks can be retried',
}
# ASSUMPTION (vendor notes B.9): internal errors are transient; reads are retried on them like on a 5xx.
TRANSIENT_CODES = (INTERNAL_ERROR, OTA_INTERNAL_ERROR)

# -- limits -----------------------------------------------------------------------------
PAGE_SIZE_MAX = 200                 # documented maximum pageSize
TOKEN_LIFETIME_DEFAULT = 7200       # documented initial expiry, seconds
TOKEN_REFRESH_MARGIN = 300.0        # refresh this long before the token expires
UPGRADE_TIMEOUT_MIN = 300           # documented range of a job's upgradeTimeout, seconds
UPGRADE_TIMEOUT_MAX = 172800
# ASSUMPTION: no limit is documented for upgradeScope.deviceKeys; larger plans get several jobs.
JOB_DEVICE_LIMIT = 5000
# ASSUMPTION: no limit is documented for an expression's length; we put at most this many keys in one `in (...)`.
EXPRESSION_KEYS = 200
# The search APIs are eventually consistent (documented: wait about 2 s after bulk updates).
SEARCH_SETTLE_SECONDS = 2.0
REREAD_PAUSE_MAX = 10.0
MAX_PAGES = 10000

# Fields the client reads from a device; the projection keeps the rest (deviceSecret included) off the wire.
DEVICE_PROJECTION = ['deviceKey', 'deviceName', 'productKey', 'productName', 'status', 'firmwareVersion', 'assetId', 'timezone']

# ASSUMPTION (vendor notes B.5): the TaskInfo.status values; the list was cut off in every copy of the docs.
TASK_ACTIVE = ('init', 'published', 'upgrading')
# Pushed to the device: its upgrade has begun there (published: the download has started; upgrading: past it).
TASK_PUSHED = ('published', 'upgrading')
# Documented (cancelTask, 24620): only these can be canceled; an upgrading task runs to its end.
TASK_CANCELABLE = ('init', 'published')
TASK_WORDS = TaskWords('EnOS', lambda task: str(task.get('status') or '').lower(), 'upgrading', TASK_CANCELABLE, 'task upgrading',
                       lambda task: ' (%s%%)' % task['progress'] if isinstance(task.get('progress'), int) and task['progress'] >= 0 else '',
                       'EnOS cancels only init or published tasks')
TASK_SUCCEEDED = ('succeed', 'success', 'succeeded')
TASK_FAILED = ('failed', 'fail')
TASK_CANCELED = ('canceled', 'cancelled')
TASK_PHASES = {
    'init': 'waiting to be pushed (the device may be offline)',
    'published': 'pushed to the device',
}
# Documented device-side progress failure steps (device SDK OTAUpdateFailureCause).
PROGRESS_FAILURES = {
    -1: 'undefined failure',
    -2: 'download failed',
    -3: 'verification failed',
    -4: 'failed to write the firmware',
    -5: 'the device ignored the upgrade',
}


# -- pure functions ---------------------------------------------------------------------
def upgrade_timeout(wait_timeout):
    """A job's upgradeTimeout from the run's wait_timeout, clamped to the documented 300..172800 s."""
    if wait_timeout is None:
        return 7200
    return int(min(max(math.ceil(float(wait_timeout)), UPGRADE_TIMEOUT_MIN), UPGRADE_TIMEOUT_MAX))


def quote(value, what='device id'):
    """One value of an expression, in single quotes. The expression syntax has no documented escape, so quotes are refused."""
    text = str(value)
    if "'" in text or '\\' in text:
        raise ConfigError("%s %s contains a quote or a backslash, which an EnOS search expression cannot carry" % (what, text))
    return "'%s'" % text


def in_expression(field, values, what='device id'):
    return '%s in (%s)' % (field, ','.join(quote(value, what) for value in values))


def chunks(items, size):
    items = list(items)
    return [items[start:start + size] for start in range(0, len(items), size)]


def describe(code, msg=None):
    known = TOKEN_CODES.get(code) or SERVICE_CODES.get(code)
    if msg and known and msg.lower() != known.lower():
        return '%s: %s' % (known, msg)
    return msg or known or 'unknown error'


def error_for(code, msg, request_id, what):
    """The FleetotaError for a non-zero business code; the text carries the code and the requestId."""
    text = '%s failed: %s (EnOS code %s%s)' % (what, describe(code, msg), code, ', requestId %s' % request_id if request_id else '')
    if code in TOKEN_CODES:
        hint = TOKEN_HINTS.get(code)
        return AuthError(text + ('; ' + hint if hint else ''), code=code, request_id=request_id)
    if code == NO_PERMISSION:
        return AuthError(text + "; check org_id and that the application's service account may read and manage firmware/OTA",
                         code=code, request_id=request_id)
    return ApiError(text, code=code, request_id=request_id)


def _code(answer):
    code = answer.get('code', answer.get('status'))
    try:
        return int(code)
    except (TypeError, ValueError):
        return code


def _i18n(value):
    if isinstance(value, dict):
        return value.get('defaultValue')
    return value


def _iso_ms(value):
    try:
        return time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime(int(value) / 1000.0))
    except (TypeError, ValueError, OverflowError, OSError):
        return None


def _pushed(task):
    """The task has reached the device (TASK_PUSHED)."""
    return TASK_WORDS.status(task) in TASK_PUSHED


def _task_order(item):
    """Oldest first: createTime, then id (a job's or a task's)."""
    return (item.get('createTime') or 0, str(item.get('jobId') or ''), str(item.get('taskId') or ''))


def normalize_device(item):
    status = item.get('status')
    return Device(
        id=item.get('deviceKey'),
        name=_i18n(item.get('deviceName')),
        product=item.get('productKey'),
        hardware_version=None,      # EnOS has no hardware version: firmware is per product
        online=status == 'online',
        current_version=item.get('firmwareVersion'),
        upgrading=False,
        extra={'status': status, 'asset_id': item.get('assetId'), 'product_name': _i18n(item.get('productName'))},
    )


def normalize_firmware(item, product=None):
    return Firmware(
        id=item.get('firmwareId'),
        version=item.get('version'),
        # "For new firmware files, product information is not returned": the product we searched for then.
        product=item.get('productKey') or product,
        hardware_version=None,
        released=bool(item.get('isVerified')),
        name=_i18n(item.get('name')),
        description=item.get('desc'),
        size=item.get('fileSize'),
        checksum=item.get('sign'),
        checksum_algorithm=item.get('signMethod'),
        created=_iso_ms(item.get('createTime')),
        extra={'enable_verification': bool(item.get('enableVerification')), 'verified': bool(item.get('isVerified'))},
    )


def task_progress(task):
    """Progress of one device from its TaskInfo (succeeded tasks are confirmed against the device by the caller)."""
    status = str(task.get('status') or '').lower()
    percent = task.get('progress')
    desc = task.get('desc')
    job = task.get('jobId')
    if status in TASK_FAILED:
        cause = PROGRESS_FAILURES.get(percent) if isinstance(percent, int) else None
        text = '; '.join(part for part in (desc, cause) if part) or 'no reason given'
        return Progress(Progress.FAILED, task.get('fromVersion'), 'failed', 'EnOS job %s: the upgrade task failed: %s' % (job, text))
    if status in TASK_CANCELED:
        # Nothing runs on the device and nothing will: idle (the engine knows what it canceled itself).
        return Progress(Progress.IDLE, task.get('fromVersion'), 'canceled', 'EnOS job %s: the upgrade task was canceled' % job)
    if status == 'upgrading':
        phase = 'upgrading %s%%' % percent if isinstance(percent, int) and percent >= 0 else 'upgrading'
        if desc:
            phase += ' (%s)' % desc
        return Progress(Progress.UPGRADING, task.get('fromVersion'), phase)
    return Progress(Progress.UPGRADING, task.get('fromVersion'), TASK_PHASES.get(status, 'task status %s' % (status or 'unknown')))


class EnosClient(PlatformClient):
    platform = 'enos'
    page_size = PAGE_SIZE_MAX
    # Documented: cancelTask (init or published tasks), stop; a job's tasks wait in init for offline devices.
    can_cancel = True
    queues_offline = True

    def __init__(self, transport, app_key, app_secret, org_id, clock=time.time):
        super().__init__(transport)
        self.app_key = app_key
        self._secret = app_secret
        self.org_id = org_id
        self.clock = clock
        self._token = None
        self._token_expires = 0.0
        self._token_lifetime = float(TOKEN_LIFETIME_DEFAULT)
        self._last_ms = 0
        self._device_jobs = {}     # device id -> job id of the task we wait on
        self._lost_creates = []    # (firmware, marker, job id kept) of creates sent again after a lost answer
        self._stand_downs = []     # (firmware, job id, device ids) of started jobs whose stand-down check could not be read yet

    # -- token -----------------------------------------------------------------------------

    def _now_ms(self):
        # Strictly increasing: two token requests in the same millisecond would repeat an encryption (1001).
        now = int(self.clock() * 1000)
        self._last_ms = max(now, self._last_ms + 1)
        return self._last_ms

    def _token_request(self, path, with_token):
        what = 'EnOS token %s for app key %s' % ('refresh' if with_token else 'request', self.app_key)
        for attempt in (1, 2):
            timestamp = self._now_ms()
            body = {'appKey': self.app_key, 'encryption': enos_token_encryption(self.app_key, timestamp, self._secret), 'timestamp': timestamp}
            if with_token:
                body['accessToken'] = self._token
            data = json.dumps(body, separators=(',', ':')).encode('utf-8')
            # Safe to repeat: a token request changes nothing, and a replayed encryption is answered 1001 (handled below).
            response = self.transport.request('POST', path, data=data, headers={'Content-Type': 'application/json;charset=UTF-8'},
                                              safe_to_retry=True, what=what)
            answer = self.transport.json(response, what)
            code = _code(answer)
            if code == TOKEN_DUPLICATED and attempt == 1:
                continue
            token = (answer.get('data') or {}).get('accessToken') if code == OK else None
            if not token:
                raise error_for(code if code != OK else 1005, answer.get('msg'), answer.get('requestId'), what)
            try:
                lifetime = float((answer.get('data') or {}).get('expire') or TOKEN_LIFETIME_DEFAULT)
            except (TypeError, ValueError):
                lifetime = TOKEN_LIFETIME_DEFAULT
            self._token = token
            self._token_expires = self.clock() + lifetime
            self._token_lifetime = lifetime
            return
        raise AuthError('%s: the token service kept answering repeated request' % what)  # not reached

    def _ensure_token(self):
        now = self.clock()
        if self._token is not None:
            margin = min(TOKEN_REFRESH_MARGIN, self._token_lifetime / 4.0)
            if now < self._token_expires - margin:
                return self._token
            if now < self._token_expires:
                try:
                    self._token_request(PATH_TOKEN_REFRESH, with_token=True)
                    return self._token
                except AuthError:
                    pass  # could not refresh (1204): get a new token instead
        self._token = None
        self._token_request(PATH_TOKEN_GET, with_token=False)
        return self._token

    # -- one call ----------------------------------------------------------------------------

    def _call(self, method, path, action, params=None, body=None, safe_to_retry=None, what=None):
        """One signed call; returns the whole envelope of a code-0 answer, raises the mapped error otherwise."""
        what = what or 'EnOS %s %s' % (path.rsplit('/', 1)[-1], action)
        query = {'action': action, 'orgId': self.org_id}
        query.update(params or {})
        # Serialized once: the signature covers exactly these bytes, and exactly these are sent.
        data = None if body is None else json.dumps(body, separators=(',', ':'), ensure_ascii=False).encode('utf-8')
        if safe_to_retry is None:
            safe_to_retry = method.upper() == 'GET'
        renewed = False
        budget = RetryBudget(self.transport.retry)
        while True:
            token = self._ensure_token()
            headers = enos_signed_headers(token, query, data, self._now_ms(), self._secret)
            if data is not None:
                headers['Content-Type'] = 'application/json;charset=UTF-8'
            response = self.transport.request(method, path, params=query, data=data, headers=headers, safe_to_retry=safe_to_retry, what=what)
            try:
                answer = self.transport.json(response, what)
            except ApiError as exc:
                if safe_to_retry:
                    raise
                # A write answered with a body we cannot read may have been applied: the caller reads the state again.
                raise OutcomeUnknownError('%s: %s; it may or may not have been applied' % (what, exc))
            if not isinstance(answer, dict):
                if safe_to_retry:
                    raise ApiError('%s answered JSON that is not an object (HTTP %d)' % (what, response.status_code))
                raise OutcomeUnknownError('%s answered JSON that is not an object (HTTP %d); it may or may not have been applied'
                                          % (what, response.status_code))
            code = _code(answer)
            if code == OK:
                return answer
            if code == TOKEN_EXPIRED and not renewed:
                renewed = True
                self._token = None
                continue
            if code in TRANSIENT_CODES and safe_to_retry and budget.again():
                continue
            raise error_for(code, answer.get('msg'), answer.get('requestId'), what)

    def _search(self, path, action, expression=None, projection=None, what=None):
        """Every item of a paginated search, page after page until totalSize is read."""
        items = []
        page = 1
        while True:
            body = {'pagination': {'pageNo': page, 'pageSize': self.page_size}}
            if expression:
                body['expression'] = expression
            if projection:
                body['projection'] = projection
            # A search reads only: safe to repeat.
            answer = self._call('POST', path, action, body=body, safe_to_retry=True, what=what)
            data = answer.get('data') or []
            items.extend(data)
            total = (answer.get('pagination') or {}).get('totalSize')
            if not data or (total is not None and len(items) >= int(total)) or (total is None and len(data) < self.page_size):
                return items
            page += 1
            if page > MAX_PAGES:
                raise ApiError('%s: more than %d pages; stopping' % (what or action, MAX_PAGES))

    # -- reads -------------------------------------------------------------------------------

    def list_devices(self, firmware_versions=True):
        # The search's projection carries the firmware version: nothing to skip without it.
        items = self._search(PATH_DEVICES, 'search', projection=DEVICE_PROJECTION, what='EnOS device search')
        return [normalize_device(item) for item in items]

    def get_devices(self, ids):
        ids = list(ids)
        for device_id in ids:
            quote(device_id)        # refuse ids an expression cannot carry, before any call
        found = {}
        for batch in chunks(ids, EXPRESSION_KEYS):
            for item in self._search(PATH_DEVICES, 'search', expression=in_expression('deviceKey', batch), projection=DEVICE_PROJECTION,
                                     what='EnOS device search'):
                device = normalize_device(item)
                if device.id in batch:
                    found[device.id] = device
        products = sorted(set(device.product for device in found.values() if device.product))
        for batch in chunks(products, EXPRESSION_KEYS):
            # Only the devices being upgraded: a product's full list could be the whole organization.
            expression = '%s and isUpgrading=true' % in_expression('productKey', batch, 'product')
            for item in self._search(PATH_FIRMWARES, 'searchDeviceUpgrade', expression=expression, what='EnOS searchDeviceUpgrade'):
                device = found.get(item.get('deviceKey'))
                if device is not None and item.get('isUpgrading'):
                    device.upgrading = True
                    device.current_version = item.get('firmwareVersion') or device.current_version
        return found

    def list_firmwares(self, devices=None, product=None, hardware_version=None):
        if devices:
            products = sorted(set(device.product for device in devices if device.product))
        elif product is not None:
            products = [str(product)]
        else:
            products = [None]
        firmwares = []
        seen = set()
        for key in products:
            expression = None if key is None else 'productKey=%s' % quote(key, 'product')
            for item in self._search(PATH_FIRMWARES, 'search', expression=expression, what='EnOS firmware search'):
                firmware = normalize_firmware(item, key)
                if firmware.id in seen:
                    continue
                seen.add(firmware.id)
                if product is not None and firmware.product != str(product):
                    continue
                if hardware_version is not None:
                    continue        # EnOS firmware has no hardware version, so none matches a hardware filter
                firmwares.append(firmware)
        return firmwares

    def get_firmware(self, firmware_id):
        what = 'EnOS firmware get %s' % firmware_id
        try:
            answer = self._call('GET', PATH_FIRMWARES, 'get', params={'firmwareId': str(firmware_id)}, what=what)
        except ApiError as exc:
            if exc.code == OTA_NOT_FOUND:
                raise ConfigError('firmware %s does not exist in EnOS organization %s (EnOS code 24404, requestId %s): '
                                  'it may have been deleted; run fleetota.cloud.firmware_info to list the firmware'
                                  % (firmware_id, self.org_id, exc.request_id))
            raise
        return normalize_firmware(answer.get('data') or {})

    # -- upgrade -----------------------------------------------------------------------------

    def start_upgrade(self, firmware, devices, upgrade_timeout=None):
        ids = [device.id for device in devices]
        current = self.get_firmware(firmware.id)
        if current.extra.get('enable_verification') and not current.released:
            msg = ('firmware %s (%s) requires verification and is not verified yet: verify it with a verify job in EnOS '
                   'before upgrading' % (firmware.id, firmware.version))
            return dict((device_id, StartResult(StartResult.FAILED, msg)) for device_id in ids)
        results = {}
        for device_id, (job_id, status) in self._in_flight(firmware, ids).items():
            self._track(job_id, [device_id])
            results[device_id] = StartResult(StartResult.IN_PROGRESS, 'already in EnOS job %s for this firmware (task %s); waiting for it, '
                                                                      'no new job created' % (job_id, status), job=job_id)
        rest = [device_id for device_id in ids if device_id not in results]
        for batch in chunks(rest, JOB_DEVICE_LIMIT):
            try:
                job_id, note = self._create_job(firmware, batch, upgrade_timeout)
            except OutcomeUnknownError as exc:
                # The job may exist: the engine reads the devices again and waits, it never sends this again.
                for device_id in batch:
                    results[device_id] = StartResult(StartResult.UNKNOWN, str(exc))
                continue
            except FleetotaError as exc:
                for device_id in batch:
                    results[device_id] = StartResult(StartResult.FAILED, str(exc))
                continue
            self._track(job_id, batch)
            try:
                # Safe to repeat: starting a started job is answered 24615, which counts as started.
                self._call('POST', PATH_JOBS, 'start', params={'jobId': job_id}, safe_to_retry=True, what='EnOS ota-jobs start %s' % job_id)
            except ApiError as exc:
                if exc.code != JOB_ALREADY_STARTED:
                    for device_id in batch:
                        results[device_id] = StartResult(StartResult.FAILED, 'EnOS job %s was created but not started: %s; start or delete it in '
                                                                             'EnOS before re-running' % (job_id, exc), job=job_id)
                    continue
            offline = set(device.id for device in devices if device.online is False)
            for device_id in batch:
                if device_id in offline:
                    results[device_id] = StartResult(StartResult.QUEUED, 'EnOS job %s%s: the device is offline; EnOS keeps its task (init) '
                                                                         'and pushes it when the device reconnects' % (job_id, note), job=job_id)
                else:
                    results[device_id] = StartResult(StartResult.STARTED, 'EnOS job %s%s' % (job_id, note), job=job_id)
            try:
                results.update(self._stand_down(firmware, job_id, batch))
            except FleetotaError:
                # The job runs: a read that fails now says nothing about the devices. Checked again at the next poll.
                self._stand_downs.append((firmware, job_id, batch))
        return results

    def _track(self, job_id, device_ids):
        if job_id not in self.jobs:
            self.jobs.append(job_id)
        for device_id in device_ids:
            self._device_jobs[device_id] = job_id

    def _in_flight(self, firmware, ids):
        """Devices already in a started upgrade job of this firmware with a task still running: id -> (job id, task status)."""
        expression = "firmwareId=%s and status='started' and type='upgrade'" % quote(firmware.id, 'firmware id')
        jobs = self._search(PATH_JOBS, 'search', expression=expression, what='EnOS ota-jobs search')
        wanted = set(ids)
        covered = {}
        for job in sorted(jobs, key=lambda j: j.get('createTime') or 0, reverse=True):
            scope = job.get('upgradeScope') or {}
            if scope.get('type') == 'partial':
                keys = set(scope.get('deviceKeys') or [])
                candidates = [device_id for device_id in ids if device_id in keys and device_id not in covered]
            else:
                candidates = [device_id for device_id in ids if device_id not in covered]
            job_id = job.get('jobId')
            for batch in chunks(candidates, EXPRESSION_KEYS):
                expression = 'jobId=%s and %s' % (quote(job_id, 'job id'), in_expression('deviceKey', batch))
                for task in self._search(PATH_JOBS, 'searchTask', expression=expression, what='EnOS ota-jobs searchTask'):
                    status = str(task.get('status') or '').lower()
                    if task.get('deviceKey') in wanted and status in TASK_ACTIVE:
                        covered.setdefault(task['deviceKey'], (job_id, status))
        return covered

    def _stand_down(self, firmware, job_id, device_ids):
        """After our job started: a device whose upgrade to this firmware another job runs (a run on another controller that passed
        the same check at the same time) is canceled in ours and waited for in theirs. A task already pushed to the device
        (published or upgrading) stays: canceling it would drop a download under way and start the device over with the other
        job. Of two tasks not yet pushed, the older one stays. Returns id -> StartResult for the devices that stood down."""
        mine, others = {}, {}
        for batch in chunks(device_ids, EXPRESSION_KEYS):
            expression = '%s and toVersion=%s' % (in_expression('deviceKey', batch), quote(firmware.version, 'version'))
            for task in self._search(PATH_JOBS, 'searchTask', expression=expression, what='EnOS ota-jobs searchTask'):
                status = str(task.get('status') or '').lower()
                if status not in TASK_ACTIVE or not task.get('jobId'):
                    continue
                if str(task['jobId']) == job_id:
                    mine[task.get('deviceKey')] = task
                else:
                    others.setdefault(task.get('deviceKey'), []).append(task)
        yielded = {}
        for device_id in device_ids:
            ours = mine.get(device_id)
            if ours is None or _pushed(ours) or not others.get(device_id):
                continue
            theirs = sorted(others[device_id], key=lambda task: (not _pushed(task), _task_order(task)))[0]
            if _pushed(theirs) or _task_order(theirs) < _task_order(ours):
                yielded[device_id] = str(theirs['jobId'])
        results = {}
        for device_id, other_job in sorted(yielded.items()):
            try:
                self._cancel_tasks(job_id, [device_id])
            except ApiError as exc:
                if exc.code == TASK_NOT_CANCELABLE:
                    continue        # ours began upgrading meanwhile: it stays, the other job's task then waits or stands down
                raise
            self._track(other_job, [device_id])
            results[device_id] = StartResult(StartResult.IN_PROGRESS, 'EnOS job %s, started at the same time for this firmware by another '
                                                                      'run, covers this device: its task in job %s was canceled; waiting '
                                                                      'for job %s' % (other_job, job_id, other_job), job=other_job)
        return results

    def _cancel_tasks(self, job_id, device_ids, safe_to_retry=True):
        # A repeat after a lost answer is refused 24620 (the task is canceled by then): callers that must tell the two apart
        # send it once (safe_to_retry=False) and read the tasks again.
        self._call('POST', PATH_JOBS, 'cancelTask', params={'jobId': job_id}, body={'deviceKeys': list(device_ids)}, safe_to_retry=safe_to_retry,
                   what='EnOS ota-jobs cancelTask %s' % job_id)

    # -- stop ------------------------------------------------------------------------------------

    def _tasks_where(self, expression):
        return self._search(PATH_JOBS, 'searchTask', expression=expression, what='EnOS ota-jobs searchTask')

    def _read_tasks(self, ids, jobs):
        """The tasks that decide a cancel: of `jobs` (every status) when given, else the unfinished ones of `ids` in any job."""
        found = []
        if jobs:
            for batch in chunks(jobs, EXPRESSION_KEYS):
                found.extend(self._tasks_where(in_expression('jobId', batch, 'job id')))
            return found
        statuses = ','.join(quote(status, 'status') for status in TASK_ACTIVE)
        for batch in chunks(ids, EXPRESSION_KEYS):
            found.extend(self._tasks_where('%s and status in (%s)' % (in_expression('deviceKey', batch), statuses)))
        return found

    def _reread(self, keys_by_job):
        """job id -> device key -> task, read again after a cancel whose outcome is not known."""
        tasks = {}
        for job_id, keys in keys_by_job.items():
            for batch in chunks(sorted(keys), EXPRESSION_KEYS):
                for task in self._tasks_where('jobId=%s and %s' % (quote(job_id, 'job id'), in_expression('deviceKey', batch))):
                    tasks.setdefault(job_id, {})[task.get('deviceKey')] = task
        return tasks

    def _send_cancels(self, keys_by_job, failures):
        """cancelTask per job, in batches, each sent once. Returns the (job, keys) whose outcome is not known: no answer, a 5xx,
        or 24620 (cancelTask is all or nothing: one task of the batch began upgrading, or a lost earlier answer did cancel them)."""
        unsure = {}
        for job_id in sorted(keys_by_job):
            for batch in chunks(sorted(keys_by_job[job_id]), EXPRESSION_KEYS):
                try:
                    self._cancel_tasks(job_id, batch, safe_to_retry=False)
                except OutcomeUnknownError:
                    unsure.setdefault(job_id, set()).update(batch)
                except ApiError as exc:
                    if exc.code in (TASK_NOT_CANCELABLE, JOB_NOT_RUNNING) or exc.code in TRANSIENT_CODES:
                        unsure.setdefault(job_id, set()).update(batch)
                    else:
                        for key in batch:
                            failures[(job_id, key)] = str(exc)
        return unsure

    def cancel(self, devices, jobs=None, check=False):
        """Cancel the init and published tasks of `devices` (in `jobs` when given, else in any job), with cancelTask per job.

        A cancel whose outcome is unknown is never assumed: the tasks are read again, the ones still cancelable are sent once
        more, and what the last read shows is reported. A job of `jobs` whose tasks have all ended is stopped, so that it
        pushes nothing later."""
        jobs = [str(job) for job in (jobs or [])]
        ids = [device.id for device in devices]
        for device_id in ids:
            quote(device_id)
        tasks = {}      # device key -> job id -> task
        for task in self._read_tasks(ids, jobs):
            if task.get('deviceKey') and task.get('jobId'):
                tasks.setdefault(task['deviceKey'], {})[str(task['jobId'])] = task
        for key in tasks:
            if key not in ids:
                ids.append(key)
        wanted = {}     # job id -> keys to cancel
        for key, by_job in tasks.items():
            for job_id, task in by_job.items():
                if str(task.get('status') or '').lower() in TASK_CANCELABLE:
                    wanted.setdefault(job_id, set()).add(key)
        failures = {}
        canceled = set()    # (job, key) known canceled by this call
        if not check and wanted:
            unsure = self._send_cancels(wanted, failures)
            for job_id, keys in wanted.items():
                canceled.update((job_id, key) for key in keys if key not in unsure.get(job_id, ()) and (job_id, key) not in failures)
            for _round in (1, 2):
                if not unsure:
                    break
                again = {}
                for job_id, by_key in self._reread(unsure).items():
                    for key, task in by_key.items():
                        tasks.setdefault(key, {})[job_id] = task
                        status = str(task.get('status') or '').lower()
                        if status in TASK_CANCELED:
                            canceled.add((job_id, key))
                        elif status in TASK_CANCELABLE and _round == 1:
                            again.setdefault(job_id, set()).add(key)
                if not again:
                    break
                unsure = self._send_cancels(again, failures)
                for job_id, keys in again.items():
                    canceled.update((job_id, key) for key in keys if key not in unsure.get(job_id, ()) and (job_id, key) not in failures)
        results = dict((key, task_cancel_result(key, tasks.get(key, {}), canceled, failures, check, jobs, TASK_WORDS)) for key in ids)
        if jobs and not check:
            self._stop_finished(jobs, tasks, canceled)
        return results

    def _stop_finished(self, jobs, tasks, canceled):
        """Stop the jobs of `jobs` whose every task has ended (canceled included), so that nothing is pushed later."""
        for job_id in jobs:
            active = [key for key, by_job in tasks.items()
                      if job_id in by_job and (job_id, key) not in canceled and str(by_job[job_id].get('status') or '').lower() in TASK_ACTIVE]
            if active:
                continue
            try:
                # Safe to repeat: a stopped job answers 24616, which is what we want.
                self._call('POST', PATH_JOBS, 'stop', params={'jobId': job_id}, safe_to_retry=True, what='EnOS ota-jobs stop %s' % job_id)
            except FleetotaError:
                # Already stopped (24616) or gone (24404); or not stopped now: with every task ended, a snapshot job pushes nothing more.
                pass

    # -- retry -----------------------------------------------------------------------------------

    def retry_upgrade(self, firmware, devices, upgrade_timeout=None):
        """retryTask for devices whose task in this run's job failed; a new job for the others (or when the job no longer runs).

        24621 (a task that is not failed) or an unknown outcome: the tasks are read again and decide, nothing is assumed."""
        results = {}
        by_job = {}
        for device in devices:
            job_id = self._device_jobs.get(device.id)
            if job_id:
                by_job.setdefault(job_id, []).append(device.id)
        for job_id in sorted(by_job):
            for batch in chunks(by_job[job_id], EXPRESSION_KEYS):
                results.update(self._retry_tasks(job_id, batch))
        fresh = [device for device in devices if device.id not in results]
        if fresh:
            results.update(self.start_upgrade(firmware, fresh, upgrade_timeout=upgrade_timeout))
        return results

    def _retry_tasks(self, job_id, keys):
        what = 'EnOS ota-jobs retryTask %s' % job_id
        try:
            # Sent once: a repeat after a lost answer would be refused 24621 (the task is no longer failed).
            self._call('POST', PATH_JOBS, 'retryTask', params={'jobId': job_id}, body={'deviceKeys': list(keys)}, safe_to_retry=False, what=what)
            return dict((key, StartResult(StartResult.STARTED, 'EnOS job %s: the failed task was retried (retryTask)' % job_id, job=job_id))
                        for key in keys)
        except ApiError as exc:
            if exc.code == JOB_NOT_RUNNING:
                return {}       # the job was stopped: a new job for these devices
            if exc.code != TASK_NOT_RETRYABLE and exc.code not in TRANSIENT_CODES:
                return dict((key, StartResult(StartResult.FAILED, str(exc), job=job_id)) for key in keys)
            lost = exc
        except OutcomeUnknownError as exc:
            lost = exc
        # Read again: retryTask is all or nothing, so retry the ones still failed once more, one by one.
        results = {}
        current = self._reread({job_id: set(keys)}).get(job_id, {})
        for key in keys:
            status = str((current.get(key) or {}).get('status') or '').lower()
            if status in TASK_ACTIVE:
                results[key] = StartResult(StartResult.STARTED, 'EnOS job %s: the task is %s again (%s)' % (job_id, status, lost), job=job_id)
            elif status in TASK_FAILED and isinstance(lost, ApiError):
                try:
                    self._call('POST', PATH_JOBS, 'retryTask', params={'jobId': job_id}, body={'deviceKeys': [key]}, safe_to_retry=False, what=what)
                    results[key] = StartResult(StartResult.STARTED, 'EnOS job %s: the failed task was retried (retryTask)' % job_id, job=job_id)
                except OutcomeUnknownError as again:
                    results[key] = StartResult(StartResult.UNKNOWN, str(again), job=job_id)
                except ApiError as again:
                    results[key] = StartResult(StartResult.FAILED, str(again), job=job_id)
            elif status in TASK_FAILED:
                results[key] = StartResult(StartResult.UNKNOWN, '%s; the task still shows failed' % lost, job=job_id)
            # canceled, succeeded or no task: a new job (start_upgrade) decides for it
        return results

    def _job_spec(self, firmware, device_ids, marker, wait_timeout):
        return {
            # The marker finds this very job again if the create answer is lost.
            'name': {'defaultValue': '%s upgrade to %s' % (marker, firmware.version), 'i18nValue': {}},
            'type': 'upgrade',
            'upgradeScope': {'type': 'partial', 'deviceKeys': list(device_ids)},
            'upgradePolicy': 'snapshot',
            'upgradeTimeout': upgrade_timeout(wait_timeout),
        }

    def _reread_pauses(self):
        """Pauses before each re-read of the jobs after a create whose outcome is unknown: from SEARCH_SETTLE_SECONDS, doubling, until
        they add up to twice the request timeout plus two settle times (the request may still be processed after we gave up on it)."""
        window = 2.0 * float(self.transport.timeout or 0) + 2.0 * SEARCH_SETTLE_SECONDS
        return doubling_pauses(SEARCH_SETTLE_SECONDS, REREAD_PAUSE_MAX, window)

    def _create_job(self, firmware, device_ids, wait_timeout):
        """Create one job: (job id, note for the result). A create whose outcome is unknown (no answer, a timeout, a 5xx, an internal
        error code, an unreadable 200) is never repeated blindly: the jobs are read again, for a bounded time, until the job named
        with this run's marker shows up (adopted). Only when it does not is one new create sent; a job the lost request made after
        all is then deleted, and both ids are reported."""
        marker = 'fleetota-%s' % uuid.uuid4().hex[:16]
        spec = self._job_spec(firmware, device_ids, marker, wait_timeout)
        what = 'EnOS ota-jobs create for firmware %s (%s) on %d device(s)' % (firmware.id, firmware.version, len(device_ids))
        try:
            return self._send_create(firmware, spec, what), ''
        except OutcomeUnknownError as exc:
            lost = exc
        found, failure = None, None
        for pause in self._reread_pauses():
            self.transport.retry.sleep(pause)
            try:
                found = self._marked_jobs(firmware, marker)
                failure = None
            except FleetotaError as again:
                failure = again
                continue
            if found:
                break
        if failure is not None:
            raise OutcomeUnknownError('%s: %s, and re-reading the jobs failed too (%s); the job may exist: look for a job named %s in '
                                      'EnOS before re-running' % (what, lost, failure, marker))
        if found:
            self._discard_duplicates(found[1:])
            note = ' (its create answer was lost: found again by name)'
            if len(found) > 1:
                note += '; duplicate job(s) %s deleted' % ', '.join(str(job.get('jobId')) for job in found[1:])
            return str(found[0].get('jobId')), note
        # The re-reads show it was not created: one new request is safe.
        try:
            job_id = self._send_create(firmware, spec, what)
        except OutcomeUnknownError as again:
            raise OutcomeUnknownError('%s (this was the one create sent again, after re-reading the jobs showed that the first, whose answer was lost, '
                                      'made none); the job may exist: look for a job named %s in EnOS before re-running' % (again, marker))
        # The first request may still land, later than the re-reads: keep the job we know, delete the other, now and while waiting.
        self._lost_creates.append((firmware, marker, job_id))
        note = ' (created again after re-reading the jobs showed that a create whose answer was lost made none)'
        try:
            late = self._late_duplicates()
        except FleetotaError:
            late = []       # the job exists: a failed read is tried again at each poll
        if late:
            note += '; job %s, made late by that create, was deleted' % ', '.join(late)
        return job_id, note

    def _late_duplicates(self):
        """Delete the jobs that creates whose answer was lost made after we had created again; their ids."""
        deleted = []
        for firmware, marker, job_id in self._lost_creates:
            late = [job for job in self._marked_jobs(firmware, marker) if str(job.get('jobId')) != job_id]
            self._discard_duplicates(late)
            deleted.extend(str(job.get('jobId')) for job in late)
        return deleted

    def _send_create(self, firmware, spec, what):
        """One create request; the job id, or OutcomeUnknownError when the job may or may not exist."""
        try:
            # Never safe_to_retry: EnOS does not deduplicate job creation.
            answer = self._call('POST', PATH_JOBS, 'create', params={'firmwareId': str(firmware.id)}, body=spec, safe_to_retry=False, what=what)
        except ApiError as exc:
            # An internal error code may come after the job was made. Anything else was refused: raise it.
            if exc.code in TRANSIENT_CODES:
                raise OutcomeUnknownError('%s: %s; it may or may not have been applied' % (what, exc))
            raise
        job_id = (answer.get('data') or {}).get('jobId') if isinstance(answer.get('data'), dict) else None
        if not job_id:
            raise OutcomeUnknownError('%s: the answer has no jobId (requestId %s); the job may or may not exist'
                                      % (what, answer.get('requestId')))
        return str(job_id)

    def _marked_jobs(self, firmware, marker):
        """This firmware's upgrade jobs named with `marker`, oldest first."""
        expression = "firmwareId=%s and type='upgrade'" % quote(firmware.id, 'firmware id')
        jobs = [job for job in self._search(PATH_JOBS, 'search', expression=expression, what='EnOS ota-jobs search')
                if str(_i18n(job.get('name')) or '').startswith(marker + ' ')]
        return sorted(jobs, key=_task_order)

    def _discard_duplicates(self, jobs):
        """Remove jobs this run made by mistake (a create whose answer was lost, then sent again): delete the ones never started;
        in a started one, cancel the tasks still waiting. Their ids are reported with the run's jobs."""
        for job in jobs:
            job_id = str(job.get('jobId'))
            if job_id not in self.jobs:
                self.jobs.append(job_id)
            if str(job.get('status') or '').lower() != 'started':
                self._call('POST', PATH_JOBS, 'delete', params={'jobId': job_id}, safe_to_retry=True, what='EnOS ota-jobs delete %s' % job_id)
                continue
            keys = (job.get('upgradeScope') or {}).get('deviceKeys') or []
            for batch in chunks(keys, EXPRESSION_KEYS):
                try:
                    self._cancel_tasks(job_id, batch)
                except ApiError as exc:
                    if exc.code not in (TASK_NOT_CANCELABLE, JOB_NOT_RUNNING):
                        raise

    # -- progress ------------------------------------------------------------------------------

    def poll(self, devices):
        while self._stand_downs:
            # A read that fails here raises: the engine retries the whole poll, no device fails for it.
            firmware, job_id, batch = self._stand_downs[0]
            self._stand_down(firmware, job_id, batch)
            self._stand_downs.pop(0)
        if self._lost_creates:
            # A lost create may still land while we wait: such a job is deleted before anything starts it.
            try:
                self._late_duplicates()
            except FleetotaError:
                pass        # tried again at the next poll
        ids = [device.id for device in devices]
        unmapped = [device_id for device_id in ids if device_id not in self._device_jobs]
        if unmapped:
            self._discover_jobs(unmapped)
        by_job = {}
        for device_id in ids:
            if device_id in self._device_jobs:
                by_job.setdefault(self._device_jobs[device_id], []).append(device_id)
        tasks = {}
        for job_id in sorted(by_job):
            for batch in chunks(by_job[job_id], EXPRESSION_KEYS):
                expression = 'jobId=%s and %s' % (quote(job_id, 'job id'), in_expression('deviceKey', batch))
                for task in self._search(PATH_JOBS, 'searchTask', expression=expression, what='EnOS ota-jobs searchTask'):
                    tasks[task.get('deviceKey')] = task
        progress = {}
        to_confirm = []
        for device_id in ids:
            task = tasks.get(device_id)
            if task is None:
                to_confirm.append(device_id)
            elif str(task.get('status') or '').lower() in TASK_SUCCEEDED:
                to_confirm.append(device_id)
            else:
                progress[device_id] = task_progress(task)
        if to_confirm:
            # The task says done (or there is none): what the device itself reports decides.
            current = self.get_devices(to_confirm)
            for device_id in to_confirm:
                device = current.get(device_id)
                task = tasks.get(device_id)
                if device is None:
                    progress[device_id] = Progress(Progress.FAILED, None, 'gone', 'the device is no longer listed by EnOS')
                elif task is None and device_id in self._device_jobs:
                    progress[device_id] = Progress(Progress.UPGRADING, device.current_version, 'waiting for the task of job %s to appear'
                                                   % self._device_jobs[device_id])
                elif device.upgrading:
                    progress[device_id] = Progress(Progress.UPGRADING, device.current_version, 'upgrading')
                else:
                    progress[device_id] = Progress(Progress.IDLE, device.current_version, 'idle')
        return progress

    def _discover_jobs(self, ids):
        """Find the newest task of devices that were already upgrading when the run started."""
        newest = {}
        for batch in chunks(ids, EXPRESSION_KEYS):
            for task in self._search(PATH_JOBS, 'searchTask', expression=in_expression('deviceKey', batch), what='EnOS ota-jobs searchTask'):
                key = task.get('deviceKey')
                if key in newest and (newest[key].get('createTime') or 0) >= (task.get('createTime') or 0):
                    continue
                newest[key] = task
        for device_id, task in newest.items():
            if str(task.get('status') or '').lower() in TASK_ACTIVE and task.get('jobId'):
                self._track(str(task['jobId']), [device_id])
