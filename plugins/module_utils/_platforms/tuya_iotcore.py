# -*- coding: utf-8 -*-
# Copyright (c) fleetota.cloud developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Tuya IoT Core RPC API (`/?Action=...`, HMAC-SHA1): the only place that knows its actions, fields and quirks.

Documented (vendors/tuya.md part B): one GET endpoint per instance dispatching on `Action`; the
Alibaba-style RPC signature (B.3); ListOTAFirmware / QueryOTAFirmware with firmware `Status`
0 unverified, 1 verified, 2 verifying, 3 verification failed; CreateOTAStaticUpgradeJob with
`TargetSelection=SPECIFIC` and `TargetDeviceName.N`, `RetryCount` / `RetryInterval`, `TimeoutInMinutes`;
CancelOTATaskByJob / CancelOTATaskByDevice (CONFIRM, QUEUED, NOTIFIED tasks); QueryOTAJob, ListOTAJobByFirmware,
ListOTATaskByJob with task states CONFIRM / QUEUED / NOTIFIED / IN_PROGRESS / SUCCEEDED /
FAILED / CANCELED; QueryDeviceByStatus and BatchQueryDeviceDetail for devices; page-size caps.
Everything else is marked ASSUMPTION below, in this one file, so it can be corrected later.
"""

import math
import re
import time
import uuid

from ansible_collections.fleetota.cloud.plugins.module_utils._cache import AccountCache, cache_path
from ansible_collections.fleetota.cloud.plugins.module_utils._client import PlatformClient, TaskWords, task_cancel_result
from ansible_collections.fleetota.cloud.plugins.module_utils._errors import (
    ApiError,
    AuthError,
    FleetotaError,
    OutcomeUnknownError,
    RateLimitError,
)
from ansible_collections.fleetota.cloud.plugins.module_utils._models import Device, Firmware, Progress, StartResult, int_or as _int
from ansible_collections.fleetota.cloud.plugins.module_utils._pacing import ActionPacer, RetryBudget
from ansible_collections.fleetota.cloud.plugins.module_utils._signing import iotcore_signed_query
from ansible_collections.fleetota.cloud.plugins.module_utils._versions import same_version

# -- request parameters (B.2; the signature, B.3, is iotcore_signed_query in _signing.py) ---------


def flatten_list(name, values):
    """RepeatList parameters are flattened 1-based: `TargetDeviceName.1`, `TargetDeviceName.2`... (B.2)."""
    return dict(('%s.%d' % (name, index), value) for index, value in enumerate(values, 1))


# -- vendor facts ---------------------------------------------------------------------------------

# Firmware Status (documented, ListOTAFirmware).
FIRMWARE_UNVERIFIED = 0
FIRMWARE_VERIFIED = 1
FIRMWARE_VERIFYING = 2
FIRMWARE_VERIFY_FAILED = 3
FIRMWARE_STATUS = {0: 'not verified', 1: 'verified', 2: 'verification in progress', 3: 'verification failed'}

# Task states (documented, ListOTATaskByJob); no TIMEOUT state: a timeout is FAILED with TaskDesc.
UNFINISHED_TASK_STATES = frozenset(('CONFIRM', 'QUEUED', 'NOTIFIED', 'IN_PROGRESS'))
# Documented (CancelOTATaskByDevice; CancelOTATaskByJob's three flags): what a cancel reaches. IN_PROGRESS runs to its end.
CANCELABLE_TASK_STATES = frozenset(('CONFIRM', 'QUEUED', 'NOTIFIED'))
TASK_IN_PROGRESS = 'IN_PROGRESS'
TASK_SUCCEEDED = 'SUCCEEDED'
TASK_FAILED = 'FAILED'
TASK_CANCELED = 'CANCELED'
# Job states (documented, QueryOTAJob).
UNFINISHED_JOB_STATES = frozenset(('PLANNED', 'IN_PROGRESS'))

# Device Status strings (documented); QueryDeviceByStatus takes the numeric codes.
DEVICE_ONLINE = 'ONLINE'
# ASSUMPTION: the union of these four statuses is every device of the account.
DEVICE_STATUS_CODES = (1, 3, 0, 8)   # online, offline, inactive, disabled

# Where the client keeps each account's DeviceName -> ProductKey between runs (option device_cache).
DEVICE_CACHE_FILE = 'tuya-iotcore-devices.json'

# Page-size caps (documented).
FIRMWARE_PAGE_SIZE = 100       # ListOTAFirmware
TASK_PAGE_SIZE = 100           # ListOTATaskByJob
JOB_PAGE_SIZE = 200            # ListOTAJobByFirmware
DEVICE_PAGE_SIZE = 50          # QueryDeviceByStatus
DETAIL_BATCH_SIZE = 100        # BatchQueryDeviceDetail DeviceName.N
# ASSUMPTION (Alibaba's rule, not on Tuya's page): at most 200 TargetDeviceName per job.
JOB_DEVICE_LIMIT = 200
# ASSUMPTION (Alibaba's rule): at most 200 DeviceName.N per CancelOTATaskByDevice.
CANCEL_DEVICE_LIMIT = 200
# ASSUMPTION: DeviceNames.N of ListOTATaskByJob has no documented limit; re-reads name at most this many at once.
TASK_NAMES_LIMIT = 100
# Documented choices of CreateOTAStaticUpgradeJob: RetryCount, RetryInterval (minutes, 0 = at once), TimeoutInMinutes 1..1440.
RETRY_COUNTS = (1, 2, 5)
RETRY_INTERVALS = (0, 10, 30, 60, 1440)
TIMEOUT_MINUTES = (1, 1440)
# ASSUMPTION: the vendor documents no attempt count; where TaskDesc says "attempt N of M" (the emulator does), it is read.
ATTEMPT_PATTERN = re.compile(r'attempt (\d+) of (\d+)')
# Up to this many devices, planning asks ListOTAUnfinishedTaskByDevice for each one (one call per device,
# but it also sees tasks towards another firmware, and makes check mode show them as in progress);
# beyond, unfinished tasks are read per target firmware when starting (a few calls for thousands of devices).
PER_DEVICE_TASK_LOOKUP_LIMIT = 20
# ASSUMPTION: no page count is documented as a hard stop; this only guards against a looping server.
MAX_PAGES = 1000

# Gateway error codes (ASSUMPTION: Alibaba POP strings, B.9) and what they mean for the user.
AUTH_CODES = ('SignatureDoesNotMatch', 'IncompleteSignature', 'InvalidAccessKeyId.NotFound', 'InvalidAccessKeyId.Inactive',
              'InvalidSignatureMethod', 'Forbidden.RAM', 'iot.common.RamActionPermissionDeny', 'iot.common.AuthActionPermissionDeny')
NONCE_USED = 'SignatureNonceUsed'
TIMESTAMP_CODES = ('InvalidTimeStamp.Expired', 'InvalidTimeStamp.Format')
THROTTLING_PREFIX = 'Throttling'
THROTTLE_WAIT = 1.0
# ASSUMPTION (B.10): Tuya publishes no request limits for IoT Core; these are Alibaba's published per-account
# limits, requests per second per action. The client keeps under them (ActionPacer), so that a large fleet is
# read at the limit rather than refused and retried; a refusal is still waited out (other clients share them).
ACTION_LIMITS = {
    'ListOTAFirmware': 10, 'QueryOTAFirmware': 20, 'CreateOTAStaticUpgradeJob': 20, 'QueryOTAJob': 10,
    'ListOTATaskByJob': 10, 'CancelOTATaskByJob': 5, 'CancelOTATaskByDevice': 10, 'QueryDeviceDetail': 50, 'BatchQueryDeviceDetail': 5,
}
# HTTP statuses whose JSON body carries the vendor's error code (gateway errors).
ERROR_STATUSES = (400, 403, 404)

# After a create whose answer was lost, give the cloud this long (capped by the request timeout)
# to make the job visible before re-reading.
SETTLE_SECONDS = 5.0


# -- response parsing: keys are matched case-insensitively (B.4) ----------------------------------

def field(obj, *names, **kwargs):
    """obj[name] for the first of `names` present, ignoring case (Tuya examples camelCase, tables PascalCase)."""
    default = kwargs.get('default')
    if not isinstance(obj, dict):
        return default
    lowered = dict((str(key).lower(), value) for key, value in obj.items())
    for name in names:
        value = lowered.get(name.lower())
        if value is not None:
            return value
    return default


TASK_WORDS = TaskWords('IoT Core', lambda task: str(field(task, 'TaskStatus', default='')).upper(), TASK_IN_PROGRESS, CANCELABLE_TASK_STATES,
                       'IN_PROGRESS', lambda task: ' %s%%' % field(task, 'Progress') if field(task, 'Progress') not in (None, '') else '',
                       'IoT Core cancels only tasks awaiting confirmation, queued or notified')


def items_of(body, wrapper, element):
    """The list in body.wrapper.element (or body.wrapper when it is the list itself)."""
    container = field(body, wrapper)
    if isinstance(container, list):
        return container
    found = field(container, element)
    if isinstance(found, list):
        return found
    if isinstance(found, dict):
        return [found]
    return []


def normalize_firmware(item):
    status = _int(field(item, 'Status'))
    product = field(item, 'ProductKey')
    sign_method = field(item, 'SignMethod')
    return Firmware(
        id=str(field(item, 'FirmwareId', default='')),
        version=field(item, 'DestVersion'),
        product=product,
        hardware_version=None,
        released=status == FIRMWARE_VERIFIED,
        name=field(item, 'FirmwareName'),
        description=field(item, 'FirmwareDesc'),
        size=_int(field(item, 'FirmwareSize')),
        checksum=field(item, 'FirmwareSign'),
        checksum_algorithm=sign_method.lower() if isinstance(sign_method, str) else None,
        created=field(item, 'UtcCreate'),
        extra={'status': status, 'src_version': field(item, 'SrcVersion') or None, 'module': field(item, 'ModuleName'),
               'product_name': field(item, 'ProductName')},
    )


def normalize_device(info, detail):
    status = field(detail, 'Status') or field(info, 'Status', 'DeviceStatus')
    return Device(
        id=field(info, 'DeviceName'),
        name=field(detail, 'Nickname') or field(info, 'Nickname') or field(info, 'DeviceName'),
        product=field(info, 'ProductKey'),
        hardware_version=None,
        online=str(status).upper() == DEVICE_ONLINE if status is not None else None,
        current_version=field(detail, 'FirmwareVersion'),
        upgrading=False,
        extra={'iot_id': field(info, 'IotId') or field(detail, 'IotId'), 'status': status},
    )


def task_attempts(task):
    """How many times the vendor pushed this task so far, where its TaskDesc says (ASSUMPTION, see ATTEMPT_PATTERN); else None."""
    found = ATTEMPT_PATTERN.search(str(field(task, 'TaskDesc', default='')))
    if not found:
        return None
    attempt = int(found.group(1))
    # A task queued again for a retry names the attempt to come.
    return attempt - 1 if str(field(task, 'TaskStatus', default='')).upper() in ('CONFIRM', 'QUEUED') else attempt


def task_progress(task, device):
    """Progress of one device from its task in ListOTATaskByJob. With the vendor's retries, FAILED comes only once they are spent."""
    state = str(field(task, 'TaskStatus', default='')).upper()
    src, dest = field(task, 'SrcVersion'), field(task, 'DestVersion')
    desc = field(task, 'TaskDesc')
    attempts = task_attempts(task)
    if state in UNFINISHED_TASK_STATES:
        percent = field(task, 'Progress')
        phase = state.lower() if percent in (None, '') else '%s %s%%' % (state.lower(), percent)
        if desc:
            phase += ' (%s)' % desc
        return Progress(Progress.UPGRADING, src or device.current_version, phase, attempts=attempts)
    if state == TASK_SUCCEEDED:
        return Progress(Progress.IDLE, dest, 'succeeded', attempts=attempts)
    if state == TASK_CANCELED:
        # Nothing runs on the device and nothing will: idle (the engine knows what it canceled itself).
        return Progress(Progress.IDLE, src or device.current_version, 'canceled', 'the upgrade task was canceled%s' % (': %s' % desc if desc else ''),
                        attempts=attempts)
    return Progress(Progress.FAILED, src or device.current_version, 'failed', 'the upgrade task failed%s' % (': %s' % desc if desc else ''),
                    attempts=attempts)


