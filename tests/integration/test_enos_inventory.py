# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The fleetota.cloud.devices inventory plugin for platform enos, through ansible-inventory."""

import json

from conftest import ENOS_APP_KEY, ENOS_ORG, ENOS_SECRET, inventory_file, list_inventory, run_inventory  # pylint: disable=import-error

DEVICE_SEARCH = 'POST /connect-service/v2.1/devices'


def inventory(emulator, tmp_path, raw=False, **options):
    values = dict(platform='enos', endpoint=emulator.url, access_key=ENOS_APP_KEY, org_id=ENOS_ORG)
    values.update(options)
    return list_inventory(tmp_path, {'FLEETOTA_SECRET_KEY': ENOS_SECRET}, raw=raw, **values)


def test_every_device_is_a_host_with_its_vars(emulator, tmp_path):
    data = inventory(emulator, tmp_path)
    truth = emulator.devices('enos')
    hosts = data['fleetota_enos']['hosts']
    assert sorted(hosts) == sorted(d['id'] for d in truth)
    for sample in (truth[0], [d for d in truth if not d['online']][0]):
        hostvars = data['_meta']['hostvars'][sample['id']]
        assert hostvars['fleetota_platform'] == 'enos'
        assert hostvars['fleetota_device_id'] == sample['id']
        assert hostvars['fleetota_device_name'] == sample['name']
        assert hostvars['fleetota_product'] == sample['product']
        assert hostvars['fleetota_hardware_version'] is None
        assert hostvars['fleetota_firmware_version'] == sample['firmware_version']
        assert hostvars['fleetota_online'] == sample['online']
        assert hostvars['ansible_connection'] == 'local'
    assert emulator.count(DEVICE_SEARCH) == 1
    assert 'magewell' not in json.dumps(data)


def test_pagination_is_read_whole(emulator, tmp_path):
    emulator.control('POST', '/reset', {'devices': 430})
    try:
        data = inventory(emulator, tmp_path)
        assert len(data['fleetota_enos']['hosts']) == 430
        assert emulator.count(DEVICE_SEARCH) == 3        # pages of 200, 200 and 30
    finally:
        emulator.control('POST', '/reset', {'devices': 60})


def test_cloud_strings_are_never_templated(emulator, tmp_path):
    device_id = emulator.devices('enos')[0]['id']
    emulator.set_devices([device_id], platform='enos', name="{{ lookup('env', 'HOME') }}")
    data = inventory(emulator, tmp_path, raw=True)
    assert data['_meta']['hostvars'][device_id]['fleetota_device_name'] == {'__ansible_unsafe': "{{ lookup('env', 'HOME') }}"}


def test_filters_and_constructed_groups(emulator, tmp_path):
    truth = emulator.devices('enos')
    product = truth[0]['product']
    data = inventory(
        emulator, tmp_path,
        products=[product], online_only=True, hostname='name',
        keyed_groups=[{'key': 'fleetota_firmware_version', 'prefix': 'fw'}],
        groups={'old_inverters': "fleetota_firmware_version is version('2.2.4', '<')"},
        compose={'fleetota_label': "fleetota_product ~ '/' ~ fleetota_device_id"},
    )
    expected = [d for d in truth if d['product'] == product and d['online']]
    assert sorted(data['fleetota_enos']['hosts']) == sorted(d['name'] for d in expected)
    first = expected[0]
    assert data['_meta']['hostvars'][first['name']]['fleetota_label'] == '%s/%s' % (product, first['id'])
    group = 'fw_' + first['firmware_version'].replace('.', '_')
    assert first['name'] in data[group]['hosts']
    old = set(data.get('old_inverters', {}).get('hosts', []))
    assert old == set(d['name'] for d in expected if [int(p) for p in d['firmware_version'].split('.')] < [2, 2, 4])


def test_cached_run_makes_no_api_call(emulator, tmp_path):
    cache = tmp_path / 'cache'
    options = dict(cache=True, cache_plugin='ansible.builtin.jsonfile', cache_connection=str(cache), cache_timeout=3600)
    first = inventory(emulator, tmp_path, **options)
    calls = emulator.control('GET', '/stats')['total']
    assert calls == 2     # token + device search
    second = inventory(emulator, tmp_path, **options)
    assert emulator.control('GET', '/stats')['total'] == calls
    assert second == first
    cached = ''.join(p.read_text() for p in cache.iterdir())
    assert ENOS_SECRET not in cached
    assert not any(token in cached for token in emulator.control('GET', '/enos/tokens'))
    assert 'deviceSecret' not in cached


def test_bad_credentials_fail_clearly(emulator, tmp_path):
    path = inventory_file(tmp_path, platform='enos', endpoint=emulator.url, access_key=ENOS_APP_KEY, org_id=ENOS_ORG)
    proc = run_inventory(path, env={'FLEETOTA_SECRET_KEY': 'nope-not-it'})
    output = proc.stdout + proc.stderr
    assert 'check secret_key' in output and 'EnOS code 1003' in output
    assert 'nope-not-it' not in output


def test_org_from_the_environment_and_missing_org_names_the_fix(emulator, tmp_path):
    path = inventory_file(tmp_path, platform='enos', endpoint=emulator.url, access_key=ENOS_APP_KEY)
    proc = run_inventory(path, env={'FLEETOTA_SECRET_KEY': ENOS_SECRET, 'FLEETOTA_ORG_ID': ENOS_ORG})
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert len(json.loads(proc.stdout)['fleetota_enos']['hosts']) == 60
    calls = emulator.control('GET', '/stats')['total']
    proc = run_inventory(path, env={'FLEETOTA_SECRET_KEY': ENOS_SECRET}, args=('--list', '-vvv'))
    assert 'platform enos needs org_id: set option org_id or env FLEETOTA_ORG_ID' in proc.stdout + proc.stderr
    assert emulator.control('GET', '/stats')['total'] == calls


def test_without_firmware_versions_the_variable_is_unset(emulator, tmp_path):
    truth = emulator.devices('enos')
    data = inventory(emulator, tmp_path, firmware_versions=False)
    assert sorted(data['fleetota_enos']['hosts']) == sorted(d['id'] for d in truth)
    assert not any('fleetota_firmware_version' in hostvars for hostvars in data['_meta']['hostvars'].values())
    assert data['_meta']['hostvars'][truth[0]['id']]['fleetota_product'] == truth[0]['product']
