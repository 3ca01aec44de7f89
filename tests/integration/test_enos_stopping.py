# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The EnOS client and emulator over real HTTP when a rollout stops short: cancelTask, retryTask, queued tasks of offline
devices, emulated time."""

import pytest

from platforms.enos import calls, jobs, make_client, scenario  # pylint: disable=import-error

# pylint: disable=wrong-import-position,import-error
from ansible_collections.fleetota.cloud.plugins.module_utils._platforms import enos


def _queued_offline(emulator, client):
    """An offline device sent an upgrade (as offline=queue does): EnOS keeps its task in init."""
    key = scenario(emulator)['offline_devices'][0]
    device = client.get_devices([key])[key]
    assert device.online is False
    firmware = client.get_firmware(scenario(emulator)['latest_by_product'][device.product]['firmware_id'])
    started = client.start_upgrade(firmware, [device])[key]
    assert started.status == 'queued' and 'pushes it when the device reconnects' in started.msg, started.msg
    return device, firmware, started.job


def _online(emulator, client, count=1):
    keys = scenario(emulator)['outdated_online_devices']
    devices = client.get_devices(keys)
    product = devices[keys[0]].product
    chosen = [devices[key] for key in keys if devices[key].product == product][:count]
    return chosen, client.get_firmware(scenario(emulator)['latest_by_product'][product]['firmware_id'])


def test_a_queued_task_of_an_offline_device_is_canceled_and_never_pushed(emulator):
    client = make_client(emulator)
    device, _firmware, job = _queued_offline(emulator, client)
    result = client.cancel([device])[device.id]
    assert (result.status, result.job) == ('canceled', job), result.msg
    assert calls(emulator)['POST ota-jobs cancelTask'] == 1
    emulator.set_devices([device.id], 'enos', online=True)
    emulator.control('POST', '/clock', {'advance': 3600})
    assert emulator.device(device.id, 'enos')['upgrade_count'] == 0
    assert jobs(emulator)[0]['tasks'] == {'canceled': 1}
    assert make_client(emulator).cancel([device])[device.id].status == 'nothing_pending'


def test_without_a_cancel_the_queued_task_is_pushed_when_the_device_reconnects(emulator):
    client = make_client(emulator)
    device, _firmware, _job = _queued_offline(emulator, client)
    emulator.set_devices([device.id], 'enos', online=True)
    emulator.control('POST', '/clock', {'advance': 3600})
    assert emulator.device(device.id, 'enos')['upgrade_count'] == 1


def test_an_upgrade_under_way_is_not_cancelable(emulator):
    emulator.config(upgrade_seconds=60)
    client = make_client(emulator)
    devices, firmware = _online(emulator, client)
    started = client.start_upgrade(firmware, devices)[devices[0].id]
    emulator.control('POST', '/clock', {'advance': 10})
    result = client.cancel(devices)[devices[0].id]
    assert (result.status, result.job) == ('not_cancelable', started.job)
    assert 'the upgrade is under way on the device' in result.msg and 'upgrading' in result.msg
    assert 'POST ota-jobs cancelTask' not in calls(emulator) and emulator.device(devices[0].id, 'enos')['upgrading'] is True


def test_nothing_pending_check_mode_and_the_jobs_of_a_run(emulator):
    client = make_client(emulator)
    idle = client.get_devices(scenario(emulator)['current_online_devices'][:1])
    assert [r.status for r in client.cancel(list(idle.values())).values()] == ['nothing_pending']
    device, _firmware, job = _queued_offline(emulator, client)
    result = client.cancel([], jobs=[job], check=True)[device.id]
    assert (result.status, result.job) == ('canceled', job) and 'would be canceled' in result.msg
    assert not [key for key in calls(emulator) if key.split()[-1] in ('cancelTask', 'stop')]
    assert jobs(emulator)[0]['tasks'] == {'init': 1} and jobs(emulator)[0]['status'] == 'started'
    result = client.cancel([], jobs=[job])[device.id]
    assert result.status == 'canceled'
    assert jobs(emulator)[0]['status'] == 'stopped'          # all its tasks ended: stopped, it pushes nothing later
    assert client.cancel([], jobs=[job])[device.id].status == 'nothing_pending'


def test_a_cancel_whose_answer_is_lost_is_read_again_not_assumed(emulator):
    client = make_client(emulator)
    device, _firmware, job = _queued_offline(emulator, client)
    emulator.control('POST', '/enos/faults', {'rules': [{'resource': 'ota-jobs', 'action': 'cancelTask', 'when': 'after'}]})
    result = client.cancel([device])[device.id]
    assert (result.status, result.job) == ('canceled', job), result.msg
    assert calls(emulator)['POST ota-jobs cancelTask'] == 1       # not sent again: the re-read showed it canceled


def test_a_failed_task_is_retried_with_retry_task(emulator):
    client = make_client(emulator)
    devices, firmware = _online(emulator, client)
    key = devices[0].id
    emulator.set_devices([key], 'enos', behaviour='fail_once')
    client.start_upgrade(firmware, devices)
    emulator.control('POST', '/clock', {'advance': 60})
    assert client.poll(devices)[key].state == 'failed'
    retried = client.retry_upgrade(firmware, devices)[key]
    assert retried.status == 'started' and 'retryTask' in retried.msg
    assert calls(emulator)['POST ota-jobs retryTask'] == 1 and len(jobs(emulator)) == 1
    emulator.control('POST', '/clock', {'advance': 60})
    assert client.poll(devices)[key].phase == 'idle' and emulator.device(key, 'enos')['firmware_version'] == firmware.version
    assert jobs(emulator)[0]['attempts'] == {key: 2}


def test_a_retry_whose_answer_is_lost_is_decided_by_reading_the_task(emulator):
    client = make_client(emulator)
    devices, firmware = _online(emulator, client)
    emulator.set_devices([devices[0].id], 'enos', behaviour='fail')
    client.start_upgrade(firmware, devices)
    emulator.control('POST', '/clock', {'advance': 60})
    emulator.control('POST', '/enos/faults', {'rules': [{'resource': 'ota-jobs', 'action': 'retryTask', 'when': 'after'}]})
    retried = client.retry_upgrade(firmware, devices)[devices[0].id]
    assert retried.status == 'started' and 'the task is published again' in retried.msg, retried.msg
    assert calls(emulator)['POST ota-jobs retryTask'] == 1


def test_the_emulator_retry_policy_and_retry_task_rules(emulator):
    client = make_client(emulator)
    devices, firmware = _online(emulator, client)
    key = devices[0].id
    emulator.set_devices([key], 'enos', behaviour='fail')
    spec = {'type': 'upgrade', 'upgradeScope': {'type': 'partial', 'deviceKeys': [key]},
            'retryPolicy': {'enableRetry': True, 'retryInterval': '10', 'retryCount': '2'}}
    job = client._call('POST', enos.PATH_JOBS, 'create', params={'firmwareId': firmware.id}, body=spec)['data']['jobId']  # pylint: disable=protected-access
    with pytest.raises(enos.ApiError) as caught:
        client._call('POST', enos.PATH_JOBS, 'retryTask', params={'jobId': job}, body={'deviceKeys': [key]})  # pylint: disable=protected-access
    assert caught.value.code == 24617
    client._call('POST', enos.PATH_JOBS, 'start', params={'jobId': job})  # pylint: disable=protected-access
    emulator.control('POST', '/clock', {'advance': 5})
    assert jobs(emulator)[0]['tasks'] == {'init': 1} and jobs(emulator)[0]['attempts'] == {key: 1}    # waits 10 minutes to retry
    with pytest.raises(enos.ApiError) as caught:
        client._call('POST', enos.PATH_JOBS, 'retryTask', params={'jobId': job}, body={'deviceKeys': [key]})  # pylint: disable=protected-access
    assert caught.value.code == 24621
    emulator.control('POST', '/clock', {'advance': 3600})
    assert jobs(emulator)[0]['tasks'] == {'failed': 1} and jobs(emulator)[0]['attempts'] == {key: 3}
    assert emulator.device(key, 'enos')['upgrade_count'] == 3
