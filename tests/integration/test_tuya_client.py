# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The Tuya client driven directly (no ansible-playbook) against an in-process emulator:
token refresh and cache, pagination, the firmware object quirk, thread-safe counting."""

import os
import stat
import time

import pytest
import requests

# The collection as a plain package from its path (conftest puts it on sys.path), as test_enos_client.py does.
from ansible_collections.fleetota.cloud.plugins.module_utils._connection import create_client
from ansible_collections.fleetota.cloud.plugins.module_utils._errors import AuthError
from ansible_collections.fleetota.cloud.plugins.module_utils._signing import tuya_legacy_sign, tuya_sign, tuya_string_to_sign

from emulator import EmulatorServer  # pylint: disable=import-error

CLIENT_ID = 'fleetotaclienttest01'
SECRET = 'client-test-secret-0b5d'


@pytest.fixture(scope='module')
def server():
    emu = EmulatorServer(devices=450, seed=3, upgrade_seconds=0.6, offline_ratio=0.0, tuya_single_object=True,
                         tuya_rate_limit=0, tuya_write_rate_limit=0, tuya_client_id=CLIENT_ID, tuya_secret=SECRET, quiet=True)
    emu.start()
    try:
        yield emu
    finally:
        emu.stop()


@pytest.fixture
def fresh(server):
    server.state.reset()
    return server


def client(server, tmp_path, **options):
    values = dict(platform='tuya', endpoint=server.url, access_key=CLIENT_ID, secret_key=SECRET,
                  token_cache=str(tmp_path / 'tokens.json'), rate_limit=1000)
    values.update(options)
    return create_client(values)


def requests_to(server, prefix):
    return sum(count for key, count in server.state.stats.snapshot()['requests'].items() if key.startswith(prefix))


def test_listing_pages_by_200_and_counts_calls_exactly_across_threads(fresh, tmp_path):
    tuya = client(fresh, tmp_path, max_concurrency=16)
    devices = tuya.list_devices()
    assert len(devices) == 450 and len(set(d.id for d in devices)) == 450
    assert requests_to(fresh, 'GET /v1.3/iot-03/devices') == 3
    # the single-object answer (doc example, key 'channel') is understood like the list
    assert all(d.current_version for d in devices)
    # every call counted once, across 16 threads
    assert tuya.api_calls == fresh.state.stats.snapshot()['total'] == 1 + 3 + 450


def test_listing_without_firmware_versions_reads_no_firmware(fresh, tmp_path):
    tuya = client(fresh, tmp_path)
    devices = tuya.list_devices(firmware_versions=False)
    truth = dict((d.id, d) for d in fresh.state.fleet.list_devices('tuya'))
    assert sorted(d.id for d in devices) == sorted(truth)
    for device in devices:
        assert device.current_version is None
        assert (device.name, device.product, device.online) == (truth[device.id].name, truth[device.id].product, truth[device.id].online)
    # the token and the three pages of 200; not one firmware read
    assert fresh.state.stats.snapshot()['total'] == 1 + 3


def test_token_is_refreshed_before_expiry_with_the_single_use_refresh_token(tmp_path):
    with EmulatorServer(devices=3, tuya_token_ttl=61.5, tuya_client_id=CLIENT_ID, tuya_secret=SECRET, quiet=True) as emu:
        tuya = client(emu, tmp_path)
        ids = [d.id for d in emu.state.fleet.list_devices('tuya')[:2]]
        assert len(tuya.get_devices(ids)) == 2
        first = dict(tuya._token)  # pylint: disable=protected-access
        time.sleep(1.6)            # 61.5 s lifetime - 60 s margin: now due for refresh
        assert len(tuya.get_devices(ids)) == 2
        assert requests_to(emu, 'GET /v1.0/token/') >= 1
        assert emu.state.stats.snapshot()['requests']['GET /v1.0/token'] == 1      # refreshed, not fetched anew
        assert tuya._token['access_token'] != first['access_token']  # pylint: disable=protected-access
        # after a refresh both old tokens are dead: a client holding them gets a fresh token, once
        stale = client(emu, tmp_path, token_cache='off')
        stale._token = first  # pylint: disable=protected-access
        assert len(stale.get_devices(ids)) == 2
        assert emu.state.stats.snapshot()['requests']['GET /v1.0/token'] == 2


def test_cache_is_shared_between_runs_is_0600_and_holds_no_secret(fresh, tmp_path):
    ids = [d.id for d in fresh.state.fleet.list_devices('tuya')[:3]]
    for _run in range(3):
        tuya = client(fresh, tmp_path)
        assert len(tuya.get_devices(ids)) == 3
        tuya.close()
    assert fresh.state.stats.snapshot()['requests']['GET /v1.0/token'] == 1
    path = tmp_path / 'tokens.json'
    assert stat.S_IMODE(os.stat(str(path)).st_mode) == 0o600
    assert SECRET not in path.read_text() and CLIENT_ID not in path.read_text()
    # another endpoint or access key gets its own entry
    other = client(fresh, tmp_path, endpoint=fresh.url + '/')
    other.get_devices(ids[:1])
    assert fresh.state.stats.snapshot()['requests']['GET /v1.0/token'] == 1   # same endpoint after normalisation


def test_cache_with_a_dead_token_recovers_once(fresh, tmp_path):
    ids = [d.id for d in fresh.state.fleet.list_devices('tuya')[:1]]
    client(fresh, tmp_path).get_devices(ids)
    fresh.state.sessions.expire_all('tuya')
    tuya = client(fresh, tmp_path)
    assert len(tuya.get_devices(ids)) == 1
    assert fresh.state.stats.snapshot()['requests']['GET /v1.0/token'] == 2


def test_wrong_secret_raises_auth_error_after_one_request(fresh, tmp_path):
    tuya = client(fresh, tmp_path, secret_key='wrong', token_cache='off')
    with pytest.raises(AuthError) as info:
        tuya.get_devices(['bf0000100000000000000'])
    assert info.value.code == 1004 and 'wrong' not in str(info.value)
    assert fresh.state.stats.snapshot()['total'] == 1


def raw(server, path, t_offset=0.0, token='', secret=SECRET, query=None, method='GET', body=b''):
    """One request signed by hand (the collection's pure signing functions), to probe the emulator's checks."""
    t = str(int((time.time() + t_offset) * 1000))
    sign = tuya_sign(secret, CLIENT_ID, t, tuya_string_to_sign(method, path, query, body), access_token=token)
    headers = {'client_id': CLIENT_ID, 't': t, 'sign': sign, 'sign_method': 'HMAC-SHA256'}
    if token:
        headers['access_token'] = token
    return requests.request(method, server.url + path, params=query, data=body, headers=headers, timeout=10).json()


def test_emulator_refuses_bad_sign_stale_or_future_time_and_unknown_tokens(fresh):
    token = raw(fresh, '/v1.0/token', query={'grant_type': '1'})['result']['access_token']
    device_id = fresh.state.fleet.list_devices('tuya')[0].id
    path = '/v2.0/cloud/thing/%s/firmware' % device_id
    assert raw(fresh, path, token=token)['success'] is True
    assert raw(fresh, path, token=token, secret='other')['code'] == 1004
    assert raw(fresh, path, token=token, t_offset=-400)['code'] == 1013
    assert raw(fresh, path, token=token, t_offset=400)['code'] == 1013
    assert raw(fresh, path, token='0' * 32)['code'] == 1010
    assert raw(fresh, path)['code'] == 1002
    assert raw(fresh, '/v1.0/token', query={'grant_type': '2'})['code'] == 1003
    assert requests.get(fresh.url + path, timeout=10).json()['code'] == 1105
    # a body is part of the signature: the same sign over other bytes is refused
    post = '/v2.0/cloud/thing/%s/firmware/0' % device_id
    assert raw(fresh, post, token=token, method='POST', body=b'{}')['code'] == 1109     # signed right, but the call takes no body
    t = str(int(time.time() * 1000))
    sign = tuya_sign(SECRET, CLIENT_ID, t, tuya_string_to_sign('POST', post, None, b''), access_token=token)
    answer = requests.post(fresh.url + post, data=b'{"x":1}', headers={'client_id': CLIENT_ID, 't': t, 'sign': sign, 'sign_method': 'HMAC-SHA256',
                                                                       'access_token': token}, timeout=10).json()
    assert answer['code'] == 1004


def test_emulator_token_expires_after_its_lifetime():
    clock = [time.time()]
    with EmulatorServer(devices=5, tuya_token_ttl=100, tuya_client_id=CLIENT_ID, tuya_secret=SECRET, quiet=True, clock=lambda: clock[0]) as emu:
        offset = clock[0] - time.time()
        result = raw(emu, '/v1.0/token', t_offset=offset, query={'grant_type': '1'})['result']
        assert result['expire_time'] == 100
        path = '/v2.0/cloud/thing/%s/firmware' % emu.state.fleet.list_devices('tuya')[0].id
        assert raw(emu, path, t_offset=offset, token=result['access_token'])['success'] is True
        clock[0] += 101
        assert raw(emu, path, t_offset=offset + 101, token=result['access_token'])['code'] == 1010


def test_emulator_rate_limit_answers_its_code():
    with EmulatorServer(devices=3, tuya_rate_limit=2, tuya_rate_limit_code=1199, tuya_client_id=CLIENT_ID, tuya_secret=SECRET, quiet=True) as emu:
        token = raw(emu, '/v1.0/token', query={'grant_type': '1'})['result']['access_token']
        path = '/v2.0/cloud/thing/%s/firmware' % emu.state.fleet.list_devices('tuya')[0].id
        codes = [raw(emu, path, token=token).get('code') for _index in range(5)]
        assert codes[:2] == [None, None] and 1199 in codes[2:]


def test_emulator_accepts_the_legacy_sign_only_when_asked(fresh):
    def legacy_token(emu):
        t = str(int(time.time() * 1000))
        headers = {'client_id': CLIENT_ID, 't': t, 'sign': tuya_legacy_sign(SECRET, CLIENT_ID, t), 'sign_method': 'HMAC-SHA256'}
        return requests.get(emu.url + '/v1.0/token', params={'grant_type': '1'}, headers=headers, timeout=10).json()

    assert legacy_token(fresh)['code'] == 1004
    with EmulatorServer(devices=1, tuya_legacy_sign='true', tuya_client_id=CLIENT_ID, tuya_secret=SECRET, quiet=True) as emu:
        assert legacy_token(emu)['success'] is True
