# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The tuya_iotcore client and emulator over real HTTP when a rollout stops short: CancelOTATaskByDevice and ByJob, native
retries, job timeouts, queued tasks of offline devices, emulated time."""

import pytest

from conftest import reset  # pylint: disable=import-error
from platforms.tuya_iotcore import client_emulator, client_for, raw_call, scenarios, stats, upgrade_set  # pylint: disable=import-error

from ansible_collections.fleetota.cloud.plugins.module_utils._models import Progress, StartResult
from ansible_collections.fleetota.cloud.plugins.module_utils._platforms import tuya_iotcore as iot
from ansible_collections.fleetota.cloud.plugins.module_utils._transport import RetryPolicy


server, emu = client_emulator()


def control(emu, method, path, body=None):
    import requests  # pylint: disable=import-outside-toplevel
    response = requests.request(method, emu.url + '/_emulator' + path, json=body, timeout=10)
    response.raise_for_status()
    return response.json()


def device_state(emu, name):
    return control(emu, 'GET', '/devices/tuya_iotcore/%s' % name)


def _offline_queued(emu, client):
    """An offline device sent an upgrade (as offline=queue does): IoT Core keeps its task QUEUED."""
    name = scenarios(emu)['offline_devices'][0]
    control(emu, 'POST', '/devices/tuya_iotcore', {'ids': [name], 'firmware_version': '0.0.1'})
    device = client.get_devices([name])[name]
    assert device.online is False
    target = scenarios(emu)['latest_by_product'][device.product]
    firmware = next(fw for fw in client.list_firmware_pages(product=device.product) if fw.id == target['firmware_id'])
    started = client.start_upgrade(firmware, [device])[name]
    assert started.status == StartResult.QUEUED and 'installs it when the device reconnects' in started.msg, started.msg
    return device, firmware, started.job


def test_the_clock_endpoint_moves_devices_and_jobs_but_not_the_signature_clock(emu):
    assert control(emu, 'GET', '/clock')['offset'] == 0
    client = client_for(emu)
    emu.state.config.upgrade_seconds = 600
    devices, firmware = upgrade_set(emu, client, 1)
    client.start_upgrade(firmware, devices)
    assert device_state(emu, devices[0].id)['upgrading'] is True
    moved = control(emu, 'POST', '/clock', {'advance': 3600})
    assert moved['offset'] == 3600 and moved['now'] - moved['wall'] == pytest.approx(3600)
    state = device_state(emu, devices[0].id)
    assert state['upgrading'] is False and state['firmware_version'] == firmware.version
    # Requests signed with the real time are still accepted an emulated hour later.
    assert client.poll(devices)[devices[0].id].phase == 'succeeded'
    import requests  # pylint: disable=import-outside-toplevel
    assert requests.post(emu.url + '/_emulator/clock', json={'advance': -5}, timeout=10).status_code == 400
    assert requests.post(emu.url + '/_emulator/clock', json={'forward': 5}, timeout=10).status_code == 400
    reset(emu)
    assert control(emu, 'GET', '/clock')['offset'] == 0


def test_a_queued_task_of_an_offline_device_is_canceled_and_never_pushed(emu):
    client = client_for(emu)
    device, _firmware, job = _offline_queued(emu, client)
    result = client.cancel([device])[device.id]
    assert (result.status, result.job) == ('canceled', job) and 'canceled' in result.msg
    assert stats(emu).get('CancelOTATaskByDevice') == 1
    control(emu, 'POST', '/devices/tuya_iotcore', {'ids': [device.id], 'online': True})
    control(emu, 'POST', '/clock', {'advance': 3600})
    assert device_state(emu, device.id)['upgrade_count'] == 0
    assert [t['status'] for t in scenarios(emu)['jobs'][0]['tasks']] == ['CANCELED']
    again = client_for(emu).cancel([device])[device.id]
    assert again.status == 'nothing_pending'


def test_without_a_cancel_the_queued_task_is_pushed_when_the_device_reconnects(emu):
    client = client_for(emu)
    device, _firmware, _job = _offline_queued(emu, client)
    control(emu, 'POST', '/clock', {'advance': 3 * 3600})     # the timeout counts from the push: a queued task waits
    control(emu, 'POST', '/devices/tuya_iotcore', {'ids': [device.id], 'online': True})
    control(emu, 'POST', '/clock', {'advance': 3600})
    assert device_state(emu, device.id)['upgrade_count'] == 1


def test_an_upgrade_under_way_is_not_cancelable(emu):
    emu.state.config.upgrade_seconds = 30
    client = client_for(emu)
    devices, firmware = upgrade_set(emu, client, 1)
    started = client.start_upgrade(firmware, devices)[devices[0].id]
    control(emu, 'POST', '/clock', {'advance': 5})
    result = client.cancel(devices)[devices[0].id]
    assert (result.status, result.job) == ('not_cancelable', started.job)
    assert 'the upgrade is under way on the device' in result.msg and 'IN_PROGRESS' in result.msg
    assert 'CancelOTATaskByDevice' not in stats(emu) and device_state(emu, devices[0].id)['upgrading'] is True


def test_nothing_pending_and_the_jobs_of_a_run(emu):
    client = client_for(emu)
    devices, firmware = upgrade_set(emu, client, 2)
    idle = client.get_devices(scenarios(emu)['current_online_devices'][:1])
    result = client.cancel(list(idle.values()))
    assert [r.status for r in result.values()] == ['nothing_pending'] and 'any IoT Core job' in list(result.values())[0].msg
    client.start_upgrade(firmware, devices)
    control(emu, 'POST', '/clock', {'advance': 60})          # both finish
    by_job = client_for(emu).cancel([], jobs=client.jobs)
    assert set(by_job) == set(d.id for d in devices)          # the job's devices are included
    assert set(r.status for r in by_job.values()) == {'nothing_pending'} and all('SUCCEEDED' in r.msg for r in by_job.values())


def test_check_mode_writes_nothing(emu):
    client = client_for(emu)
    device, _firmware, job = _offline_queued(emu, client)
    before = stats(emu)
    result = client.cancel([device], check=True)[device.id]
    assert (result.status, result.job) == ('canceled', job) and 'would be canceled' in result.msg
    after = stats(emu)
    assert not [action for action in after if action.startswith('Cancel')] and after.get('CreateOTAStaticUpgradeJob') == 1
    assert after.get('ListOTAUnfinishedTaskByDevice', 0) == before.get('ListOTAUnfinishedTaskByDevice', 0) + 1
    assert [t['status'] for t in scenarios(emu)['jobs'][0]['tasks']] == ['QUEUED']


def test_a_cancel_whose_answer_is_lost_is_read_again_not_assumed(emu):
    client = client_for(emu, retry=RetryPolicy(attempts=4, backoff=0.01, sleep=lambda seconds: None))
    device, _firmware, job = _offline_queued(emu, client)
    control(emu, 'POST', '/faults', {'rules': [{'kind': 'drop_after', 'query': 'Action=CancelOTATaskByDevice'}]})
    before = stats(emu).get('ListOTATaskByJob', 0)
    result = client.cancel([device])[device.id]
    assert (result.status, result.job) == ('canceled', job)
    counts = stats(emu)
    assert counts['CancelOTATaskByDevice'] == 1 and counts['ListOTATaskByJob'] == before + 1    # sent once, then read again


def test_a_lost_cancel_that_did_not_land_is_sent_once_more(emu):
    client = client_for(emu, retry=RetryPolicy(attempts=4, backoff=0.01, sleep=lambda seconds: None))
    device, _firmware, _job = _offline_queued(emu, client)
    control(emu, 'POST', '/faults', {'rules': [{'kind': 'drop', 'query': 'Action=CancelOTATaskByDevice'}]})
    result = client.cancel([device])[device.id]
    assert result.status == 'canceled' and stats(emu)['CancelOTATaskByDevice'] == 2


def test_the_jobs_of_a_run_are_canceled_as_a_whole(emu):
    client = client_for(emu)
    device, _firmware, job = _offline_queued(emu, client)
    result = client_for(emu).cancel([], jobs=[job])
    assert result[device.id].status == 'canceled'
    counts = stats(emu)
    assert counts['CancelOTATaskByJob'] == 1 and 'CancelOTATaskByDevice' not in counts


def test_the_emulator_wants_a_cancel_flag(emu):
    status, body = raw_call(emu, 'CancelOTATaskByJob', nonce='flag-1', JobId='1')
    assert body['code'] == 'iot.ota.JobNotFound'
    client = client_for(emu)
    _device, _firmware, job = _offline_queued(emu, client)
    status, body = raw_call(emu, 'CancelOTATaskByJob', nonce='flag-2', JobId=job)
    assert (status, body['code']) == (200, 'iot.check.InvalidFormattedParameter') and 'CancelQueuedTask' in body['errorMessage']


def test_native_retries_install_after_a_failed_attempt(emu):
    client = client_for(emu)
    assert client.native_retries(1, 0) and client.native_retries(5, 600) and client.native_retries(2, 86400.0)
    assert not client.native_retries(0, 0) and not client.native_retries(3, 0) and not client.native_retries(1, 90)
    devices, firmware = upgrade_set(emu, client, 1)
    name = devices[0].id
    control(emu, 'POST', '/devices/tuya_iotcore', {'ids': [name], 'behaviour': 'fail_once'})
    client.start_upgrade(firmware, devices, retries=1, retry_delay=0)
    job = scenarios(emu)['jobs'][0]
    assert (job['retry_count'], job['retry_interval']) == (1, 0)
    control(emu, 'POST', '/clock', {'advance': 60})
    progress = client.poll(devices)[name]
    assert (progress.state, progress.phase, progress.attempts) == (Progress.IDLE, 'succeeded', 2)
    assert device_state(emu, name)['upgrade_count'] == 2


def test_native_retries_spent_fail_and_a_retry_waiting_is_cancelable(emu):
    client = client_for(emu)
    devices, firmware = upgrade_set(emu, client, 2)
    control(emu, 'POST', '/devices/tuya_iotcore', {'ids': [d.id for d in devices], 'behaviour': 'fail'})
    client.start_upgrade(firmware, devices, retries=2, retry_delay=600)
    control(emu, 'POST', '/clock', {'advance': 5})            # the first attempt failed; the retry waits 10 minutes, QUEUED
    progress = client.poll(devices)
    assert set((p.state, p.attempts) for p in progress.values()) == {(Progress.UPGRADING, 1)}
    assert all('attempt 2 of 3' in p.phase for p in progress.values())
    assert client.cancel(devices[:1])[devices[0].id].status == 'canceled'
    control(emu, 'POST', '/clock', {'advance': 3600})
    progress = client.poll(devices)
    assert (progress[devices[1].id].state, progress[devices[1].id].attempts) == (Progress.FAILED, 3)
    assert (progress[devices[0].id].state, progress[devices[0].id].phase) == (Progress.IDLE, 'canceled')
    assert [device_state(emu, d.id)['upgrade_count'] for d in devices] == [1, 3]


def test_jobs_carry_the_wait_timeout_in_minutes(emu):
    assert [iot.timeout_minutes(value) for value in (None, 1, 60, 61, 600, 86400, 10 ** 6)] == [None, 1, 1, 2, 10, 1440, 1440]
    emu.state.config.upgrade_seconds = 60
    client = client_for(emu)
    devices, firmware = upgrade_set(emu, client, 1)
    control(emu, 'POST', '/devices/tuya_iotcore', {'ids': [devices[0].id], 'behaviour': 'hang'})
    client.start_upgrade(firmware, devices, upgrade_timeout=90)
    assert scenarios(emu)['jobs'][0]['timeout_minutes'] == 2
    control(emu, 'POST', '/clock', {'advance': 121})
    progress = client.poll(devices)[devices[0].id]
    assert progress.state == Progress.FAILED and 'timed out after 2 minutes' in progress.msg
