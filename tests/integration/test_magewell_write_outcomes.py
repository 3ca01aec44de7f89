# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Writes whose answer is lost, late or unreadable: never repeated, reported as unknown (Magewell client and the
transport, against the emulator)."""

import time

import pytest

from conftest import own_emulator  # pylint: disable=import-error

from ansible_collections.fleetota.cloud.plugins.module_utils._connection import create_client
from ansible_collections.fleetota.cloud.plugins.module_utils._errors import ApiError, OutcomeUnknownError
from ansible_collections.fleetota.cloud.plugins.module_utils._models import StartResult
from ansible_collections.fleetota.cloud.plugins.module_utils._transport import RetryPolicy

PASSWORD = 'unit-Mw-secret-5c'
UPGRADE = 'POST /sc_cloud/upgrade/start'


server, emu = own_emulator(devices=30, seed=5, upgrade_seconds=0.3, offline_ratio=0.0, magewell_password=PASSWORD)


def control(emu, method, path, body=None):
    import requests  # pylint: disable=import-outside-toplevel
    response = requests.request(method, emu.url + '/_emulator' + path, json=body, timeout=10)
    response.raise_for_status()
    return response.json()


def magewell(emu, **options):
    values = dict(platform='magewell', endpoint=emu.url, username='Admin', password=PASSWORD)
    values.update(options)
    return create_client(values, retry=RetryPolicy(attempts=4, backoff=0.05))


def outdated(emu, client):
    sn = control(emu, 'GET', '/scenarios?platform=magewell')['outdated_online_devices'][0]
    device = client.get_devices([sn])[sn]
    firmware = max((fw for fw in client.list_firmwares(devices=[device]) if fw.released), key=lambda fw: fw.parsed_version)
    return device, firmware


def test_a_late_start_is_not_re_sent_so_the_device_is_flashed_once(emu):
    client = magewell(emu, timeout=0.5)
    device, firmware = outdated(emu, client)
    control(emu, 'POST', '/faults', {'rules': [{'kind': 'late', 'seconds': 1.2, 'path': '/sc_cloud/upgrade/start'}]})
    answers = client.start_upgrade(firmware, [device])
    assert answers[device.id].status == StartResult.UNKNOWN and 'may or may not have been applied' in answers[device.id].msg
    assert control(emu, 'GET', '/stats')['requests'][UPGRADE] == 1
    time.sleep(1.2 + 0.3 + 0.5)     # the late request lands, and its upgrade finishes
    state = control(emu, 'GET', '/devices/magewell/%s' % device.id)
    assert state['upgrade_count'] == 1 and state['firmware_version'] == firmware.version


@pytest.mark.parametrize('body', ['html', 'truncated'])
def test_a_start_answered_with_garbage_is_an_unknown_outcome_not_a_failure(emu, body):
    client = magewell(emu)
    device, firmware = outdated(emu, client)
    control(emu, 'POST', '/faults', {'rules': [{'kind': 'garble_after', 'body': body, 'path': '/sc_cloud/upgrade/start'}]})
    answers = client.start_upgrade(firmware, [device])
    assert answers[device.id].status == StartResult.UNKNOWN
    assert 'not JSON' in answers[device.id].msg and 'endpoint' not in answers[device.id].msg
    assert control(emu, 'GET', '/stats')['requests'][UPGRADE] == 1
    assert control(emu, 'GET', '/devices/magewell/%s' % device.id)['upgrade_count'] == 1


def test_a_start_refused_unprocessed_is_a_failure_of_that_batch(emu):
    client = magewell(emu)
    device, firmware = outdated(emu, client)
    control(emu, 'POST', '/faults', {'rules': [{'kind': 'rate_limit', 'retry_after': 0, 'path': '/sc_cloud/upgrade/start', 'times': 1}]})
    answers = client.start_upgrade(firmware, [device])
    assert answers[device.id].status == StartResult.STARTED     # 429: refused unprocessed, so sent again
    assert control(emu, 'GET', '/stats')['requests'][UPGRADE] == 2


def test_an_unreadable_answer_is_an_api_error_for_a_read_and_unknown_for_a_write(emu):
    client = magewell(emu)
    transport = client.transport
    control(emu, 'POST', '/faults', {'rules': [{'kind': 'garble_after', 'path': '/_probe'}] * 2})
    read = transport.request('GET', '/_probe/read', what='probe read', accept_status=(404,))
    with pytest.raises(ApiError) as exc:
        transport.json(read, 'probe read')
    assert 'not JSON' in str(exc.value) and 'is the endpoint right?' in str(exc.value)
    write = transport.request('POST', '/_probe/write', what='probe write', accept_status=(404,))
    with pytest.raises(OutcomeUnknownError) as exc:
        transport.json(write, 'probe write')
    assert 'may or may not have been applied' in str(exc.value)
