# -*- coding: utf-8 -*-
# Copyright (c) fleetota.cloud developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The fleet report: what every device runs against what it could run, as rows, a text table, CSV.

Input is the `devices` list of firmware_info; the filter fleetota.cloud.fleet_report exposes it
to the inventory_report playbook.
"""

import csv
import io

COLUMNS = ('id', 'name', 'product', 'hardware_version', 'online', 'current_version', 'latest_version', 'upgrade_available', 'upgrading',
           'last_upgrade_failed', 'state')
FORMS = ('rows', 'table', 'csv', 'summary')


def state_of(device):
    """One word per device, what a reader looks for first."""
    if device.get('upgrading'):
        return 'upgrading'
    if device.get('last_upgrade_failed'):
        return 'failed'
    if device.get('online') is False:
        return 'offline'
    if device.get('latest_version') is None:
        return 'no_firmware'
    return 'outdated' if device.get('upgrade_available') else 'current'


def _shown(value, width=80):
    text = repr(value)
    return text if len(text) <= width else text[:width - 3] + '...'


def check_devices(devices):
    """The firmware_info devices list, or a ValueError naming the entry that is not one."""
    if devices is None:
        return []
    if not isinstance(devices, (list, tuple)):
        raise ValueError('expected the devices list of firmware_info, got %s %s' % (type(devices).__name__, _shown(devices)))
    for index, device in enumerate(devices):
        if not isinstance(device, dict) or device.get('id') in (None, ''):
            raise ValueError('devices[%d] is not a firmware_info device (a dict with at least an id): %s' % (index, _shown(device)))
    return devices


def rows(devices):
    result = []
    for device in check_devices(devices):
        row = dict((column, device.get(column)) for column in COLUMNS if column != 'state')
        row['state'] = state_of(device)
        result.append(row)
    return sorted(result, key=lambda row: (str(row['product']), str(row['hardware_version']), str(row['id'])))


def _text(value):
    if value is None:
        return ''
    if isinstance(value, bool):
        return 'yes' if value else 'no'
    return str(value)


# A spreadsheet runs a cell that starts with one of these as a formula (OWASP, CSV injection).
FORMULA_STARTS = ('=', '+', '-', '@', '\t', '\r')


def csv_cell(value):
    """A cell that a spreadsheet shows as text: one starting a formula gets a leading single quote (OWASP), negative numbers too."""
    text = _text(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def to_csv(devices):
    """Every device as CSV: every field quoted, and every cell from the cloud neutralised against formula injection."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator='\n', quoting=csv.QUOTE_ALL)
    writer.writerow(COLUMNS)
    for row in rows(devices):
        writer.writerow([csv_cell(row[column]) for column in COLUMNS])
    return buffer.getvalue()


def to_table(devices, limit=50):
    """A fixed-width text table: the devices needing attention first, at most `limit` rows."""
    shown = ('id', 'product', 'hardware_version', 'current_version', 'latest_version', 'state')
    ordered = sorted(rows(devices), key=lambda row: (row['state'] in ('current',), str(row['id'])))
    body = [[_text(row[column]) for column in shown] for row in ordered[:limit]]
    headers = ['device', 'product', 'hardware', 'current', 'latest', 'state']
    widths = [max([len(headers[i])] + [len(line[i]) for line in body]) for i in range(len(headers))]
    counts = summary(devices)
    states = ', '.join('%d %s' % (n, state) for state, n in counts['by_state'].items())
    lines = ['%d device(s), %s%% on the newest version that fits them: %s' % (counts['devices'], counts['compliance_percent'], states),
             '  '.join(cell.ljust(widths[i]) for i, cell in enumerate(headers)).rstrip(),
             '  '.join('-' * width for width in widths)]
    lines += ['  '.join(cell.ljust(widths[i]) for i, cell in enumerate(line)).rstrip() for line in body]
    if len(ordered) > limit:
        lines.append('... and %d more device(s) (every device is in the JSON and CSV files)' % (len(ordered) - limit))
    return lines


def summary(devices):
    """Counts per state, and per product + hardware the share of online devices on the newest version."""
    table = rows(devices)
    states, groups, compliant = {}, {}, 0
    for row in table:
        on_newest = row['latest_version'] is not None and not row['upgrade_available']
        compliant += 1 if on_newest else 0
        states[row['state']] = states.get(row['state'], 0) + 1
        key = '%s/%s' % (row['product'], row['hardware_version'] or '-')
        group = groups.setdefault(key, {'devices': 0, 'current': 0, 'latest_version': row['latest_version']})
        group['devices'] += 1
        group['current'] += 1 if on_newest else 0
    for group in groups.values():
        group['compliance_percent'] = round(100.0 * group['current'] / group['devices'], 1) if group['devices'] else 0.0
    total = len(table)
    return {
        'devices': total,
        'by_state': dict(sorted(states.items())),
        # on the newest version that fits them, whether online right now or not
        'compliance_percent': round(100.0 * compliant / total, 1) if total else 0.0,
        'by_product': dict(sorted(groups.items())),
    }


def report(devices, form='rows', limit=50):
    try:
        limit = int(limit)
    except (TypeError, ValueError):
        raise ValueError("limit '%s' is not a number of rows" % (limit,))
    if limit < 0:
        raise ValueError("limit '%s' is not valid: expected 0 or more rows" % (limit,))
    if form == 'rows':
        return rows(devices)
    if form == 'table':
        return to_table(devices, limit)
    if form == 'csv':
        return to_csv(devices)
    if form == 'summary':
        return summary(devices)
    raise ValueError("form '%s' is not known: use one of %s" % (form, ', '.join(FORMS)))
