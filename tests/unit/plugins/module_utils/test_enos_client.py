# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Pure parts of the EnOS client: error mapping, timeout clamp, expressions, field mapping, task progress."""

import pytest

from ansible_collections.fleetota.cloud.plugins.module_utils._errors import ApiError, AuthError, ConfigError
from ansible_collections.fleetota.cloud.plugins.module_utils._models import Progress
from ansible_collections.fleetota.cloud.plugins.module_utils._platforms.enos import (
    error_for,
    in_expression,
    normalize_device,
    normalize_firmware,
    quote,
    task_progress,
    upgrade_timeout,
)


@pytest.mark.parametrize('code, kind, words', [
    (99400, ApiError, 'invalid request parameter'),
    (99403, AuthError, 'check org_id'),
    (99404, ApiError, 'object does not exist'),
    (99500, ApiError, 'internal error'),
    (24404, ApiError, 'firmware or job not found'),
    (24500, ApiError, 'OTA service internal error'),
    (24617, ApiError, 'job not running'),
    (1001, AuthError, 'duplicated encryption'),
    (1002, AuthError, 'check access_key'),
    (1003, AuthError, 'check secret_key'),
    (1004, AuthError, "controller's clock"),
    (1203, AuthError, 'expired'),
    (1204, AuthError, 'failed to refresh'),
    (31337, ApiError, 'unknown error'),
])
def test_business_codes_map_to_our_error_types_with_code_and_request_id(code, kind, words):
    error = error_for(code, None, 'req-42', 'EnOS thing')
    assert isinstance(error, kind)
    assert kind is AuthError or not isinstance(error, AuthError)
    assert error.code == code and error.request_id == 'req-42'
    text = str(error)
    assert text.startswith('EnOS thing failed: ')
    assert '(EnOS code %d, requestId req-42)' % code in text
    assert words in text


def test_vendor_message_is_kept_next_to_the_known_meaning():
    text = str(error_for(99400, 'Invalid Argument action:action is missing', 'r1', 'EnOS x'))
    assert 'invalid request parameter: Invalid Argument action:action is missing' in text


def test_error_without_request_id_says_so_plainly():
    assert str(error_for(99500, None, None, 'EnOS x')) == 'EnOS x failed: internal error (EnOS code 99500)'


@pytest.mark.parametrize('wait_timeout, expected', [
    (None, 7200), (1, 300), (3, 300), (300, 300), (300.2, 301), (3600, 3600), (172800, 172800), (10 ** 7, 172800),
])
def test_upgrade_timeout_is_wait_timeout_clamped_to_the_documented_range(wait_timeout, expected):
    assert upgrade_timeout(wait_timeout) == expected


def test_expressions_quote_values_and_refuse_quotes():
    assert in_expression('deviceKey', ['a', 'b']) == "deviceKey in ('a','b')"
    assert quote('x1') == "'x1'"
    with pytest.raises(ConfigError, match="device id it's contains a quote"):
        quote("it's")
    with pytest.raises(ConfigError, match='backslash'):
        in_expression('deviceKey', ['ok', 'a\\b'])


def test_firmware_fields_and_released_from_is_verified():
    item = {'firmwareId': 'fw1', 'productKey': 'BXwU4kMk', 'name': {'defaultValue': 'HC_TEST', 'i18nValue': {}}, 'version': '2.0',
            'desc': None, 'signMethod': 'md5', 'sign': 'fileSig', 'fileSize': 1767, 'isVerified': False, 'enableVerification': False,
            'createTime': 1590746442378}
    firmware = normalize_firmware(item)
    assert (firmware.id, firmware.version, firmware.product, firmware.name) == ('fw1', '2.0', 'BXwU4kMk', 'HC_TEST')
    assert firmware.released is False and firmware.hardware_version is None
    assert (firmware.size, firmware.checksum, firmware.checksum_algorithm) == (1767, 'fileSig', 'md5')
    assert firmware.created == '2020-05-29T10:00:42Z'
    assert normalize_firmware(dict(item, isVerified=True)).released is True


def test_new_firmware_without_product_takes_the_product_searched_for():
    assert normalize_firmware({'firmwareId': 'f', 'version': '1'}, 'Zm3RkE9s').product == 'Zm3RkE9s'


def test_device_fields():
    device = normalize_device({'deviceKey': 'DK1', 'deviceName': {'defaultValue': 'inv-1'}, 'productKey': 'P', 'status': 'offline',
                               'firmwareVersion': '1.0'})
    assert (device.id, device.name, device.product, device.online, device.current_version) == ('DK1', 'inv-1', 'P', False, '1.0')


@pytest.mark.parametrize('task, state, words', [
    ({'status': 'init'}, Progress.UPGRADING, 'waiting to be pushed'),
    ({'status': 'published'}, Progress.UPGRADING, 'pushed'),
    ({'status': 'upgrading', 'progress': 45, 'desc': 'install'}, Progress.UPGRADING, 'upgrading 45% (install)'),
    ({'status': 'failed', 'progress': -2, 'desc': 'oops', 'jobId': 'j1'}, Progress.FAILED, 'oops; download failed'),
    ({'status': 'canceled', 'jobId': 'j1'}, Progress.IDLE, 'canceled'),
    ({'status': 'someNewState'}, Progress.UPGRADING, 'task status somenewstate'),
])
def test_task_progress(task, state, words):
    progress = task_progress(dict(task, fromVersion='1.0'))
    assert progress.state == state
    assert words in (progress.msg or progress.phase)
    assert progress.current_version == '1.0'


class _Firmware:
    version = '2.0.0'


def _stand_down(tasks):
    """EnosClient._stand_down over the given searchTask answer, with the cancel requests it sends recorded."""
    from ansible_collections.fleetota.cloud.plugins.module_utils._platforms.enos import EnosClient  # pylint: disable=import-outside-toplevel
    client = EnosClient.__new__(EnosClient)
    canceled = []
    client._search = lambda *args, **kwargs: list(tasks)  # pylint: disable=protected-access
    client._cancel_tasks = lambda job_id, ids, **kwargs: canceled.append((job_id, list(ids)))  # pylint: disable=protected-access
    client._track = lambda job_id, ids: None  # pylint: disable=protected-access
    return client._stand_down(_Firmware(), 'job-young', ['dk1']), canceled  # pylint: disable=protected-access


@pytest.mark.parametrize('ours, theirs, stays', [
    ('published', 'init', True),       # ours is pushed: the device downloads it; never dropped for an older, unpushed task
    ('init', 'published', False),      # theirs is pushed: ours stands down
    ('init', 'init', False),           # neither pushed: the older one (theirs) stays
    ('upgrading', 'init', True),
])
def test_a_task_already_pushed_to_the_device_never_stands_down(ours, theirs, stays):
    tasks = [{'jobId': 'job-young', 'deviceKey': 'dk1', 'status': ours, 'createTime': 2},
             {'jobId': 'job-old', 'deviceKey': 'dk1', 'status': theirs, 'createTime': 1}]
    results, canceled = _stand_down(tasks)
    assert (canceled == []) == stays, canceled
    assert ('dk1' in results) == (not stays)
