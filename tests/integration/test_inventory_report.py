# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The inventory_report playbook: a table on screen, JSON and CSV files that match the emulator's truth."""

import csv
import json
import subprocess

from conftest import PASSWORD, ansible_env, inventory_file  # pylint: disable=import-error


def test_report_matches_the_fleet(emulator, tmp_path):
    inventory = inventory_file(tmp_path, platform='magewell', endpoint=emulator.url, username='Admin')
    env = {'FLEETOTA_PLATFORM': 'magewell', 'FLEETOTA_ENDPOINT': emulator.url, 'FLEETOTA_USERNAME': 'Admin', 'FLEETOTA_PASSWORD': PASSWORD}
    proc = subprocess.run(['ansible-playbook', '-i', str(inventory), 'fleetota.cloud.inventory_report', '-e', 'report_dir=%s' % tmp_path,
                           '-e', 'report_rows=5'], capture_output=True, text=True, env=ansible_env(env), timeout=300, cwd=str(tmp_path), check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    truth = dict((device['id'], device) for device in emulator.devices())
    outdated = set(emulator.scenarios()['outdated_online_devices'])

    data = json.loads((tmp_path / 'fleet-report.json').read_text())
    rows = dict((row['id'], row) for row in data['devices'])
    assert set(rows) == set(truth)
    for device_id, row in rows.items():
        assert row['current_version'] == truth[device_id]['firmware_version']
        assert row['online'] == truth[device_id]['online']
        if device_id in outdated:
            assert row['state'] == 'outdated' and row['upgrade_available'] is True
    assert not any(row['state'] == 'outdated' for device_id, row in rows.items() if device_id not in outdated and truth[device_id]['online'])
    # Magewell tells whether a last upgrade failed: none did in the seeded fleet.
    assert all(row['last_upgrade_failed'] is False for row in rows.values())
    assert data['summary']['devices'] == len(truth)
    assert data['firmwares'] and all(fw['released'] for fw in data['firmwares'])

    with open(tmp_path / 'fleet-report.csv', newline='', encoding='utf-8') as handle:
        table = list(csv.DictReader(handle))
    assert sorted(row['id'] for row in table) == sorted(truth)

    shown = '%d device(s), %s%% on the newest version' % (len(truth), data['summary']['compliance_percent'])
    assert shown in proc.stdout
    assert '... and %d more device(s)' % (len(truth) - 5) in proc.stdout
    assert (tmp_path / 'fleet-report.html').read_text().startswith('<!DOCTYPE html>')  # report_html defaults to true
    assert emulator.writes() == {}
    assert PASSWORD not in proc.stdout + proc.stderr
