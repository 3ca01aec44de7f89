# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The fleetota.cloud.devices inventory plugin for platform magewell, through ansible-inventory."""

import json

from conftest import PASSWORD, inventory_file, list_inventory, plain, run_inventory  # pylint: disable=import-error

GET_DEVS = 'GET /sc_cloud/scapi/get-devs'


def inventory(emulator, tmp_path, raw=False, **options):
    values = dict(platform='magewell', endpoint=emulator.url, username='Admin')
    values.update(options)
    return list_inventory(tmp_path, {'FLEETOTA_PASSWORD': PASSWORD}, raw=raw, **values)


def test_every_device_is_a_host_with_its_vars(emulator, tmp_path):
    data = inventory(emulator, tmp_path)
    truth = emulator.devices()
    hosts = data['fleetota_magewell']['hosts']
    assert sorted(hosts) == sorted(d['id'] for d in truth)
    sample = truth[0]
    hostvars = data['_meta']['hostvars'][sample['id']]
    assert hostvars['fleetota_platform'] == 'magewell'
    assert hostvars['fleetota_device_id'] == sample['id']
    assert hostvars['fleetota_device_name'] == sample['name']
    assert hostvars['fleetota_product'] == sample['product']
    assert hostvars['fleetota_hardware_version'] == sample['hardware_version']
    assert hostvars['fleetota_firmware_version'] == sample['firmware_version']
    assert hostvars['fleetota_online'] == sample['online']
    assert hostvars['ansible_connection'] == 'local'
    assert emulator.count(GET_DEVS) == 1


def test_cloud_strings_are_never_templated(emulator, tmp_path):
    device_id = emulator.devices()[0]['id']
    emulator.set_devices([device_id], name="{{ lookup('env', 'HOME') }}")
    data = inventory(emulator, tmp_path, raw=True)
    assert data['_meta']['hostvars'][device_id]['fleetota_device_name'] == {'__ansible_unsafe': "{{ lookup('env', 'HOME') }}"}


def test_filters_and_constructed_groups(emulator, tmp_path):
    truth = emulator.devices()
    product = truth[0]['product']
    data = inventory(
        emulator, tmp_path,
        products=[product], online_only=True, hostname='name',
        keyed_groups=[{'key': 'fleetota_firmware_version', 'prefix': 'fw'}],
        groups={'hardware_a': "fleetota_hardware_version == 'A'"},
        compose={'fleetota_label': "fleetota_product ~ '/' ~ fleetota_hardware_version"},
    )
    expected = [d for d in truth if d['product'] == product and d['online']]
    assert sorted(data['fleetota_magewell']['hosts']) == sorted(d['name'] for d in expected)
    first = expected[0]
    assert data['_meta']['hostvars'][first['name']]['fleetota_label'] == '%s/%s' % (product, first['hardware_version'])
    group = 'fw_' + first['firmware_version'].replace('.', '_')
    assert first['name'] in data[group]['hosts']
    hardware_a = set(data.get('hardware_a', {}).get('hosts', []))
    assert hardware_a == set(d['name'] for d in expected if d['hardware_version'] == 'A')


def test_cached_run_makes_no_api_call(emulator, tmp_path):
    cache = tmp_path / 'cache'
    options = dict(cache=True, cache_plugin='ansible.builtin.jsonfile', cache_connection=str(cache), cache_timeout=3600)
    first = inventory(emulator, tmp_path, **options)
    calls = emulator.control('GET', '/stats')['total']
    assert calls >= 2     # login + get-devs (+ logout)
    second = inventory(emulator, tmp_path, **options)
    assert emulator.control('GET', '/stats')['total'] == calls
    assert second == first
    assert PASSWORD not in ''.join(p.read_text() for p in cache.iterdir())


def test_bad_credentials_fail_clearly(emulator, tmp_path):
    path = inventory_file(tmp_path, platform='magewell', endpoint=emulator.url, username='Admin')
    proc = run_inventory(path, env={'FLEETOTA_PASSWORD': 'nope-not-it'})
    output = proc.stdout + proc.stderr
    assert proc.returncode != 0 or 'password incorrect' in output
    assert 'password incorrect' in output
    assert 'nope-not-it' not in output


def test_missing_platform_names_the_fix(emulator, tmp_path):
    path = inventory_file(tmp_path, endpoint=emulator.url, username='Admin')
    proc = run_inventory(path, env={'FLEETOTA_PASSWORD': PASSWORD}, args=('--list', '-vvv'))
    assert "Required config 'platform'" in proc.stdout + proc.stderr
    assert emulator.control('GET', '/stats')['total'] == 0


def test_without_firmware_versions_the_variable_is_unset(emulator, tmp_path):
    truth = emulator.devices()
    data = inventory(emulator, tmp_path, firmware_versions=False)
    assert sorted(data['fleetota_magewell']['hosts']) == sorted(d['id'] for d in truth)
    assert not any('fleetota_firmware_version' in hostvars for hostvars in data['_meta']['hostvars'].values())
    assert data['_meta']['hostvars'][truth[0]['id']]['fleetota_product'] == truth[0]['product']


def test_hostname_name_keeps_every_device_when_a_fallback_id_is_another_devices_name(emulator, tmp_path):
    # 03 shares its name with 02 and falls back to its id, which 01 carries as its name: two devices, one host name.
    emulator.set_devices(['A302190900001'], name='A302190900003')
    emulator.set_devices(['A302190900002', 'A302190900003'], name='lobby')
    proc = run_inventory(inventory_file(tmp_path, platform='magewell', endpoint=emulator.url, username='Admin', hostname='name'),
                         env={'FLEETOTA_PASSWORD': PASSWORD})
    assert proc.returncode == 0, proc.stdout + proc.stderr
    data = plain(json.loads(proc.stdout))
    truth = emulator.devices()
    hostvars = data['_meta']['hostvars']
    assert len(data['fleetota_magewell']['hosts']) == len(truth)
    assert sorted(entry['fleetota_device_id'] for entry in hostvars.values()) == sorted(device['id'] for device in truth)
    assert hostvars['lobby']['fleetota_device_id'] == 'A302190900002'
    assert hostvars['A302190900003']['fleetota_device_id'] == 'A302190900003'
    assert hostvars['A302190900001']['fleetota_device_id'] == 'A302190900001'
    assert hostvars['encoder-0004']['fleetota_device_id'] == 'A302190900004'
    warning = ' '.join(proc.stderr.split())
    assert "2 device name(s) collide with another device's name or id" in warning
    assert "A302190900001 (name 'A302190900003')" in warning and "A302190900003 (name 'lobby')" in warning
