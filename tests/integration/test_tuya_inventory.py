# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The fleetota.cloud.devices inventory plugin for platform tuya, through ansible-inventory: what only it does
(the behaviour every platform shares: test_platform_inventory.py)."""

from conftest import TUYA_ACCESS_ID, TUYA_SECRET, list_inventory  # pylint: disable=import-error


def inventory(emulator, tmp_path, raw=False, **options):
    values = dict(platform='tuya', endpoint=emulator.url, access_key=TUYA_ACCESS_ID, token_cache=str(tmp_path / 'tokens.json'))
    values.update(options)
    return list_inventory(tmp_path, {'FLEETOTA_SECRET_KEY': TUYA_SECRET}, raw=raw, **values)


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
