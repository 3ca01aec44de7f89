# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The fleetota.cloud.devices inventory plugin on every platform, through ansible-inventory.

Run once per platform through its adapter (platforms.py); what only one vendor does: test_<platform>_inventory.py.
"""

import pytest

from conftest import inventory_file, list_inventory, run_inventory  # pylint: disable=import-error
from platforms import ADAPTERS  # pylint: disable=import-error

CACHED = dict(cache=True, cache_plugin='ansible.builtin.jsonfile', cache_timeout=3600)


@pytest.fixture(params=ADAPTERS, ids=[adapter.name for adapter in ADAPTERS])
def platform(request):
    return request.param


def inventory(platform, emulator, tmp_path, raw=False, **options):
    values = dict(platform.inventory_options(emulator, tmp_path), **options)
    return list_inventory(tmp_path, {platform.inventory_secret_env: platform.secrets[0]}, raw=raw, **values)


def samples(truth):
    """The first devices, the first offline one and the last."""
    return truth[:5] + [d for d in truth if not d['online']][:1] + truth[-1:]


def test_every_device_is_a_host_with_its_vars(platform, emulator, tmp_path):
    data = inventory(platform, emulator, tmp_path)
    truth = platform.devices(emulator)
    assert sorted(data['fleetota_%s' % platform.name]['hosts']) == sorted(d['id'] for d in truth)
    for sample in samples(truth):
        hostvars = data['_meta']['hostvars'][sample['id']]
        assert hostvars['fleetota_platform'] == platform.name
        assert hostvars['fleetota_device_id'] == sample['id']
        assert hostvars['fleetota_device_name'] == sample['name']
        assert hostvars['fleetota_product'] == sample['product']
        assert hostvars['fleetota_hardware_version'] == platform.hardware_version(sample)
        assert hostvars['fleetota_firmware_version'] == sample['firmware_version']
        assert hostvars['fleetota_online'] == sample['online']
        assert hostvars['ansible_connection'] == 'local'
    platform.check_listing(emulator, data, truth)


def test_cloud_strings_are_never_templated(platform, emulator, tmp_path):
    device_id = platform.devices(emulator)[0]['id']
    emulator.set_devices([device_id], platform=platform.name, name="{{ lookup('env', 'HOME') }}")
    data = inventory(platform, emulator, tmp_path, raw=True)
    assert data['_meta']['hostvars'][device_id]['fleetota_device_name'] == {'__ansible_unsafe': "{{ lookup('env', 'HOME') }}"}


def test_filters_and_constructed_groups(platform, emulator, tmp_path):
    truth = platform.devices(emulator)
    product = truth[0]['product']
    expected = [d for d in truth if d['product'] == product and d['online']]
    pivot = sorted((d['firmware_version'] for d in expected), key=lambda v: [int(p) for p in v.split('.')])[len(expected) // 2]
    data = inventory(
        platform, emulator, tmp_path,
        products=[product], online_only=True, hostname='name',
        keyed_groups=[{'key': 'fleetota_firmware_version', 'prefix': 'fw'}],
        groups={'hardware_a': "fleetota_hardware_version == 'A'", 'old': "fleetota_firmware_version is version('%s', '<')" % pivot},
        compose={'fleetota_label': "fleetota_product ~ '/' ~ fleetota_device_id ~ '@' ~ fleetota_firmware_version ~ '/' ~ fleetota_hardware_version"},
    )
    assert sorted(data['fleetota_%s' % platform.name]['hosts']) == sorted(d['name'] for d in expected)
    first = expected[0]
    label = '%s/%s@%s/%s' % (product, first['id'], first['firmware_version'], platform.hardware_version(first))
    assert data['_meta']['hostvars'][first['name']]['fleetota_label'] == label
    assert first['name'] in data['fw_' + first['firmware_version'].replace('.', '_')]['hosts']
    hardware_a = set(data.get('hardware_a', {}).get('hosts', []))
    assert hardware_a == set(d['name'] for d in expected if platform.hardware_version(d) == 'A')
    old = set(data.get('old', {}).get('hosts', []))
    assert old == set(d['name'] for d in expected if [int(p) for p in d['firmware_version'].split('.')] < [int(p) for p in pivot.split('.')])


def test_cached_run_makes_no_api_call(platform, emulator, tmp_path):
    cache = tmp_path / 'cache'
    first = inventory(platform, emulator, tmp_path, cache_connection=str(cache), **CACHED)
    calls = emulator.control('GET', '/stats')['total']
    platform.check_cached_calls(emulator, calls)
    second = inventory(platform, emulator, tmp_path, cache_connection=str(cache), **CACHED)
    assert emulator.control('GET', '/stats')['total'] == calls
    assert second == first
    cached = ''.join(p.read_text() for p in cache.iterdir())
    for secret in platform.cache_secrets(emulator):
        assert secret not in cached


def test_refused_credentials_fail_clearly_without_the_secret(platform, emulator, tmp_path):
    wrong = 'nope-not-it-42'
    path = inventory_file(tmp_path, **platform.inventory_options(emulator, tmp_path))
    proc = run_inventory(path, env={platform.inventory_secret_env: wrong})
    output = proc.stdout + proc.stderr
    for words in platform.inventory_refusal_words:
        assert words in output
    assert wrong not in output and platform.secrets[0] not in output
    platform.check_refused_listing(emulator)


def test_missing_platform_or_secret_names_the_fix_and_sends_nothing(platform, emulator, tmp_path):
    options = platform.inventory_options(emulator, tmp_path)
    no_platform = dict((key, value) for key, value in options.items() if key != 'platform')
    proc = run_inventory(inventory_file(tmp_path, **no_platform), env={platform.inventory_secret_env: platform.secrets[0]},
                         args=('--list', '-vvv'))
    assert "Required config 'platform'" in proc.stdout + proc.stderr
    proc = run_inventory(inventory_file(tmp_path, **options), args=('--list', '-vvv'))
    assert 'platform %s needs %s' % (platform.name, platform.required[0]) in proc.stdout + proc.stderr
    assert emulator.control('GET', '/stats')['total'] == 0


def test_without_firmware_versions_the_variable_is_unset(platform, emulator, tmp_path):
    truth = platform.devices(emulator)
    data = inventory(platform, emulator, tmp_path, firmware_versions=False, keyed_groups=[{'key': 'fleetota_product', 'prefix': 'product'}])
    assert sorted(data['fleetota_%s' % platform.name]['hosts']) == sorted(d['id'] for d in truth)
    for sample in truth:
        hostvars = data['_meta']['hostvars'][sample['id']]
        assert 'fleetota_firmware_version' not in hostvars
        assert (hostvars['fleetota_product'], hostvars['fleetota_online']) == (sample['product'], sample['online'])
    assert truth[0]['id'] in data['product_' + truth[0]['product']]['hosts']
    platform.check_lean_listing(emulator)
