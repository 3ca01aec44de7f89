# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Pure parts of the Tuya client: firmware answers, per-device catalog, token cache."""

import json
import os
import stat

import pytest

from ansible_collections.fleetota.cloud.plugins.module_utils._platforms.tuya import (
    TokenCache,
    channel_firmwares,
    firmware_channels,
    main_channel,
    normalize_device,
)


def test_firmware_answer_as_list_with_type_or_single_object_with_channel():
    listed = firmware_channels([{'type': 0, 'current_version': '1.0.0'}, {'type': 9, 'current_version': '3.1.0'}])
    assert sorted(listed) == [0, 9]
    single = firmware_channels({'channel': 0, 'current_version': '1.0.0', 'version': '2.0.0', 'upgrade_status': 1})
    assert list(single) == [0] and single[0]['version'] == '2.0.0'
    assert firmware_channels(None) == {} and firmware_channels([]) == {}


@pytest.mark.parametrize('channels, expected', [({0: {}, 9: {}}, 0), ({9: {}, 3: {}}, 3), ({}, None)])
def test_main_channel_is_0_else_the_lowest(channels, expected):
    assert main_channel(channels) == expected


def test_device_takes_the_main_channel_version_and_upgrading_state():
    channels = firmware_channels([{'type': 9, 'current_version': '3.1.0', 'upgrade_status': 0},
                                  {'type': 0, 'current_version': '1.0.4', 'version': '1.2.0', 'upgrade_status': 2}])
    device = normalize_device({'id': 'bf1', 'custom_name': 'plug', 'product_id': 'p1', 'is_online': True}, channels)
    assert (device.id, device.name, device.product, device.online) == ('bf1', 'plug', 'p1', True)
    assert device.current_version == '1.0.4' and device.upgrading is True
    assert device.extra['channel'] == 0 and sorted(device.extra['channels']) == ['0', '9']
    listed = normalize_device({'id': 'bf2', 'name': 'x', 'product_id': 'p1', 'online': False}, {})
    assert listed.online is False and listed.current_version is None


def test_per_device_catalog_has_the_running_and_the_offered_version_with_unique_ids():
    channels = firmware_channels([
        {'type': 0, 'current_version': '1.0.4', 'version': '1.2.0', 'upgrade_status': 1, 'md5': 'ab', 'file_size': '1024',
         'firmware_deploy_time': 1711065600000, 'can_upgrade': False, 'remind': 'battery low'},
        {'type': 9, 'current_version': '3.1.0', 'version': '3.1.0', 'upgrade_status': 0},
    ])
    firmwares = dict((fw.id, fw) for fw in channel_firmwares('bf1', 'p1', channels))
    assert sorted(firmwares) == ['bf1:0:1.0.4', 'bf1:0:1.2.0', 'bf1:9:3.1.0']
    offered = firmwares['bf1:0:1.2.0']
    assert offered.extra['installed'] is False and offered.extra['can_upgrade'] is False and offered.extra['remind'] == 'battery low'
    assert (offered.size, offered.checksum, offered.checksum_algorithm, offered.created) == (1024, 'ab', 'md5', '2024-03-22T00:00:00Z')
    assert firmwares['bf1:0:1.0.4'].extra['installed'] is True


def test_nothing_is_offered_when_the_cloud_says_no_update():
    channels = firmware_channels([{'type': 0, 'current_version': '1.0.4', 'version': '1.2.0', 'upgrade_status': 0}])
    assert [fw.version for fw in channel_firmwares('bf1', 'p1', channels)] == ['1.0.4']


def test_token_cache_is_0600_atomic_keyed_and_never_holds_the_secret(tmp_path):
    path = str(tmp_path / 'sub' / 'tokens.json')
    cache = TokenCache(path, 'https://openapi.tuyaeu.com/', 'access-id-1')
    assert cache.load() is None
    cache.store({'access_token': 'tok1', 'refresh_token': 'ref1', 'expires_at': 123.0})
    other = TokenCache(path, 'https://openapi.tuyaus.com', 'access-id-1')
    other.store({'access_token': 'tok2', 'refresh_token': 'ref2', 'expires_at': 456.0})
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(os.path.dirname(path)).st_mode) == 0o700
    assert TokenCache(path, 'https://openapi.tuyaeu.com', 'access-id-1').load()['access_token'] == 'tok1'   # trailing slash ignored
    assert other.load()['access_token'] == 'tok2'
    data = json.loads(open(path).read())
    assert len(data) == 2 and 'access-id-1' not in json.dumps(data)
    assert [name for name in os.listdir(os.path.dirname(path)) if not name.startswith('tokens.json')] == []   # no temp file left


def test_broken_cache_file_is_ignored_and_replaced(tmp_path):
    path = tmp_path / 'tokens.json'
    path.write_text('{not json')
    cache = TokenCache(str(path), 'https://e', 'k')
    assert cache.load() is None
    cache.store({'access_token': 't', 'refresh_token': 'r', 'expires_at': 1.0})
    assert cache.load()['access_token'] == 't'
    with cache.locked():
        assert os.path.exists(str(path) + '.lock')


def test_a_malformed_cache_entry_is_not_a_valid_token(tmp_path):
    # pylint: disable=protected-access
    from ansible_collections.fleetota.cloud.plugins.module_utils._platforms.tuya import TuyaClient
    from ansible_collections.fleetota.cloud.plugins.module_utils._transport import Transport
    client = TuyaClient(Transport('https://openapi.tuyaeu.com'), 'id', 'secret', token_cache=str(tmp_path / 't.json'), clock=lambda: 1000.0)
    assert client._valid({'access_token': 'a', 'expires_at': 'soon'}) is False
    assert client._valid({'access_token': 'a', 'expires_at': 1059.0}) is False   # within the refresh margin
    assert client._valid({'access_token': 'a', 'expires_at': 1061.0}) is True
    assert TuyaClient(Transport('https://e'), 'id', 'secret', token_cache='off')._cache is None


def test_misfit_reason_names_the_device_and_what_it_is_offered():
    # pylint: disable=import-outside-toplevel
    from ansible_collections.fleetota.cloud.plugins.module_utils._platforms.tuya import TuyaClient
    from ansible_collections.fleetota.cloud.plugins.module_utils._transport import Transport
    client = TuyaClient(Transport('https://e'), 'id', 'secret', token_cache='off')
    mine = firmware_channels([{'type': 0, 'current_version': '1.0.4', 'version': '1.2.0', 'upgrade_status': 1},
                              {'type': 9, 'current_version': '3.1.0', 'upgrade_status': 0}])
    device = normalize_device({'id': 'bf1', 'product_id': 'p1'}, mine)
    others = dict((fw.id, fw) for fw in channel_firmwares('bf2', 'p2', firmware_channels([{'type': 0, 'current_version': '2.3.5'}])))
    assert client.firmware_misfit(others['bf2:0:2.3.5'], device) == \
        'Tuya does not offer 2.3.5 to device bf1: it runs 1.0.4 on channel 0 and is offered 1.2.0'
    mcu = dict((fw.id, fw) for fw in channel_firmwares('bf1', 'p1', mine))['bf1:9:3.1.0']
    assert not client.firmware_fits(mcu, device)
    assert 'only its main channel 0 is upgraded' in client.firmware_misfit(mcu, device)
