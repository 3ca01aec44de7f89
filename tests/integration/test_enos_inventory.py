# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The fleetota.cloud.devices inventory plugin for platform enos, through ansible-inventory: what only it does
(the behaviour every platform shares: test_platform_inventory.py)."""

import json

from conftest import ENOS_APP_KEY, ENOS_ORG, ENOS_SECRET, inventory_file, list_inventory, run_inventory  # pylint: disable=import-error

DEVICE_SEARCH = 'POST /connect-service/v2.1/devices'


def inventory(emulator, tmp_path, raw=False, **options):
    values = dict(platform='enos', endpoint=emulator.url, access_key=ENOS_APP_KEY, org_id=ENOS_ORG)
    values.update(options)
    return list_inventory(tmp_path, {'FLEETOTA_SECRET_KEY': ENOS_SECRET}, raw=raw, **values)


def test_pagination_is_read_whole(emulator, tmp_path):
    emulator.control('POST', '/reset', {'devices': 430})
    try:
        data = inventory(emulator, tmp_path)
        assert len(data['fleetota_enos']['hosts']) == 430
        assert emulator.count(DEVICE_SEARCH) == 3        # pages of 200, 200 and 30
    finally:
        emulator.control('POST', '/reset', {'devices': 60})


def test_org_from_the_environment_and_missing_org_names_the_fix(emulator, tmp_path):
    path = inventory_file(tmp_path, platform='enos', endpoint=emulator.url, access_key=ENOS_APP_KEY)
    proc = run_inventory(path, env={'FLEETOTA_SECRET_KEY': ENOS_SECRET, 'FLEETOTA_ORG_ID': ENOS_ORG})
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert len(json.loads(proc.stdout)['fleetota_enos']['hosts']) == 60
    calls = emulator.control('GET', '/stats')['total']
    proc = run_inventory(path, env={'FLEETOTA_SECRET_KEY': ENOS_SECRET}, args=('--list', '-vvv'))
    assert 'platform enos needs org_id: set option org_id or env FLEETOTA_ORG_ID' in proc.stdout + proc.stderr
    assert emulator.control('GET', '/stats')['total'] == calls
