# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The tuya_iotcore client driven directly (no ansible-playbook) against the emulator over real HTTP, in this process:
signatures, nonces and clocks, paging, the device cache, throttling, job de-duplication, lost answers on job creation."""

import json
import os
import stat
import time

import pytest

from platforms.tuya_iotcore import (  # pylint: disable=import-error
    ACCESS_KEY as AK, CLIENT_SECRET as SECRET, client_emulator, client_for, raw_call, scenarios, stats, upgrade_set)

from ansible_collections.fleetota.cloud.plugins.module_utils._errors import AuthError, RateLimitError
from ansible_collections.fleetota.cloud.plugins.module_utils._models import Progress, StartResult
from ansible_collections.fleetota.cloud.plugins.module_utils._platforms import tuya_iotcore as iot
from ansible_collections.fleetota.cloud.plugins.module_utils._transport import RetryPolicy

server, emu = client_emulator()


def test_emulator_refuses_bad_signatures_nonces_and_timestamps(emu):
    assert raw_call(emu, 'QueryOTAFirmware', nonce='ok-1', FirmwareId='101')[0] == 200
    status, body = raw_call(emu, 'QueryOTAFirmware', nonce='ok-1', FirmwareId='101')
    assert (status, body['code']) == (400, 'SignatureNonceUsed')
    status, body = raw_call(emu, 'QueryOTAFirmware', secret='wrong', nonce='ok-2', FirmwareId='101')
    assert (status, body['code'], body['success']) == (400, 'SignatureDoesNotMatch', False)
    status, body = raw_call(emu, 'QueryOTAFirmware', drop=('SignatureNonce',), FirmwareId='101')
    assert (status, body['code']) == (400, 'MissingParameter') and 'SignatureNonce' in body['errorMessage']
    status, body = raw_call(emu, 'QueryOTAFirmware', nonce='ok-3', stamp=time.time() - 16 * 60, FirmwareId='101')
    assert (status, body['code']) == (400, 'InvalidTimeStamp.Expired')
    status, body = raw_call(emu, 'NoSuchAction', nonce='ok-4')
    assert (status, body['code']) == (404, 'InvalidApi.NotFound')
    status, body = raw_call(emu, 'ListOTAFirmware', nonce='ok-5', CurrentPage=1, PageSize=101)
    assert body['code'] == 'iot.common.InvalidPageParams'
    status, body = raw_call(emu, 'QueryDeviceByStatus', nonce='ok-6', Status=1, PageSize=51)
    assert body['code'] == 'iot.common.InvalidPageParams'
    status, body = raw_call(emu, 'ListOTAFirmware', nonce='ok-7', PageSize=10)
    assert body['code'] == 'MissingParameter' and 'CurrentPage' in body['errorMessage']


def test_wrong_secret_is_an_auth_error_without_the_secret(emu):
    client = client_for(emu, secret_key='Not-The-Secret-123')
    with pytest.raises(AuthError) as caught:
        client.list_devices()
    text = str(caught.value)
    assert 'SignatureDoesNotMatch' in text and AK in text and 'secret_key' in text
    assert 'Not-The-Secret-123' not in text and SECRET not in text


def test_a_skewed_clock_is_named(emu):
    client = client_for(emu)
    client._clock = lambda: time.time() + 3600  # pylint: disable=protected-access
    with pytest.raises(AuthError) as caught:
        client.list_firmware_pages()
    assert 'InvalidTimeStamp.Expired' in str(caught.value) and 'clock' in str(caught.value)


def test_a_used_nonce_is_signed_again(emu):
    nonces = iter(['same-nonce', 'same-nonce', 'fresh-nonce'])
    client = client_for(emu)
    client._nonce = lambda: next(nonces)  # pylint: disable=protected-access
    client.get_firmware('101')
    assert client.get_firmware('101').id == '101'
    assert stats(emu)['QueryOTAFirmware'] == 3


def test_the_whole_catalog_is_read_over_several_pages(emu):
    client = client_for(emu)
    firmwares = client.list_firmware_pages()
    assert len(firmwares) == scenarios(emu)['catalog_size'] > iot.FIRMWARE_PAGE_SIZE
    assert len(set(fw.id for fw in firmwares)) == len(firmwares)
    assert stats(emu)['ListOTAFirmware'] == 2
    one = client.list_firmware_pages(dest_version=firmwares[-1].version, product=firmwares[-1].product)
    assert [fw.id for fw in one] == [firmwares[-1].id]


def test_pascal_case_answers_read_the_same(emu):
    camel = client_for(emu).list_devices()
    emu.state.options['tuya_iotcore']['casing'] = 'pascal'
    pascal = client_for(emu).list_devices()
    assert [d.to_dict() for d in camel] == [d.to_dict() for d in pascal]
    assert all(d.current_version for d in pascal) and len(pascal) == 40


def test_listing_without_firmware_versions_reads_no_detail(emu):
    devices = client_for(emu).list_devices(firmware_versions=False)
    truth = dict((d.id, d) for d in emu.state.fleet.list_devices('tuya_iotcore'))
    assert sorted(d.id for d in devices) == sorted(truth)
    for device in devices:
        assert device.current_version is None
        assert (device.product, device.online) == (truth[device.id].product, truth[device.id].online)
    assert set(stats(emu)) == {'QueryDeviceByStatus'}


def test_devices_are_listed_in_batches_without_the_device_secret(emu):
    client = client_for(emu)
    devices = client.list_devices()
    truth = dict((d.id, d) for d in emu.state.fleet.list_devices('tuya_iotcore'))
    assert sorted(d.id for d in devices) == sorted(truth)
    for device in devices:
        assert device.current_version == truth[device.id].firmware_version
        assert truth[device.id].extra['device_secret'] not in repr(device.to_dict())
    calls = stats(emu)
    assert calls['BatchQueryDeviceDetail'] == 3   # one per product (<= 100 names each)
    assert 'QueryDeviceDetail' not in calls


def _cache_file(tmp_path):
    return tmp_path / 'cache' / 'devices.json'


def test_a_run_that_names_known_devices_skips_the_account_listing(emu, tmp_path):
    path = _cache_file(tmp_path)
    ids = sorted(d.id for d in emu.state.fleet.list_devices('tuya_iotcore'))[:25]
    first = client_for(emu, device_cache=str(path)).get_devices(ids)
    listed = stats(emu)['QueryDeviceByStatus']
    assert listed >= 4      # one page per status at least
    assert stat.S_IMODE(os.stat(str(path)).st_mode) == 0o600
    text = path.read_text()
    assert SECRET not in text and AK not in text and emu.url not in text
    second = client_for(emu, device_cache=str(path)).get_devices(ids)
    assert stats(emu)['QueryDeviceByStatus'] == listed   # no new listing
    assert dict((i, d.to_dict()) for i, d in second.items()) == dict((i, d.to_dict()) for i, d in first.items())
    assert all(d.extra['iot_id'] for d in second.values())


def test_a_stale_or_incomplete_device_cache_lists_the_account_again(emu, tmp_path):
    path = _cache_file(tmp_path)
    truth = dict((d.id, d) for d in emu.state.fleet.list_devices('tuya_iotcore'))
    ids = sorted(truth)[:5]
    client_for(emu, device_cache=str(path)).get_devices(ids)
    data = json.loads(path.read_text())
    (key, products), = data.items()
    products[ids[0]] = 'pk-it-moved-from'       # as if the device were re-created under another product
    path.write_text(json.dumps(data))
    listed = stats(emu)['QueryDeviceByStatus']
    devices = client_for(emu, device_cache=str(path)).get_devices(ids)
    assert stats(emu)['QueryDeviceByStatus'] > listed
    assert devices[ids[0]].product == truth[ids[0]].product and devices[ids[0]].current_version == truth[ids[0]].firmware_version
    assert json.loads(path.read_text())[key][ids[0]] == truth[ids[0]].product     # corrected from the listing
    listed = stats(emu)['QueryDeviceByStatus']
    assert client_for(emu, device_cache=str(path)).get_devices(ids + ['no-such-device']).keys() == set(ids)
    assert stats(emu)['QueryDeviceByStatus'] > listed   # an unknown name: listed (twice), then simply absent


def test_the_device_cache_can_be_turned_off(emu, tmp_path, monkeypatch):
    monkeypatch.setenv('XDG_CACHE_HOME', str(tmp_path))
    ids = sorted(d.id for d in emu.state.fleet.list_devices('tuya_iotcore'))[:3]
    client_for(emu, device_cache='off').get_devices(ids)
    listed = stats(emu)['QueryDeviceByStatus']
    client_for(emu, device_cache='off').get_devices(ids)
    assert stats(emu)['QueryDeviceByStatus'] == 2 * listed
    assert not (tmp_path / 'fleetota').exists()
    client_for(emu).list_devices()      # the default: under XDG_CACHE_HOME
    assert (tmp_path / 'fleetota' / 'tuya-iotcore-devices.json').is_file()


def test_throttling_is_waited_out(emu):
    emu.state.options['tuya_iotcore']['qps_scale'] = 0.2   # QueryOTAFirmware: 4 per second
    client = client_for(emu, retry=RetryPolicy(attempts=3, backoff=0.01))
    for _dummy in range(8):
        assert client.get_firmware('101').id == '101'
    assert stats(emu)['QueryOTAFirmware'] > 8
    time.sleep(1.1)   # let the one-second window empty
    emu.state.options['tuya_iotcore']['qps_scale'] = 0.01
    stubborn = client_for(emu, retry=RetryPolicy(attempts=2, backoff=0.01, sleep=lambda seconds: None))
    stubborn.get_firmware('101')
    with pytest.raises(RateLimitError) as caught:
        stubborn.get_firmware('101')
    assert 'Throttling.User' in str(caught.value)


def test_reads_at_the_published_limit_are_paced_not_refused(emu, tmp_path):
    emu.state.options['tuya_iotcore']['qps_scale'] = 1   # Alibaba's limits: BatchQueryDeviceDetail 5 a second
    client = client_for(emu, device_cache=str(_cache_file(tmp_path)))
    name = emu.state.fleet.list_devices('tuya_iotcore')[0].id
    client.get_devices([name])
    time.sleep(1.0)
    before = stats(emu)['BatchQueryDeviceDetail']
    started = time.monotonic()
    for _dummy in range(12):
        client._directory = None          # pylint: disable=protected-access  # read through the cache, as a new run would
        assert name in client.get_devices([name])
    assert stats(emu)['BatchQueryDeviceDetail'] - before == 12      # none refused and retried
    assert time.monotonic() - started >= 2.0                        # 5, then 5 a second later, then 2


def test_a_rerun_while_the_job_runs_creates_no_second_job(emu):
    emu.state.config.upgrade_seconds = 30
    client = client_for(emu)
    devices, firmware = upgrade_set(emu, client, 2)
    first = client.start_upgrade(firmware, devices)
    assert set(r.status for r in first.values()) == {StartResult.STARTED}
    again = client_for(emu)
    devices[0].online = False   # e.g. rebooting: still waited on, not refused as offline
    second = again.start_upgrade(firmware, devices)
    assert set(r.status for r in second.values()) == {StartResult.IN_PROGRESS}
    assert again.jobs == client.jobs and len(client.jobs) == 1
    assert stats(emu)['CreateOTAStaticUpgradeJob'] == 1
    progress = again.poll(devices)
    assert all(p.state == Progress.UPGRADING for p in progress.values())


def test_jobs_are_chunked_to_the_device_limit(emu, monkeypatch):
    monkeypatch.setattr(iot, 'JOB_DEVICE_LIMIT', 2)
    client = client_for(emu)
    devices, firmware = upgrade_set(emu, client, 3)
    results = client.start_upgrade(firmware, devices)
    assert len(client.jobs) == 2 and stats(emu)['CreateOTAStaticUpgradeJob'] == 2
    assert sorted(r.job for r in results.values()) == sorted([client.jobs[0]] * 2 + [client.jobs[1]])


def test_polls_read_only_the_jobs_of_devices_still_upgrading(emu, monkeypatch):
    monkeypatch.setattr(iot, 'JOB_DEVICE_LIMIT', 2)
    client = client_for(emu)
    devices, firmware = upgrade_set(emu, client, 3)
    results = client.start_upgrade(firmware, devices)
    first, second = client.jobs
    assert sum(1 for r in results.values() if r.job == first) == 2
    before = stats(emu).get('ListOTATaskByJob', 0)
    progress = client.poll(devices)
    assert stats(emu)['ListOTATaskByJob'] == before + 2 and set(progress) == set(d.id for d in devices)
    last = [d for d in devices if results[d.id].job == second]       # the others are done, as far as the engine is concerned
    progress = client.poll(last)
    assert stats(emu)['ListOTATaskByJob'] == before + 3              # the first job's tasks were not read again
    assert set(progress) == set(d.id for d in last) and progress[last[0].id].state in (Progress.UPGRADING, Progress.IDLE)


def test_a_dropped_create_is_not_repeated_and_reported_unknown(emu):
    import requests  # pylint: disable=import-outside-toplevel
    requests.post(emu.url + '/_emulator/faults', json={'rules': [{'kind': 'drop', 'query': 'Action=CreateOTAStaticUpgradeJob'}]}, timeout=10)
    client = client_for(emu, retry=RetryPolicy(attempts=4, backoff=0.01, sleep=lambda seconds: None))
    devices, firmware = upgrade_set(emu, client, 2)
    results = client.start_upgrade(firmware, devices)
    assert set(r.status for r in results.values()) == {StartResult.UNKNOWN}
    assert all('no answer' in r.msg and 'no upgrade task for this device was found' in r.msg for r in results.values())
    assert stats(emu)['CreateOTAStaticUpgradeJob'] == 1 and client.jobs == []
    assert scenarios(emu)['jobs'] == []
    # While waiting, such a device is idle at its version, not "waiting for the job", and nothing is created.
    progress = client.poll(devices)
    assert set((p.state, p.phase) for p in progress.values()) == {(Progress.IDLE, 'no upgrade task found')}
    assert stats(emu)['CreateOTAStaticUpgradeJob'] == 1


def test_a_create_answered_with_garbage_is_adopted_not_failed(emu):
    import requests  # pylint: disable=import-outside-toplevel
    requests.post(emu.url + '/_emulator/faults', json={'rules': [{'kind': 'garble_after', 'query': 'Action=CreateOTAStaticUpgradeJob'}]},
                  timeout=10)
    client = client_for(emu, retry=RetryPolicy(attempts=4, backoff=0.01, sleep=lambda seconds: None))
    devices, firmware = upgrade_set(emu, client, 2)
    results = client.start_upgrade(firmware, devices)
    jobs = scenarios(emu)['jobs']
    assert len(jobs) == 1 and stats(emu)['CreateOTAStaticUpgradeJob'] == 1
    assert set((r.status, r.job) for r in results.values()) == {(StartResult.STARTED, jobs[0]['id'])}
    assert client.jobs == [jobs[0]['id']]


def test_a_create_landing_after_the_re_read_is_adopted_while_waiting(emu):
    import requests  # pylint: disable=import-outside-toplevel
    requests.post(emu.url + '/_emulator/faults', json={'rules': [{'kind': 'late', 'seconds': 2.0, 'query': 'Action=CreateOTAStaticUpgradeJob'}]},
                  timeout=10)
    client = client_for(emu, timeout=0.5, retry=RetryPolicy(attempts=4, backoff=0.01, sleep=lambda seconds: None))
    devices, firmware = upgrade_set(emu, client, 2)
    results = client.start_upgrade(firmware, devices)
    assert set(r.status for r in results.values()) == {StartResult.UNKNOWN} and client.jobs == []
    progress = client.poll(devices)
    assert set(p.phase for p in progress.values()) == {'no upgrade task found'}
    for _poll in range(40):     # as the engine would, every 0.1 s: the create lands 2 s after it was sent
        time.sleep(0.1)
        progress = client.poll(devices)
        if client.jobs:
            break
    jobs = scenarios(emu)['jobs']
    assert len(jobs) == 1 and client.jobs == [jobs[0]['id']] and stats(emu)['CreateOTAStaticUpgradeJob'] == 1
    assert all(p.phase != 'no upgrade task found' for p in progress.values())


def test_a_create_whose_answer_is_lost_is_found_by_re_reading(emu):
    import requests  # pylint: disable=import-outside-toplevel
    requests.post(emu.url + '/_emulator/faults', json={'rules': [{'kind': 'slow', 'seconds': 1.5, 'query': 'Action=CreateOTAStaticUpgradeJob'}]},
                  timeout=10)
    client = client_for(emu, timeout=1.0)
    devices, firmware = upgrade_set(emu, client, 2)
    results = client.start_upgrade(firmware, devices)
    jobs = scenarios(emu)['jobs']
    assert len(jobs) == 1 and stats(emu)['CreateOTAStaticUpgradeJob'] == 1
    assert client.jobs == [jobs[0]['id']]
    assert set((r.status, r.job) for r in results.values()) == {(StartResult.STARTED, jobs[0]['id'])}
