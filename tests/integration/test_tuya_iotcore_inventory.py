# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The fleetota.cloud.devices inventory plugin for platform tuya_iotcore, through ansible-inventory."""

import json

from conftest import IOTCORE_SECRET, inventory_file, list_inventory, run_inventory, task  # pylint: disable=import-error

P = 'tuya_iotcore'
AK = 'fleetota-iotcore-ak'


def inventory(emulator, tmp_path, raw=False, **options):
    values = dict(platform=P, endpoint=emulator.url, access_key=AK)
    values.update(options)
    return list_inventory(tmp_path, {'FLEETOTA_SECRET_KEY': IOTCORE_SECRET}, raw=raw, **values)


def test_every_device_is_a_host_with_its_vars(emulator, tmp_path):
    data = inventory(emulator, tmp_path)
    truth = emulator.devices(platform=P)
    hosts = data['fleetota_tuya_iotcore']['hosts']
    assert sorted(hosts) == sorted(d['id'] for d in truth)
    for sample in (truth[0], truth[-1]):
        hostvars = data['_meta']['hostvars'][sample['id']]
        assert hostvars['fleetota_platform'] == P
        assert hostvars['fleetota_device_id'] == sample['id']
        assert hostvars['fleetota_device_name'] == sample['name']
        assert hostvars['fleetota_product'] == sample['product']
        assert hostvars['fleetota_hardware_version'] is None
        assert hostvars['fleetota_firmware_version'] == sample['firmware_version']
        assert hostvars['fleetota_online'] == sample['online']
        assert hostvars['ansible_connection'] == 'local'
    actions = emulator.actions()
    # Listing by status (4 statuses, 50 a page) and versions in batches of 100 names of one product.
    assert actions['QueryDeviceByStatus'] >= 4
    assert actions['BatchQueryDeviceDetail'] == len(set(d['product'] for d in truth))
    assert 'QueryDeviceDetail' not in actions
    device_secret = emulator.server.state.fleet.device(P, truth[0]['id']).extra['device_secret']
    assert device_secret not in json.dumps(data)


def test_the_inventory_fills_the_device_cache_for_the_modules(emulator, tmp_path, playbook):
    inventory(emulator, tmp_path)
    listed = emulator.actions()['QueryDeviceByStatus']
    ids = [d['id'] for d in emulator.devices(platform=P)][:6]
    run = playbook([task('fleetota.cloud.firmware_info', ignore_errors=False, devices=ids)], connection=emulator.connection(platform=P))
    assert run.rc == 0, run.output
    assert [d['id'] for d in run.data['out']['devices']] == ids
    assert emulator.actions()['QueryDeviceByStatus'] == listed     # the module read the products from the inventory's listing


def test_cloud_strings_are_never_templated(emulator, tmp_path):
    device_id = emulator.devices(platform=P)[0]['id']
    emulator.set_devices([device_id], platform=P, name="{{ lookup('env', 'HOME') }}")
    data = inventory(emulator, tmp_path, raw=True)
    assert data['_meta']['hostvars'][device_id]['fleetota_device_name'] == {'__ansible_unsafe': "{{ lookup('env', 'HOME') }}"}


def test_filters_and_constructed_groups(emulator, tmp_path):
    truth = emulator.devices(platform=P)
    product = truth[0]['product']
    data = inventory(
        emulator, tmp_path,
        products=[product], online_only=True, hostname='name',
        keyed_groups=[{'key': 'fleetota_firmware_version', 'prefix': 'fw'}],
        compose={'fleetota_label': "fleetota_product ~ '@' ~ fleetota_firmware_version"},
    )
    expected = [d for d in truth if d['product'] == product and d['online']]
    assert sorted(data['fleetota_tuya_iotcore']['hosts']) == sorted(d['name'] for d in expected)
    first = expected[0]
    assert data['_meta']['hostvars'][first['name']]['fleetota_label'] == '%s@%s' % (product, first['firmware_version'])
    assert first['name'] in data['fw_' + first['firmware_version'].replace('.', '_')]['hosts']


def test_cached_run_makes_no_api_call(emulator, tmp_path):
    cache = tmp_path / 'cache'
    options = dict(cache=True, cache_plugin='ansible.builtin.jsonfile', cache_connection=str(cache), cache_timeout=3600)
    first = inventory(emulator, tmp_path, **options)
    calls = emulator.control('GET', '/stats')['total']
    assert calls >= 5
    second = inventory(emulator, tmp_path, **options)
    assert emulator.control('GET', '/stats')['total'] == calls
    assert second == first
    assert IOTCORE_SECRET not in ''.join(p.read_text() for p in cache.iterdir())


def test_bad_secret_fails_clearly(emulator, tmp_path):
    path = inventory_file(tmp_path, platform=P, endpoint=emulator.url, access_key=AK)
    proc = run_inventory(path, env={'FLEETOTA_SECRET_KEY': 'nope-not-it-42'})
    output = proc.stdout + proc.stderr
    assert 'SignatureDoesNotMatch' in output
    assert 'nope-not-it-42' not in output and IOTCORE_SECRET not in output


def test_missing_secret_names_the_fix(emulator, tmp_path):
    path = inventory_file(tmp_path, platform=P, endpoint=emulator.url, access_key=AK)
    proc = run_inventory(path, args=('--list', '-vvv'))
    assert 'platform tuya_iotcore needs secret_key' in proc.stdout + proc.stderr
    assert emulator.control('GET', '/stats')['total'] == 0


def test_without_firmware_versions_only_the_listing_is_read(emulator, tmp_path):
    truth = emulator.devices(platform=P)
    data = inventory(emulator, tmp_path, firmware_versions=False)
    assert sorted(data['fleetota_tuya_iotcore']['hosts']) == sorted(d['id'] for d in truth)
    for sample in truth:
        hostvars = data['_meta']['hostvars'][sample['id']]
        assert 'fleetota_firmware_version' not in hostvars
        assert (hostvars['fleetota_product'], hostvars['fleetota_online']) == (sample['product'], sample['online'])
    assert set(emulator.actions()) == {'QueryDeviceByStatus'}
