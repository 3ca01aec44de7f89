# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The fleetota.cloud.devices inventory plugin for platform tuya, through ansible-inventory."""

from conftest import TUYA_ACCESS_ID, TUYA_SECRET, inventory_file, list_inventory, run_inventory  # pylint: disable=import-error

DEVICE_LIST = 'GET /v1.3/iot-03/devices'
TOKEN = 'GET /v1.0/token'


def inventory(emulator, tmp_path, raw=False, **options):
    values = dict(platform='tuya', endpoint=emulator.url, access_key=TUYA_ACCESS_ID, token_cache=str(tmp_path / 'tokens.json'))
    values.update(options)
    return list_inventory(tmp_path, {'FLEETOTA_SECRET_KEY': TUYA_SECRET}, raw=raw, **values)


def test_every_device_is_a_host_with_its_vars(emulator, tmp_path):
    data = inventory(emulator, tmp_path)
    truth = emulator.devices(platform='tuya')
    hosts = data['fleetota_tuya']['hosts']
    assert sorted(hosts) == sorted(d['id'] for d in truth)
    for sample in truth[:5]:
        hostvars = data['_meta']['hostvars'][sample['id']]
        assert hostvars['fleetota_platform'] == 'tuya'
        assert hostvars['fleetota_device_id'] == sample['id']
        assert hostvars['fleetota_device_name'] == sample['name']
        assert hostvars['fleetota_product'] == sample['product']
        assert hostvars['fleetota_hardware_version'] is None
        assert hostvars['fleetota_firmware_version'] == sample['firmware_version']
        assert hostvars['fleetota_online'] == sample['online']
        assert hostvars['ansible_connection'] == 'local'
    # one page of up to 200 devices, one firmware read per device, one token
    assert emulator.count(DEVICE_LIST) == 1
    assert emulator.count(TOKEN) == 1
    assert emulator.control('GET', '/stats')['total'] == 1 + 1 + len(truth)


def test_filters_and_constructed_groups(emulator, tmp_path):
    truth = emulator.devices(platform='tuya')
    product = truth[0]['product']
    data = inventory(emulator, tmp_path, products=[product], online_only=True, hostname='name',
                     keyed_groups=[{'key': 'fleetota_firmware_version', 'prefix': 'fw'}])
    expected = [d for d in truth if d['product'] == product and d['online']]
    assert sorted(data['fleetota_tuya']['hosts']) == sorted(d['name'] for d in expected)
    first = expected[0]
    assert first['name'] in data['fw_' + first['firmware_version'].replace('.', '_')]['hosts']


def test_cached_run_makes_no_api_call(emulator, tmp_path):
    cache = tmp_path / 'cache'
    options = dict(cache=True, cache_plugin='ansible.builtin.jsonfile', cache_connection=str(cache), cache_timeout=3600)
    first = inventory(emulator, tmp_path, **options)
    calls = emulator.control('GET', '/stats')['total']
    second = inventory(emulator, tmp_path, **options)
    assert emulator.control('GET', '/stats')['total'] == calls
    assert second == first
    assert TUYA_SECRET not in ''.join(p.read_text() for p in cache.iterdir())


def test_wrong_secret_fails_clearly(emulator, tmp_path):
    path = inventory_file(tmp_path, platform='tuya', endpoint=emulator.url, access_key=TUYA_ACCESS_ID, token_cache='off')
    proc = run_inventory(path, env={'FLEETOTA_SECRET_KEY': 'not-the-secret-1234'})
    output = proc.stdout + proc.stderr
    assert 'sign invalid' in output and 'secret_key' in output
    assert 'not-the-secret-1234' not in output
    assert emulator.control('GET', '/stats')['total'] == 1


def test_without_firmware_versions_only_the_listing_is_read(emulator, tmp_path):
    truth = emulator.devices(platform='tuya')
    data = inventory(emulator, tmp_path, firmware_versions=False, keyed_groups=[{'key': 'fleetota_product', 'prefix': 'product'}])
    assert sorted(data['fleetota_tuya']['hosts']) == sorted(d['id'] for d in truth)
    hostvars = data['_meta']['hostvars'][truth[0]['id']]
    assert 'fleetota_firmware_version' not in hostvars
    assert (hostvars['fleetota_product'], hostvars['fleetota_online']) == (truth[0]['product'], truth[0]['online'])
    assert truth[0]['id'] in data['product_' + truth[0]['product']]['hosts']
    # the token and one page of up to 200 devices: no firmware read
    assert emulator.control('GET', '/stats')['total'] == 2


def test_a_cache_without_versions_never_answers_a_configuration_that_wants_them(emulator, tmp_path):
    truth = emulator.devices(platform='tuya')
    options = dict(cache=True, cache_plugin='ansible.builtin.jsonfile', cache_connection=str(tmp_path / 'cache'), cache_timeout=3600)
    lean = inventory(emulator, tmp_path, firmware_versions=False, **options)
    assert 'fleetota_firmware_version' not in lean['_meta']['hostvars'][truth[0]['id']]
    full = inventory(emulator, tmp_path, **options)
    assert full['_meta']['hostvars'][truth[0]['id']]['fleetota_firmware_version'] == truth[0]['firmware_version']
    assert emulator.count('GET /v2.0/cloud/thing/%s/firmware' % truth[0]['id']) == 1
    # each configuration now answers from its own cache entry
    calls = emulator.control('GET', '/stats')['total']
    assert inventory(emulator, tmp_path, firmware_versions=False, **options) == lean
    assert inventory(emulator, tmp_path, **options) == full
    assert emulator.control('GET', '/stats')['total'] == calls
