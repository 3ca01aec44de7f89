# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The tuya_iotcore client: parsing, fit rules, pacing (over HTTP: tests/integration/test_tuya_iotcore_client.py and _stopping.py)."""

import pytest

from ansible_collections.fleetota.cloud.plugins.module_utils import _platforms
from ansible_collections.fleetota.cloud.plugins.module_utils._models import Device, Firmware, Progress
from ansible_collections.fleetota.cloud.plugins.module_utils._platforms import tuya_iotcore as iot

assert _platforms is not None


# -- pure parsing ---------------------------------------------------------------------------------

def test_fields_are_read_whatever_their_case():
    camel = {'firmwareId': '7', 'destVersion': '1.0.1', 'srcVersion': '', 'status': 1, 'productKey': 'pk', 'signMethod': 'MD5'}
    pascal = dict((key[0].upper() + key[1:], value) for key, value in camel.items())
    upper = {'FirmwareID': '7', 'DestVersion': '1.0.1', 'SrcVersion': '', 'Status': 1, 'ProductKey': 'pk', 'SignMethod': 'MD5'}
    for item in (camel, pascal, upper):
        firmware = iot.normalize_firmware(item)
        assert (firmware.id, firmware.version, firmware.product, firmware.released) == ('7', '1.0.1', 'pk', True)
        assert firmware.checksum_algorithm == 'md5' and firmware.extra['src_version'] is None


def test_list_wrappers_in_both_styles():
    assert iot.items_of({'firmwareInfo': {'simpleFirmwareInfo': [1, 2]}}, 'FirmwareInfo', 'SimpleFirmwareInfo') == [1, 2]
    assert iot.items_of({'FirmwareInfo': {'SimpleFirmwareInfo': [3]}}, 'FirmwareInfo', 'SimpleFirmwareInfo') == [3]
    assert iot.items_of({'Data': [4]}, 'Data', 'SimpleOTATaskInfo') == [4]
    assert iot.items_of({'data': {'simpleOTATaskInfo': {'taskId': 'x'}}}, 'Data', 'SimpleOTATaskInfo') == [{'taskId': 'x'}]
    assert iot.items_of({}, 'Data', 'X') == [] and iot.items_of({'data': None}, 'Data', 'X') == []


@pytest.mark.parametrize('status, released', [(0, False), (1, True), (2, False), (3, False), (None, False)])
def test_only_verified_firmware_is_released(status, released):
    assert iot.normalize_firmware({'FirmwareId': '1', 'DestVersion': '1.0.0', 'Status': status}).released is released


def _fw(src=None, status=1, product='pk'):
    return Firmware('9', '2.0.1', product=product, released=status == 1, extra={'src_version': src, 'status': status})


def _dev(version, product='pk'):
    return Device('d1', product=product, current_version=version)


def test_src_version_limits_which_devices_fit():
    client = iot.TuyaIotCoreClient.__new__(iot.TuyaIotCoreClient)
    assert client.firmware_fits(_fw(src='1.9.0'), _dev('1.9.0'))
    assert not client.firmware_fits(_fw(src='1.9.0'), _dev('1.8.0'))
    assert 'only upgrades devices on 1.9.0 (SrcVersion); the device runs 1.8.0' in client.firmware_misfit(_fw(src='1.9.0'), _dev('1.8.0'))
    assert client.firmware_fits(_fw(src='1.9.0'), _dev('2.0.1'))   # already there: current, not incompatible
    assert client.firmware_fits(_fw(), _dev('0.1.0'))
    assert 'is for product pk' in client.firmware_misfit(_fw(), _dev('1.0.0', product='other'))
    assert 'failed verification' in client.firmware_misfit(_fw(status=3), _dev('1.0.0'))


@pytest.mark.parametrize('task, state, version', [
    ({'TaskStatus': 'QUEUED', 'SrcVersion': '1.0', 'DestVersion': '2.0'}, Progress.UPGRADING, '1.0'),
    ({'taskStatus': 'NOTIFIED', 'srcVersion': '1.0', 'destVersion': '2.0', 'progress': '3'}, Progress.UPGRADING, '1.0'),
    ({'TaskStatus': 'IN_PROGRESS', 'SrcVersion': '1.0', 'DestVersion': '2.0', 'Progress': '60'}, Progress.UPGRADING, '1.0'),
    ({'TaskStatus': 'CONFIRM', 'SrcVersion': '1.0', 'DestVersion': '2.0'}, Progress.UPGRADING, '1.0'),
    ({'TaskStatus': 'SUCCEEDED', 'SrcVersion': '1.0', 'DestVersion': '2.0'}, Progress.IDLE, '2.0'),
    ({'TaskStatus': 'FAILED', 'SrcVersion': '1.0', 'DestVersion': '2.0', 'TaskDesc': 'timeout'}, Progress.FAILED, '1.0'),
    ({'TaskStatus': 'CANCELED', 'SrcVersion': '1.0', 'DestVersion': '2.0'}, Progress.IDLE, '1.0'),
])
def test_task_states_map_to_progress(task, state, version):
    progress = iot.task_progress(task, _dev('1.0'))
    assert (progress.state, progress.current_version) == (state, version)
    if task.get('TaskDesc'):
        assert 'timeout' in progress.msg


def test_the_plan_gives_the_platform_reason_for_an_incompatible_device():
    from ansible_collections.fleetota.cloud.plugins.module_utils import _plan as plan  # pylint: disable=import-outside-toplevel
    client = iot.TuyaIotCoreClient.__new__(iot.TuyaIotCoreClient)
    delta = _fw(src='1.9.0')
    firmware, reason = plan.resolve_target(_dev('1.8.0'), [delta], client.firmware_fits, version='2.0.1', explain=client.firmware_misfit)
    assert firmware is None and 'only upgrades devices on 1.9.0 (SrcVersion)' in reason
    firmware, reason = plan.resolve_target(_dev('1.8.0'), [delta], client.firmware_fits, firmware=delta, explain=client.firmware_misfit)
    assert firmware is None and 'SrcVersion' in reason
    firmware, reason = plan.resolve_target(_dev('1.9.0'), [delta], client.firmware_fits, version='2.0.1', explain=client.firmware_misfit)
    assert firmware is delta and reason is None
    # Without an explanation the plan keeps its generic text.
    firmware, reason = plan.resolve_target(_dev('1.8.0'), [delta], client.firmware_fits, version='2.0.1')
    assert 'not in the catalog' in reason