def timeout_minutes(wait_timeout):
    """TimeoutInMinutes from the run's wait_timeout (seconds): rounded up, within the documented 1..1440; None sends none."""
    if wait_timeout is None:
        return None
    return int(min(max(math.ceil(float(wait_timeout) / 60.0), TIMEOUT_MINUTES[0]), TIMEOUT_MINUTES[1]))


class TuyaIotCoreClient(PlatformClient):
    platform = 'tuya_iotcore'
    # Documented: CancelOTATaskByJob / CancelOTATaskByDevice; a task waits QUEUED while its device is offline.
    can_cancel = True
    queues_offline = True

    def __init__(self, transport, access_key, secret_key, clock=time.time, nonce=None, device_cache=None):
        super().__init__(transport)
        self.access_key = access_key
        self._secret = secret_key
        self._clock = clock
        self._nonce = nonce or (lambda: uuid.uuid4().hex)
        self._directory = None       # DeviceName -> QueryDeviceByStatus entry
        path = cache_path(device_cache, DEVICE_CACHE_FILE)
        self._device_cache = AccountCache(path, transport.endpoint, access_key) if path else None
        self._tasks_seen_active = set()
        self._job_devices = {}       # JobId -> the DeviceNames this run created it for
        self._unconfirmed = {}       # DeviceName -> FirmwareId of a create whose outcome is unknown and whose task was not seen yet
        self._pacer = ActionPacer(ACTION_LIMITS, sleep=transport.retry.sleep)

    # -- calls ----------------------------------------------------------------------------------

    def call(self, action, params=None, safe_to_retry=True, what=None):
        """One signed RPC call; returns the decoded body of a successful answer.

        Every attempt is signed anew (fresh nonce and timestamp). Throttling is retried with
        backoff: the request was refused unprocessed, so even a write may be repeated then.
        """
        what = what or 'IoT Core %s' % action
        # Limits are per second: waiting less than that only spends another attempt.
        budget = RetryBudget(self.transport.retry, min_wait=THROTTLE_WAIT)
        nonce_retries = 0
        while True:
            self._pacer.wait(action)
            query = iotcore_signed_query('GET', action, params or {}, self.access_key, self._secret, self._clock(), self._nonce())
            try:
                response = self.transport.request('GET', '/?' + query, safe_to_retry=safe_to_retry, what=what, accept_status=ERROR_STATUSES)
            finally:
                self._pacer.answered(action)
            # An unreadable answer to a write (safe_to_retry=False) is OutcomeUnknownError: the job may exist.
            hint = 'is the endpoint the IoT Core instance URL?'
            body = self.transport.json(response, what, hint)
            if not isinstance(body, dict):
                raise self.transport.unexpected(response, what, 'JSON that is not an object', hint)
            success = field(body, 'Success')
            code = field(body, 'Code', default='')
            if response.status_code == 200 and success is not False and not code:
                return body
            message = field(body, 'ErrorMessage', 'Message', default='') or 'no message'
            request_id = field(body, 'RequestId')
            if code == NONCE_USED and nonce_retries < 2:
                # Our previous attempt reached the cloud before its answer was lost: sign anew.
                nonce_retries += 1
                continue
            if str(code).startswith(THROTTLING_PREFIX):
                if budget.again():
                    continue
                raise RateLimitError('%s was throttled (%s) %d times in a row; lower the request rate or try later'
                                     % (what, code, budget.refusals), code=code, request_id=request_id, http_status=response.status_code)
            raise self._error(what, code, message, request_id, response.status_code)

    def _error(self, what, code, message, request_id, status):
        ref = ' (request id %s)' % request_id if request_id else ''
        if code in AUTH_CODES:
            return AuthError('%s was refused: %s: %s%s. Check access_key %s and its secret_key, and the rights of that key.'
                             % (what, code, message, ref, self.access_key), code=code, request_id=request_id, http_status=status)
        if code in TIMESTAMP_CODES:
            return AuthError('%s was refused: %s: %s%s. The controller clock must be within 15 minutes of UTC.'
                             % (what, code, message, ref), code=code, request_id=request_id, http_status=status)
        return ApiError('%s failed: %s: %s%s' % (what, code or 'HTTP %d' % status, message, ref), code=code, request_id=request_id, http_status=status)

    def pages(self, action, params, wrapper, element, page_size, what=None):
        """Every item of a page-number listing (CurrentPage from 1) until the last page is read."""
        items = []
        page = 1
        while page <= MAX_PAGES:
            body = self.call(action, dict(params, CurrentPage=page, PageSize=page_size), what=what)
            chunk = items_of(body, wrapper, element)
            items.extend(chunk)
            page_count = _int(field(body, 'PageCount'))
            total = _int(field(body, 'Total'))
            if page_count is not None:
                if page >= page_count:
                    break
            elif total is not None:
                if len(items) >= total:
                    break
            elif len(chunk) < page_size:
                break
            if not chunk:
                break
            page += 1
        return items

    # -- devices --------------------------------------------------------------------------------

    def _device_directory(self):
        """DeviceName -> listing entry, from QueryDeviceByStatus over every status (read once per client).

        A listing is kept in the device cache as DeviceName -> ProductKey, for the next runs' get_devices.
        """
        if self._directory is None:
            directory = {}
            for status in DEVICE_STATUS_CODES:
                for info in self.pages('QueryDeviceByStatus', {'Status': status}, 'Data', 'SimpleDeviceInfo', DEVICE_PAGE_SIZE):
                    name = field(info, 'DeviceName')
                    if name:
                        # ASSUMPTION: DeviceName is unique across the account's products (it is what users name devices by).
                        directory.setdefault(name, info)
            self._directory = directory
            if self._device_cache is not None:
                with self._device_cache.locked():
                    self._device_cache.store(dict((name, field(info, 'ProductKey')) for name, info in directory.items()))
        return self._directory

    def _cached_infos(self, ids):
        """Listing entries for `ids` from the device cache, or None unless it knows every one of them.

        A device never changes product; one that was deleted, or re-created under another product,
        is missing from BatchQueryDeviceDetail's answer, and get_devices then lists the account anew.
        """
        if self._device_cache is None or self._directory is not None:
            return None
        products = self._device_cache.load()
        if not isinstance(products, dict) or not all(isinstance(products.get(name), str) for name in ids):
            return None
        return [{'DeviceName': name, 'ProductKey': products[name]} for name in ids]

    def _details(self, infos):
        """DeviceName -> BatchQueryDeviceDetail entry (FirmwareVersion, Status), 100 names of one product per call."""
        by_product = {}
        for info in infos:
            by_product.setdefault(field(info, 'ProductKey'), []).append(field(info, 'DeviceName'))
        details = {}
        for product in sorted(by_product, key=str):
            names = by_product[product]
            for start in range(0, len(names), DETAIL_BATCH_SIZE):
                batch = names[start:start + DETAIL_BATCH_SIZE]
                params = dict(flatten_list('DeviceName', batch), ProductKey=product)
                body = self.call('BatchQueryDeviceDetail', params, what='IoT Core BatchQueryDeviceDetail of %d device(s) of product %s' % (len(batch), product))
                for entry in items_of(body, 'Data', 'Data'):
                    details[field(entry, 'DeviceName')] = entry
        return details

    def list_devices(self, firmware_versions=True):
        directory = self._device_directory()
        infos = [directory[name] for name in sorted(directory)]
        # Only BatchQueryDeviceDetail has FirmwareVersion (100 devices a call, 5 calls a second);
        # the listing has the rest.
        details = self._details(infos) if firmware_versions else {}
        return [normalize_device(info, details.get(field(info, 'DeviceName'))) for info in infos]

    def get_devices(self, ids):
        infos = self._cached_infos(ids)
        details = self._details(infos) if infos else {}
        if infos is None or any(name not in details for name in ids):
            directory = self._device_directory()
            if any(name not in directory for name in ids):
                # A device that changed status between two listings (e.g. rebooting) is in neither: list once more.
                self._directory = None
                directory = self._device_directory()
            infos = [directory[name] for name in ids if name in directory]
            # Details already read through the cache stand (a name is unique); read the others' now.
            details.update(self._details([info for info in infos if field(info, 'DeviceName') not in details]))
        devices = dict((field(info, 'DeviceName'), normalize_device(info, details.get(field(info, 'DeviceName')))) for info in infos)
        if len(devices) <= PER_DEVICE_TASK_LOOKUP_LIMIT:
            for device in devices.values():
                self._mark_unfinished(device)
        return devices

    def _mark_unfinished(self, device):
        """Mark a device that has an unfinished OTA task (towards any firmware) as upgrading, with its job."""
        body = self.call('ListOTAUnfinishedTaskByDevice', {'ProductKey': device.product, 'DeviceName': device.id},
                         what='IoT Core ListOTAUnfinishedTaskByDevice %s' % device.id)
        for task in items_of(body, 'Data', 'SimpleOTATaskInfo'):
            if str(field(task, 'TaskStatus', default='')).upper() in UNFINISHED_TASK_STATES:
                device.upgrading = True
                device.extra['task_job'] = str(field(task, 'JobId'))
                device.extra['task_version'] = field(task, 'DestVersion')
                return

    # -- catalog --------------------------------------------------------------------------------

    def list_firmware_pages(self, product=None, dest_version=None):
        params = {}
        if product is not None:
            params['ProductKey'] = product
        if dest_version is not None:
            params['DestVersion'] = dest_version
        items = self.pages('ListOTAFirmware', params, 'FirmwareInfo', 'SimpleFirmwareInfo', FIRMWARE_PAGE_SIZE,
                           what='IoT Core ListOTAFirmware%s' % (' of product %s' % product if product else ''))
        return [normalize_firmware(item) for item in items]

    def get_firmware(self, firmware_id):
        """One catalog entry by id (QueryOTAFirmware)."""
        body = self.call('QueryOTAFirmware', {'FirmwareId': firmware_id}, what='IoT Core QueryOTAFirmware %s' % firmware_id)
        info = field(body, 'FirmwareInfo', 'Data')
        return normalize_firmware(info if isinstance(info, dict) else {})

    def list_firmwares(self, devices=None, product=None, hardware_version=None):
        if devices:
            products = sorted(set(d.product for d in devices if d.product is not None))
        else:
            products = [product] if product is not None else [None]
        firmwares, seen = [], set()
        for key in products:
            for firmware in self.list_firmware_pages(product=key):
                if firmware.id in seen or not firmware.version:
                    continue
                seen.add(firmware.id)
                firmwares.append(firmware)
        return firmwares

    def firmware_misfit(self, firmware, device):
        """Why `firmware` does not fit `device`, or None when it does."""
        if firmware.product is not None and firmware.product != device.product:
            return 'firmware %s (%s) is for product %s; the device is product %s' % (firmware.id, firmware.version, firmware.product, device.product)
        if firmware.extra.get('status') == FIRMWARE_VERIFY_FAILED:
            return 'firmware %s (%s) failed verification (Status 3); IoT Core will not deploy it' % (firmware.id, firmware.version)
        src = firmware.extra.get('src_version')
        # A device already at the package's version is current with it, whatever it was upgraded from.
        if src and not same_version(device.current_version, src) and not same_version(device.current_version, firmware.version):
            return 'firmware %s (%s) only upgrades devices on %s (SrcVersion); the device runs %s' % (
                firmware.id, firmware.version, src, device.current_version)
        return None

    def firmware_fits(self, firmware, device):
        return self.firmware_misfit(firmware, device) is None

    # -- upgrade --------------------------------------------------------------------------------

    def _jobs_of(self, firmware_id):
        return self.pages('ListOTAJobByFirmware', {'FirmwareId': firmware_id}, 'Data', 'SimpleOTAJobInfo', JOB_PAGE_SIZE,
                          what='IoT Core ListOTAJobByFirmware %s' % firmware_id)

    def _tasks_of(self, job_id):
        return self.pages('ListOTATaskByJob', {'JobId': job_id}, 'Data', 'SimpleOTATaskInfo', TASK_PAGE_SIZE,
                          what='IoT Core ListOTATaskByJob %s' % job_id)

    def unfinished_tasks(self, firmware_id, names):
        """DeviceName -> JobId for `names` that have an unfinished task towards `firmware_id`.

        Read per firmware (its unfinished jobs, then their tasks, paginated) rather than per
        device: a few calls for thousands of devices.
        """
        wanted = set(names)
        found = {}
        for job in self._jobs_of(firmware_id):
            if str(field(job, 'JobStatus', default='')).upper() not in UNFINISHED_JOB_STATES:
                continue
            if str(field(job, 'JobType', default='UPGRADE_FIRMWARE')).upper() != 'UPGRADE_FIRMWARE':
                continue
            job_id = str(field(job, 'JobId'))
            for task in self._tasks_of(job_id):
                name = field(task, 'DeviceName')
                if name in wanted and str(field(task, 'TaskStatus', default='')).upper() in UNFINISHED_TASK_STATES:
                    found.setdefault(name, job_id)
        return found

    def _remember_job(self, job_id):
        if job_id and job_id not in self.jobs:
            self.jobs.append(job_id)

    def native_retries(self, retries, retry_delay):
        """True when IoT Core can retry itself as asked: RetryCount 1, 2 or 5 and RetryInterval 0, 10, 30, 60 or 1440 minutes."""
        if not retries or retry_delay is None:
            return False
        minutes = float(retry_delay) / 60.0
        return retries in RETRY_COUNTS and minutes == int(minutes) and int(minutes) in RETRY_INTERVALS

    def start_upgrade(self, firmware, devices, upgrade_timeout=None, retries=None, retry_delay=None):
        results = {}
        current = self.get_firmware(firmware.id)
        if current.extra.get('status') in (FIRMWARE_VERIFYING, FIRMWARE_VERIFY_FAILED):
            msg = 'firmware %s (%s) is not deployable now: %s' % (firmware.id, firmware.version, FIRMWARE_STATUS[current.extra['status']])
            return dict((device.id, StartResult(StartResult.FAILED, msg)) for device in devices)
        product = current.product or firmware.product
        # A re-run must not create a second job: devices with an unfinished task towards this
        # firmware (offline ones too: a rebooting device is offline) are waited on instead, since
        # CreateOTAStaticUpgradeJob is not deduplicated by the vendor.
        running = self.unfinished_tasks(firmware.id, [device.id for device in devices])
        for name, job_id in running.items():
            self._remember_job(job_id)
            results[name] = StartResult(StartResult.IN_PROGRESS, 'already upgrading to %s in job %s; waiting for it' % (firmware.version, job_id), job=job_id)
        to_send = [device.id for device in devices if device.id not in running]
        options = {}
        minutes = timeout_minutes(upgrade_timeout)
        if minutes is not None:
            options['TimeoutInMinutes'] = minutes
        if retries and self.native_retries(retries, retry_delay):
            options.update(RetryCount=int(retries), RetryInterval=int(float(retry_delay) / 60.0))
        for start in range(0, len(to_send), JOB_DEVICE_LIMIT):
            batch = to_send[start:start + JOB_DEVICE_LIMIT]
            results.update(self._create_job(firmware, product, batch, options))
        for device in devices:
            # The engine sends an offline device only when the run queues (or fails) them: IoT Core keeps its task QUEUED.
            result = results.get(device.id)
            if device.online is False and result is not None and result.status == StartResult.STARTED:
                results[device.id] = StartResult(StartResult.QUEUED, 'device is %s: IoT Core keeps the task of job %s queued and installs it '
                                                                     'when the device reconnects' % (device.extra.get('status') or 'offline', result.job),
                                                 job=result.job)
        return results

    def _create_job(self, firmware, product, names, options=None):
        params = dict(flatten_list('TargetDeviceName', names), FirmwareId=firmware.id, ProductKey=product, TargetSelection='SPECIFIC')
        params.update(options or {})
        what = 'IoT Core CreateOTAStaticUpgradeJob of firmware %s (%s) for %d device(s)' % (firmware.id, firmware.version, len(names))
        try:
            # Never safe to retry: the vendor does not deduplicate this write.
            body = self.call('CreateOTAStaticUpgradeJob', params, safe_to_retry=False, what=what)
        except OutcomeUnknownError as exc:
            return self._after_ambiguous_create(firmware, names, exc)
        except FleetotaError as exc:
            return dict((name, StartResult(StartResult.FAILED, 'upgrade job not created: %s' % exc)) for name in names)
        job_id = field(field(body, 'Data', default={}), 'JobId') or field(body, 'JobId')
        if not job_id:
            # Accepted, but which job it made is not said: as good as a lost answer.
            return self._after_ambiguous_create(firmware, names, OutcomeUnknownError('%s answered without a JobId' % what))
        job_id = str(job_id)
        self._remember_job(job_id)
        self._job_devices[job_id] = set(names)
        return dict((name, StartResult(StartResult.STARTED, job=job_id)) for name in names)

    def _after_ambiguous_create(self, firmware, names, exc):
        """The create's answer was lost or unreadable: adopt the job it made, never create another.

        The job, if any, is found by re-reading the firmware's unfinished jobs and their tasks. A device without
        a task yet is StartResult.UNKNOWN: the engine waits for it, and poll() keeps looking for a job (a late
        create may still land), but nothing is sent again: the vendor does not deduplicate this write.
        """
        self.transport.retry.sleep(min(SETTLE_SECONDS, self.transport.timeout))
        try:
            found = self.unfinished_tasks(firmware.id, names)
        except FleetotaError as again:
            found = {}
            exc = '%s; re-reading the tasks failed too (%s)' % (exc, again)
        results = {}
        for name in names:
            if name in found:
                self._adopt(found[name], name)
                results[name] = StartResult(StartResult.STARTED, job=found[name])
            else:
                self._unconfirmed[name] = firmware.id
                results[name] = StartResult(StartResult.UNKNOWN, '%s; no upgrade task for this device was found in the jobs of firmware %s'
                                            % (exc, firmware.id))
        return results

    def _adopt(self, job_id, name):
        """Wait on a job this run did not see created (its create's answer was lost), for device `name`."""
        self._remember_job(job_id)
        self._job_devices.setdefault(job_id, set()).add(name)
        self._unconfirmed.pop(name, None)

    # -- stop -----------------------------------------------------------------------------------

    def _read_for_cancel(self, devices, jobs):
        """DeviceName -> JobId -> task: every task of `jobs` when given, else each device's unfinished tasks in any job."""
        tasks = {}
        if jobs:
            for job_id in jobs:
                for task in self._tasks_of(job_id):
                    if field(task, 'DeviceName'):
                        tasks.setdefault(field(task, 'DeviceName'), {})[job_id] = task
            return tasks
        for device in devices:
            body = self.call('ListOTAUnfinishedTaskByDevice', {'ProductKey': device.product, 'DeviceName': device.id},
                             what='IoT Core ListOTAUnfinishedTaskByDevice %s' % device.id)
            for task in items_of(body, 'Data', 'SimpleOTATaskInfo'):
                if field(task, 'JobId'):
                    tasks.setdefault(device.id, {})[str(field(task, 'JobId'))] = task
        return tasks

    def _send_cancels(self, wanted, whole_jobs, tasks, failures):
        """Cancel the tasks in `wanted` (JobId -> names): CancelOTATaskByJob for a job asked as a whole, else CancelOTATaskByDevice
        (per job, 200 names a call). Each request is sent once; returns JobId -> names whose outcome is not known."""
        unsure = {}
        for job_id in sorted(wanted):
            names = sorted(wanted[job_id])
            if job_id in whole_jobs:
                requests = [('CancelOTATaskByJob', {'JobId': job_id, 'CancelQueuedTask': 'true', 'CancelNotifiedTask': 'true',
                                                    'CancelUnconfirmedTask': 'true'}, names)]
            else:
                sample = tasks[names[0]][job_id]
                base = {'ProductKey': field(sample, 'ProductKey'), 'FirmwareId': str(field(sample, 'FirmwareId')), 'JobId': job_id}
                requests = [('CancelOTATaskByDevice', dict(base, **flatten_list('DeviceName', batch)), batch)
                            for batch in [names[i:i + CANCEL_DEVICE_LIMIT] for i in range(0, len(names), CANCEL_DEVICE_LIMIT)]]
            for action, params, batch in requests:
                try:
                    self.call(action, params, safe_to_retry=False, what='IoT Core %s of job %s (%d device(s))' % (action, job_id, len(batch)))
                except OutcomeUnknownError:
                    unsure.setdefault(job_id, set()).update(batch)
                except FleetotaError as exc:
                    for name in batch:
                        failures[(job_id, name)] = str(exc)
        return unsure

    def _reread(self, names_by_job):
        """JobId -> DeviceName -> task, read again (ListOTATaskByJob with DeviceNames.N)."""
        found = {}
        for job_id, names in names_by_job.items():
            names = sorted(names)
            for start in range(0, len(names), TASK_NAMES_LIMIT):
                params = dict(flatten_list('DeviceNames', names[start:start + TASK_NAMES_LIMIT]), JobId=job_id)
                for task in self.pages('ListOTATaskByJob', params, 'Data', 'SimpleOTATaskInfo', TASK_PAGE_SIZE,
                                       what='IoT Core ListOTATaskByJob %s' % job_id):
                    found.setdefault(job_id, {})[field(task, 'DeviceName')] = task
        return found

    def cancel(self, devices, jobs=None, check=False):
        """Cancel the CONFIRM, QUEUED and NOTIFIED tasks of `devices` (in `jobs` when given, else in any job).

        A cancel whose outcome is unknown is never assumed: the tasks are read again, the ones still cancelable are sent once
        more, and what the last read shows is reported."""
        jobs = [str(job) for job in (jobs or [])]
        tasks = self._read_for_cancel(devices, jobs)
        names = [device.id for device in devices] + sorted(name for name in tasks if name not in set(device.id for device in devices))
        wanted = {}
        for name, by_job in tasks.items():
            for job_id, task in by_job.items():
                if str(field(task, 'TaskStatus', default='')).upper() in CANCELABLE_TASK_STATES:
                    wanted.setdefault(job_id, set()).add(name)
        failures, canceled = {}, set()
        pending = wanted if not check else {}
        for _round in (1, 2):
            if not pending:
                break
            unsure = self._send_cancels(pending, set(jobs), tasks, failures)
            for job_id, batch in pending.items():
                canceled.update((job_id, name) for name in batch if name not in unsure.get(job_id, ()) and (job_id, name) not in failures)
            pending = {}
            for job_id, by_name in self._reread(unsure).items():
                for name, task in by_name.items():
                    tasks.setdefault(name, {})[job_id] = task
                    status = str(field(task, 'TaskStatus', default='')).upper()
                    if status == TASK_CANCELED:
                        canceled.add((job_id, name))
                    elif status in CANCELABLE_TASK_STATES and _round == 1:
                        pending.setdefault(job_id, set()).add(name)
        return dict((name, task_cancel_result(name, tasks.get(name, {}), canceled, failures, check, jobs, TASK_WORDS)) for name in names)

    # -- wait -----------------------------------------------------------------------------------

    def poll(self, devices):
        """Progress from the task listings of this run's jobs (paginated), not one call per device."""
        wanted = dict((device.id, device) for device in devices)
        for device in devices:
            # Upgrades found already running when planning are waited on through their own job.
            self._remember_job(device.extra.get('task_job'))
        unconfirmed = {}
        for name in wanted:
            if name in self._unconfirmed:
                unconfirmed.setdefault(self._unconfirmed[name], []).append(name)
        for firmware_id in sorted(unconfirmed):
            # A create whose answer was lost may land late: adopt its job once its tasks appear.
            for name, job_id in self.unfinished_tasks(firmware_id, unconfirmed[firmware_id]).items():
                self._adopt(job_id, name)
        tasks = {}
        for job_id in self.jobs:
            names = self._job_devices.get(job_id)
            if names is not None and names.isdisjoint(wanted):
                continue    # every device of this job has finished: its tasks are not read again
            for task in self._tasks_of(job_id):
                name = field(task, 'DeviceName')
                if name in wanted:
                    tasks[name] = task
        progress = {}
        finished_jobs = None
        for name, device in wanted.items():
            task = tasks.get(name)
            if task is None and name in self._unconfirmed:
                # No job of ours covers it: nothing runs on it (as far as can be seen yet).
                progress[name] = Progress(Progress.IDLE, device.current_version, 'no upgrade task found')
                continue
            if task is None:
                if finished_jobs is None:
                    finished_jobs = self._finished_jobs(self.jobs)
                if self.jobs and all(job in finished_jobs for job in self.jobs):
                    progress[name] = Progress(Progress.FAILED, device.current_version, 'no task',
                                              'the upgrade job ended without a task for this device (IoT Core skips devices it '
                                              'considers already at the target)')
                else:
                    progress[name] = Progress(Progress.UPGRADING, device.current_version, 'waiting for the job to create its task')
                continue
            state = task_progress(task, device)
            if state.state == Progress.UPGRADING:
                self._tasks_seen_active.add(name)
            elif state.state == Progress.IDLE and name not in self._tasks_seen_active and same_version(device.current_version, state.current_version):
                # A forced re-flash that finished between two polls: report it busy once, so that the
                # engine can tell it ran rather than never started.
                self._tasks_seen_active.add(name)
                state = Progress(Progress.UPGRADING, device.current_version, 'finishing')
            progress[name] = state
        return progress

    def _finished_jobs(self, job_ids):
        finished = set()
        for job_id in job_ids:
            body = self.call('QueryOTAJob', {'JobId': job_id}, what='IoT Core QueryOTAJob %s' % job_id)
            if str(field(field(body, 'Data', default={}), 'JobStatus', default='')).upper() not in UNFINISHED_JOB_STATES:
                finished.add(job_id)
        return finished
