# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The fleetota.cloud.devices inventory plugin for platform magewell, through ansible-inventory: what only it does
(the behaviour every platform shares: test_platform_inventory.py)."""

import json

from conftest import PASSWORD, inventory_file, plain, run_inventory  # pylint: disable=import-error


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
