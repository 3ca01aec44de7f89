# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The Tuya client driven directly (no ansible-playbook) against an in-process emulator:
token refresh and cache, pagination, the firmware object quirk, thread-safe counting."""

import os
import stat
import time

import pytest

from ansible.utils.collection_loader import AnsibleCollectionConfig

from conftest import collections_path  # pylint: disable=import-error

if AnsibleCollectionConfig.collection_finder is None:
    from ansible.plugins.loader import init_plugin_loader
    init_plugin_loader([collections_path()])

# pylint: disable=wrong-import-position
from ansible_collections.fleetota.cloud.plugins.module_utils._client import create_client
from ansible_collections.fleetota.cloud.plugins.module_utils._errors import AuthError

from emulator import EmulatorServer  # pylint: disable=import-error

CLIENT_ID = 'fleetotaclienttest01'
SECRET = 'client-test-secret-0b5d'


@pytest.fixture(scope='module')
def server():
    emu = EmulatorServer(devices=450, seed=3, upgrade_seconds=0.6, offline_ratio=0.0, tuya_token_ttl=61.5, tuya_single_object=True,
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
    assert tuya.api_calls == fresh.state.stats.snapshot()['total'] == 1 + 3 + 450


def test_token_is_refreshed_before_expiry_with_the_single_use_refresh_token(fresh, tmp_path):
    tuya = client(fresh, tmp_path)
    ids = [d.id for d in fresh.state.fleet.list_devices('tuya')[:2]]
    assert len(tuya.get_devices(ids)) == 2
    first = dict(tuya._token)  # pylint: disable=protected-access
    time.sleep(1.6)            # 61.5 s lifetime - 60 s margin: now due for refresh
    assert len(tuya.get_devices(ids)) == 2
    assert requests_to(fresh, 'GET /v1.0/token/') == 1
    assert tuya._token['access_token'] != first['access_token']  # pylint: disable=protected-access
    # after a refresh both old tokens are dead: a client holding them gets a fresh token, once
    stale = client(fresh, tmp_path, token_cache='off')
    stale._token = first  # pylint: disable=protected-access
    assert len(stale.get_devices(ids)) == 2
    assert requests_to(fresh, 'GET /v1.0/token') >= 3


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
