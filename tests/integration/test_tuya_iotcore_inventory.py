# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The fleetota.cloud.devices inventory plugin for platform tuya_iotcore, through ansible-inventory: what only it does
(the behaviour every platform shares: test_platform_inventory.py)."""


from conftest import IOTCORE_SECRET, list_inventory, task  # pylint: disable=import-error
from platforms.tuya_iotcore import ACCESS_KEY as AK  # pylint: disable=import-error

P = 'tuya_iotcore'


def inventory(emulator, tmp_path, raw=False, **options):
    values = dict(platform=P, endpoint=emulator.url, access_key=AK)
    values.update(options)
    return list_inventory(tmp_path, {'FLEETOTA_SECRET_KEY': IOTCORE_SECRET}, raw=raw, **values)


def test_the_inventory_fills_the_device_cache_for_the_modules(emulator, tmp_path, playbook):
    inventory(emulator, tmp_path)
    listed = emulator.actions()['QueryDeviceByStatus']
    ids = [d['id'] for d in emulator.devices(platform=P)][:6]
    run = playbook([task('fleetota.cloud.firmware_info', ignore_errors=False, devices=ids)], connection=emulator.connection(platform=P))
    assert run.rc == 0, run.output
    assert [d['id'] for d in run.data['out']['devices']] == ids
    assert emulator.actions()['QueryDeviceByStatus'] == listed     # the module read the products from the inventory's listing
