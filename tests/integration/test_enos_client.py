# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The EnOS client and the EnOS emulator over real HTTP, in this process (no ansible-playbook):
signature and token rules, pagination, job de-duplication, lost answers on job creation."""

import json
import time
import uuid

import pytest
import requests

from conftest import ENOS_APP_KEY, ENOS_ORG, ENOS_SECRET  # pylint: disable=import-error
from platforms.enos import calls, jobs, make_client, scenario  # pylint: disable=import-error


# pylint: disable=wrong-import-position,import-error
from ansible_collections.fleetota.cloud.plugins.module_utils._engine import UpgradeRun
from ansible_collections.fleetota.cloud.plugins.module_utils._errors import AuthError, ConfigError, OutcomeUnknownError
from ansible_collections.fleetota.cloud.plugins.module_utils._platforms import enos
from ansible_collections.fleetota.cloud.plugins.module_utils._signing import enos_signed_headers, enos_token_encryption

TOKEN_GET = 'POST /apim-token-service/v2.0/token/get'
TOKEN_REFRESH = 'POST /apim-token-service/v2.0/token/refresh'


def upgrade(client, ids, **kwargs):
    kwargs.setdefault('version', 'latest')
    kwargs.setdefault('poll_interval', 0.3)
    kwargs.setdefault('wait_timeout', 30)
    return UpgradeRun(client, ids, **kwargs).run()


def by_id(result):
    return dict((entry['id'], entry) for entry in result['devices'])


# -- raw gateway rules -------------------------------------------------------------------

def raw_token(emulator, secret=ENOS_SECRET, app_key=ENOS_APP_KEY, timestamp=None):
    timestamp = int(time.time() * 1000) if timestamp is None else timestamp
    body = {'appKey': app_key, 'encryption': enos_token_encryption(app_key, timestamp, secret), 'timestamp': timestamp}
    return requests.post(emulator.url + enos.PATH_TOKEN_GET, json=body, timeout=10).json()


def raw_call(emulator, token, query=None, body=None, timestamp=None, secret=ENOS_SECRET, signature=None, path=enos.PATH_DEVICES):
    query = dict({'action': 'search', 'orgId': ENOS_ORG}, **(query or {}))
    data = json.dumps(body if body is not None else {}).encode('utf-8')
    timestamp = int(time.time() * 1000) if timestamp is None else timestamp
    headers = enos_signed_headers(token, query, data, timestamp, secret)
    if signature is not None:
        headers['apim-signature'] = signature
    headers['Content-Type'] = 'application/json'
    return requests.post(emulator.url + path, params=query, data=data, headers=headers, timeout=10).json()


def test_token_service_checks_key_encryption_timestamp_and_replay(emulator):
    good = raw_token(emulator)
    assert good['status'] == 0 and good['data']['expire'] == 7200 and good['data']['accessToken']
    assert raw_token(emulator)['data']['accessToken'] == good['data']['accessToken']    # same token before expiry
    assert raw_token(emulator, secret='wrong')['status'] == 1003
    assert raw_token(emulator, app_key='nobody')['status'] == 1002
    assert raw_token(emulator, timestamp=int(time.time() * 1000) - 600000)['status'] == 1004
    stamp = int(time.time() * 1000) - 1234      # a timestamp no earlier request used
    assert raw_token(emulator, timestamp=stamp)['status'] == 0
    assert raw_token(emulator, timestamp=stamp)['status'] == 1001                          # replayed encryption


def test_gateway_refuses_bad_signature_stale_timestamp_expired_token_and_missing_headers(emulator):
    token = raw_token(emulator)['data']['accessToken']
    ok = raw_call(emulator, token, body={'pagination': {'pageNo': 1, 'pageSize': 5}})
    assert ok['code'] == 0 and len(ok['data']) == 5 and ok['pagination']['totalSize'] == 60 and ok['requestId']
    assert raw_call(emulator, token, secret='not-the-secret')['code'] == 1003
    assert raw_call(emulator, token, signature='0' * 64)['code'] == 1003
    assert raw_call(emulator, token, timestamp=int(time.time() * 1000) - 400000)['code'] == 1004
    assert raw_call(emulator, 'made-up-token')['code'] == 1203
    no_headers = requests.post(emulator.url + enos.PATH_DEVICES, params={'action': 'search', 'orgId': ENOS_ORG}, json={}, timeout=10).json()
    assert no_headers['code'] == 1202
    emulator.control('POST', '/enos/config', {'token_ttl': 1})
    emulator.control('POST', '/sessions/expire?platform=enos')
    assert raw_call(emulator, token)['code'] == 1203              # the shared expire_sessions knob kills tokens too
    short = raw_token(emulator, timestamp=int(time.time() * 1000) + 1)
    assert short['data']['accessToken'] != token and short['data']['expire'] == 1
    short_token = short['data']['accessToken']
    assert raw_call(emulator, short_token)['code'] == 0
    time.sleep(1.2)
    assert raw_call(emulator, short_token)['code'] == 1203


def test_gateway_checks_org_action_pagination_and_expressions(emulator):
    token = raw_token(emulator)['data']['accessToken']
    assert raw_call(emulator, token, query={'orgId': 'o-someone-else'})['code'] == 99403
    assert 'orgId' in raw_call(emulator, token, query={'orgId': ''})['msg']
    assert raw_call(emulator, token, query={'action': ''})['msg'] == 'Invalid Argument action:action is missing'
    assert raw_call(emulator, token, body={'pagination': {'pageNo': 1, 'pageSize': 201}})['code'] == 99400
    assert raw_call(emulator, token, body={'pagination': {'pageNo': 0, 'pageSize': 10}})['code'] == 99400
    assert raw_call(emulator, token, body={'expression': "secretField='x'"})['code'] == 99400
    assert raw_call(emulator, token, body={'expression': "deviceKey in ('DK00001','DK00002')"})['pagination']['totalSize'] == 2
    sorted_search = raw_call(emulator, token, path=enos.PATH_FIRMWARES, body={'pagination': {'pageNo': 1, 'pageSize': 5, 'sorters': [{'field': 'x'}]}})
    assert sorted_search['code'] == 99400        # OTA searches do not support sorters
    missing = raw_call(emulator, token, path=enos.PATH_JOBS, query={'action': 'start', 'jobId': 'job-nope'})
    assert missing['code'] == 24404


# -- client --------------------------------------------------------------------------------

def test_pagination_reads_every_page(emulator):
    emulator.control('POST', '/reset', {'devices': 450})
    try:
        client = make_client(emulator)
        devices = client.list_devices()
        assert len(devices) == 450 and len(set(d.id for d in devices)) == 450
        assert calls(emulator)['POST devices search'] == 3          # 200 + 200 + 50
        client.page_size = 4
        firmwares = client.list_firmwares()
        truth = emulator.control('GET', '/firmwares?platform=enos')
        assert sorted(fw.id for fw in firmwares) == sorted(fw['id'] for fw in truth)
        assert calls(emulator)['POST ota-firmwares search'] == -(-len(truth) // 4)
        ids = scenario(emulator)['outdated_online_devices'][:9]
        result, failure = upgrade(client, ids)
        assert failure is None and result['summary']['succeeded'] == 9
    finally:
        emulator.control('POST', '/reset', {'devices': 60})


def test_rerun_while_a_job_is_in_flight_creates_no_new_job(emulator):
    emulator.config(upgrade_seconds=4)
    ids = [d for d in scenario(emulator)['outdated_online_devices'] if emulator.device(d, 'enos')['product'] == 'BXwU4kMk'][:3]
    first, failure = upgrade(make_client(emulator), ids, wait=False)
    assert failure is None and [d['status'] for d in first['devices']] == ['started'] * 3
    assert len(jobs(emulator)) == 1 and first['jobs'] == [jobs(emulator)[0]['jobId']]
    second, failure = upgrade(make_client(emulator), ids)
    assert failure is None
    assert [d['status'] for d in second['devices']] == ['succeeded'] * 3
    assert second['jobs'] == first['jobs']                         # waited on the same job
    assert len(jobs(emulator)) == 1 and calls(emulator)['POST ota-jobs create'] == 1
    assert all(emulator.device(i, 'enos')['upgrade_count'] == 1 for i in ids)


def test_queued_task_of_an_offline_device_is_waited_for_not_duplicated(emulator):
    ids = scenario(emulator)['outdated_online_devices'][:1]
    emulator.set_devices(ids, platform='enos', online=False)
    client = make_client(emulator)
    device = client.get_devices(ids)[ids[0]]
    firmware = client.get_firmware(scenario(emulator)['latest_by_product'][device.product]['firmware_id'])
    first = client.start_upgrade(firmware, [device])[ids[0]]
    assert first.status == 'queued' and 'pushes it when the device reconnects' in first.msg
    # The device is not upgrading (its task waits to be pushed), so a plan sends it again: the client finds the job.
    second = make_client(emulator).start_upgrade(firmware, [device])[ids[0]]
    assert second.status == 'in_progress' and 'no new job' in second.msg and second.job == first.job
    assert len(jobs(emulator)) == 1
    emulator.set_devices(ids, platform='enos', online=True)
    third, failure = upgrade(make_client(emulator), ids)
    assert failure is None and third['devices'][0]['status'] == 'succeeded'
    assert len(jobs(emulator)) == 1 and calls(emulator)['POST ota-jobs create'] == 1


def test_rerun_after_a_failed_task_makes_a_new_job(emulator):
    ids = scenario(emulator)['outdated_online_devices'][:1]
    emulator.set_devices(ids, platform='enos', behaviour='fail')
    first, failure = upgrade(make_client(emulator), ids)
    assert failure and 'failed to write firmware' in first['devices'][0]['msg']
    emulator.set_devices(ids, platform='enos', behaviour='normal')
    second, failure = upgrade(make_client(emulator), ids)
    assert failure is None and second['devices'][0]['status'] == 'succeeded'
    assert len(jobs(emulator)) == 2 and second['jobs'] != first['jobs']     # the started job's task had ended: not waited on


@pytest.mark.parametrize('when, creates', [('after', 1), ('before', 2)])
def test_lost_answer_on_job_create_is_reread_not_blindly_repeated(emulator, when, creates):
    ids = scenario(emulator)['outdated_online_devices'][:2]
    emulator.control('POST', '/enos/faults', {'rules': [{'resource': 'ota-jobs', 'action': 'create', 'when': when}]})
    client = make_client(emulator)
    result, failure = upgrade(client, ids)
    assert failure is None, result
    assert result['summary']['succeeded'] == 2
    # One job per firmware in the end: the lost create was found again ('after') or shown not to exist ('before').
    firmwares = set(emulator.device(i, 'enos')['product'] for i in ids)
    assert len(jobs(emulator)) == len(firmwares)
    counts = calls(emulator)
    assert counts['POST ota-jobs create'] == len(firmwares) - 1 + creates
    assert enos.SEARCH_SETTLE_SECONDS in client.sleeps


def test_internal_error_codes_are_retried_on_reads_only(emulator):
    ids = scenario(emulator)['outdated_online_devices'][:1]
    rules = [{'resource': 'devices', 'action': 'search', 'when': 'before', 'code': 99500, 'times': 2},
             {'resource': 'ota-jobs', 'action': 'create', 'when': 'before', 'code': 24500, 'times': 1}]
    emulator.control('POST', '/enos/faults', {'rules': rules})
    client = make_client(emulator)
    result, failure = upgrade(client, ids)
    assert failure is None and result['summary']['succeeded'] == 1
    counts = calls(emulator)
    assert counts['POST devices search'] >= 3                   # two internal errors, then the answer
    # The create answered 24500: not repeated blindly, the jobs were read again first, for a bounded time (none), then created
    # once more; later reads (after the create, then at each poll) look for a job the first request made late.
    assert counts['POST ota-jobs create'] == 2 and len(jobs(emulator)) == 1
    pauses = client._reread_pauses()  # pylint: disable=protected-access
    assert pauses[0] == enos.SEARCH_SETTLE_SECONDS and sum(pauses) >= 2 * 30 + 2 * enos.SEARCH_SETTLE_SECONDS
    assert counts['POST ota-jobs search'] >= 1 + len(pauses) + 1
    assert any(client.sleeps[start:start + len(pauses)] == pauses for start in range(len(client.sleeps)))


def test_refused_job_create_is_not_retried(emulator):
    ids = scenario(emulator)['outdated_online_devices'][:1]
    emulator.control('POST', '/enos/faults', {'rules': [{'resource': 'ota-jobs', 'action': 'create', 'when': 'before', 'code': 99400}]})
    result, failure = upgrade(make_client(emulator), ids)
    assert failure and result['devices'][0]['status'] == 'failed'
    assert 'EnOS code 99400, requestId ' in result['devices'][0]['msg']
    assert calls(emulator)['POST ota-jobs create'] == 1 and jobs(emulator) == []


def test_job_create_outcome_unknown_when_the_reread_fails_too(emulator):
    ids = scenario(emulator)['outdated_online_devices'][:1]
    client = make_client(emulator)
    device = client.get_devices(ids)[ids[0]]
    firmware = [fw for fw in client.list_firmwares(devices=[device]) if fw.released][-1]
    rules = [{'resource': 'ota-jobs', 'action': 'create', 'when': 'after'},
             {'resource': 'ota-jobs', 'action': 'search', 'when': 'before', 'times': 1000}]
    emulator.control('POST', '/enos/faults', {'rules': rules})
    with pytest.raises(OutcomeUnknownError) as caught:
        client._create_job(firmware, ids, None)  # pylint: disable=protected-access
    text = str(caught.value)
    assert 'may exist: look for a job named fleetota-' in text
    assert len(jobs(emulator)) == 1 and jobs(emulator)[0]['name'].split()[0] in text


def test_create_unknown_again_after_the_verified_resend_is_an_unknown_outcome_not_a_failure(emulator):
    ids = scenario(emulator)['outdated_online_devices'][:1]
    # Both creates answer an internal error before anything is made: the re-reads show no job, the one re-send is answered the same.
    rule = {'resource': 'ota-jobs', 'action': 'create', 'when': 'before', 'code': 24500, 'times': 2}
    emulator.control('POST', '/enos/faults', {'rules': [rule]})
    result, failure = upgrade(make_client(emulator), ids, wait_timeout=1)
    device = result['devices'][0]
    assert failure and device['status'] == 'failed', result
    assert "outcome is unknown" in device['msg'] and 'the one create sent again' in device['msg'], device
    assert 'look for a job named fleetota-' in device['msg'], device
    assert calls(emulator)['POST ota-jobs create'] == 2 and jobs(emulator) == []
    assert emulator.device(ids[0], 'enos')['upgrade_count'] == 0


def test_failed_read_for_a_late_duplicate_after_the_resend_fails_no_device(emulator, monkeypatch):
    ids = scenario(emulator)['outdated_online_devices'][:1]
    emulator.control('POST', '/enos/faults', {'rules': [{'resource': 'ota-jobs', 'action': 'create', 'when': 'before', 'code': 24500}]})
    client = make_client(emulator)
    late_duplicates, failures = client._late_duplicates, []  # pylint: disable=protected-access

    def unreadable_once():
        if not failures:
            failures.append(1)
            raise enos.ApiError('EnOS ota-jobs search answered something that is not JSON')
        return late_duplicates()

    monkeypatch.setattr(client, '_late_duplicates', unreadable_once)
    result, failure = upgrade(client, ids)
    assert failures and failure is None and result['summary']['succeeded'] == 1, result
    assert calls(emulator)['POST ota-jobs create'] == 2 and len(jobs(emulator)) == 1
    assert emulator.device(ids[0], 'enos')['upgrade_count'] == 1


def test_unknown_firmware_is_a_clear_error(emulator):
    client = make_client(emulator)
    with pytest.raises(ConfigError) as caught:
        client.get_firmware('fw-does-not-exist')
    text = str(caught.value)
    assert 'firmware fw-does-not-exist does not exist in EnOS organization %s' % ENOS_ORG in text
    assert 'EnOS code 24404, requestId ' in text


def test_firmware_needing_verification_is_refused_before_any_job(emulator):
    target = scenario(emulator)['test_by_product']['Ht7cQ2Lp']
    assert target['enable_verification'] is True
    ids = [d['id'] for d in emulator.devices('enos') if d['product'] == 'Ht7cQ2Lp' and d['online']][:1]
    result, failure = upgrade(make_client(emulator), ids, firmware_id=target['firmware_id'], version=None, include_unreleased=True)
    assert failure and 'requires verification and is not verified yet' in result['devices'][0]['msg']
    assert jobs(emulator) == []


def test_expired_token_is_renewed_once(emulator):
    client = make_client(emulator)
    assert client.get_devices(['DK00001'])
    emulator.control('POST', '/sessions/expire?platform=enos')
    assert client.get_devices(['DK00002'])
    assert calls(emulator)['POST token get'] == 2


def test_token_refused_again_right_after_renewal_is_an_auth_error(emulator):
    client = make_client(emulator)
    emulator.faults({'kind': 'expire_sessions', 'path': 'ota-firmwares', 'times': 2})
    with pytest.raises(AuthError) as caught:
        client.list_firmwares()
    assert 'access token has expired' in str(caught.value) and 'EnOS code 1203' in str(caught.value)
    assert calls(emulator)['POST token get'] == 2     # renewed once, not in a loop


def test_token_is_refreshed_before_it_expires(emulator):
    emulator.control('POST', '/enos/config', {'token_ttl': 2})
    client = make_client(emulator)
    client.list_firmwares()
    time.sleep(1.7)               # less than 0.5 s left: refresh, do not wait for 1203
    client.list_firmwares()
    counts = calls(emulator)
    assert counts['POST token get'] == 1 and counts['POST token refresh'] == 1
    assert all(entry['status'] == 200 for entry in emulator.control('GET', '/log?limit=1000'))


def test_wrong_secret_and_wrong_org_are_clear_auth_errors(emulator):
    wrong = 'Wrong-Secret-%s' % uuid.uuid4().hex[:6]
    with pytest.raises(AuthError) as caught:
        make_client(emulator, secret_key=wrong).list_devices()
    assert 'check secret_key' in str(caught.value) and 'EnOS code 1003' in str(caught.value)
    assert wrong not in str(caught.value)
    with pytest.raises(AuthError) as caught:
        make_client(emulator, org_id='o-not-mine').list_devices()
    text = str(caught.value)
    assert 'EnOS code 99403, requestId ' in text and 'check org_id' in text and 'o-not-mine' in text


def test_device_ids_with_quotes_are_refused_before_any_call(emulator):
    client = make_client(emulator)
    with pytest.raises(ConfigError, match="device id DK'1 contains a quote"):
        client.get_devices(["DK'1"])
    assert emulator.control('GET', '/stats')['total'] == 0
