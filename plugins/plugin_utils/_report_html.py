# -*- coding: utf-8 -*-
# Copyright (c) fleetota.cloud developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The fleet report as one self-contained HTML page: compliance, versions per product, attention, every device.

No external asset (inline CSS, inline SVG, a little inline JavaScript), so the file can be mailed,
attached to a job or opened offline. Every value from the cloud is escaped: device names are
whatever someone typed into a vendor portal. The device table is plain HTML (readable without
JavaScript); the script only adds sorting and a filter, built to stay fast at 10,000 rows.
"""

import datetime
from html import escape

from ansible_collections.fleetota.cloud.plugins.plugin_utils._report import FORMS as TEXT_FORMS
from ansible_collections.fleetota.cloud.plugins.plugin_utils._report import report as text_report
from ansible_collections.fleetota.cloud.plugins.plugin_utils._report import rows, summary
from ansible_collections.fleetota.cloud.plugins.module_utils._versions import try_parse_version

FORMS = TEXT_FORMS + ('html',)
DEFAULT_TITLE = 'Fleet firmware report'
ATTENTION_LIMIT = 200

# Why a device needs attention, most urgent first.
REASONS = ('failed last upgrade', 'offline', 'outdated')

NEWEST_COLOR = '#2e7d32'
NEWER_COLOR = '#1565c0'      # newer than the newest released (a test build, a downgrade candidate)
UNKNOWN_COLOR = '#9e9e9e'    # no version, or one that does not parse
BEHIND_COLORS = ('#f9a825', '#ef6c00', '#c62828')  # one, two, three or more versions behind

TABLE_COLUMNS = (
    ('id', 'Device'), ('name', 'Name'), ('product', 'Product'), ('hardware_version', 'Hardware'), ('online', 'Online'),
    ('current_version', 'Current'), ('latest_version', 'Newest'), ('state', 'State'),
)


def _e(value):
    """Escaped text of a value from the cloud (None is an empty cell)."""
    if value is None:
        return ''
    if isinstance(value, bool):
        return 'yes' if value else 'no'
    return escape(str(value), quote=True)


def reasons_of(row):
    found = []
    if row.get('last_upgrade_failed'):
        found.append(REASONS[0])
    if row.get('online') is False:
        found.append(REASONS[1])
    if row.get('upgrade_available') and not row.get('upgrading'):
        found.append(REASONS[2])
    return found


def attention(table):
    """(row, reasons) of every device needing attention, the most urgent reasons first."""
    flagged = [(row, reasons_of(row)) for row in table]
    flagged = [(row, reasons) for row, reasons in flagged if reasons]
    flagged.sort(key=lambda item: (REASONS.index(item[1][0]), str(item[0]['product']), str(item[0]['id'])))
    return flagged


def _version_key(version):
    parsed = try_parse_version(version)
    return (parsed is None, parsed if parsed is not None else 0, str(version))


def version_groups(table):
    """{product: {hardware: {'latest': version, 'versions': [(version, count), ...] oldest first}}}."""
    groups = {}
    for row in table:
        product = groups.setdefault(str(row['product'] if row['product'] is not None else '-'), {})
        group = product.setdefault(str(row['hardware_version'] or '-'), {'latest': None, 'counts': {}})
        if row['latest_version'] is not None:
            group['latest'] = row['latest_version']
        version = row['current_version']
        group['counts'][version] = group['counts'].get(version, 0) + 1
    for product in groups.values():
        for group in product.values():
            group['versions'] = sorted(group.pop('counts').items(), key=lambda item: _version_key(item[0]))
    return groups


def version_color(version, latest, behind):
    parsed, newest = try_parse_version(version), try_parse_version(latest)
    if parsed is None or newest is None:
        return UNKNOWN_COLOR
    if parsed == newest:
        return NEWEST_COLOR
    if parsed > newest:
        return NEWER_COLOR
    return BEHIND_COLORS[min(behind, len(BEHIND_COLORS)) - 1]


def _bar(hardware, group, y, label_width, bar_width):
    total = sum(count for _version, count in group['versions'])
    newest = try_parse_version(group['latest'])
    older = [v for v, _c in group['versions'] if newest is not None and try_parse_version(v) is not None and try_parse_version(v) < newest]
    parts = ['<g class="bar" data-hardware="%s" transform="translate(0,%d)">' % (_e(hardware), y),
             '<text x="%d" y="15" class="label">hardware %s</text>' % (label_width - 8, _e(hardware))]
    x = float(label_width)
    on_newest = 0
    for version, count in group['versions']:
        behind = len(older) - older.index(version) if version in older else 0
        color = version_color(version, group['latest'], behind)
        on_newest += count if color == NEWEST_COLOR else 0
        width = bar_width * count / total
        name = 'no version' if version is None else str(version)
        parts.append('<rect class="segment" data-version="%s" data-count="%d" x="%.1f" y="2" width="%.1f" height="18" fill="%s">'
                     '<title>%s: %d device(s)%s</title></rect>'
                     % (_e(name), count, x, width, color, _e(name), count, ' (newest)' if color == NEWEST_COLOR else ''))
        if width >= 8 * len(name) + 8:
            parts.append('<text x="%.1f" y="15" class="in">%s</text>' % (x + 4, _e(name)))
        x += width
    parts.append('<text x="%d" y="15" class="total">%d device(s), %d%% newest</text></g>'
                 % (label_width + bar_width + 8, total, round(100.0 * on_newest / total)))
    return ''.join(parts)


def version_chart(table):
    """Inline SVG: per product a group of 100% stacked bars, one per hardware version, a segment per firmware version."""
    groups = version_groups(table)
    label_width, bar_width, row_height, head_height = 170, 560, 24, 22
    parts, y = [], 0
    for product in sorted(groups):
        parts.append('<g class="bar-group" data-product="%s" transform="translate(0,%d)">' % (_e(product), y))
        parts.append('<text x="0" y="16" class="product">product %s</text>' % _e(product))
        inner = head_height
        for hardware in sorted(groups[product]):
            parts.append(_bar(hardware, groups[product][hardware], inner, label_width, bar_width))
            inner += row_height
        parts.append('</g>')
        y += inner + 10
    width = label_width + bar_width + 190
    return ('<svg id="version-chart" role="img" viewBox="0 0 %d %d" width="%d" height="%d">'
            '<title>Firmware versions per product and hardware</title>%s</svg>' % (width, max(y, 1), width, max(y, 1), ''.join(parts)))


def _legend():
    items = [(NEWEST_COLOR, 'newest released'), (BEHIND_COLORS[0], '1 version behind'), (BEHIND_COLORS[1], '2 behind'),
             (BEHIND_COLORS[2], '3 or more behind'), (NEWER_COLOR, 'newer than released'), (UNKNOWN_COLOR, 'unknown')]
    return '<p class="legend">%s</p>' % ' '.join('<span><i style="background:%s"></i>%s</span>' % item for item in items)


def _grade(percent):
    return 'good' if percent >= 95 else 'fair' if percent >= 80 else 'poor'


def _compliance(stats, generated_count):
    groups = []
    for key, group in stats['by_product'].items():
        groups.append('<tr><td>%s<td class="n">%d<td class="n">%d<td class="n">%s%%<td><span class="meter"><span style="width:%s%%"></span></span><td>%s'
                      % (_e(key), group['devices'], group['current'], group['compliance_percent'], group['compliance_percent'],
                         _e(group['latest_version'])))
    states = ''.join('<li class="s-%s"><b>%d</b> %s</li>' % (_e(state), count, _e(state)) for state, count in stats['by_state'].items())
    return (
        '<section id="compliance"><h2>Compliance</h2><div class="glance">'
        '<p class="figure"><span id="compliance-percent" class="%s">%s%%</span> of devices run the newest released firmware that fits them '
        '(<span id="compliant-count">%d</span> of <span id="device-count">%d</span>)</p><ul class="states">%s</ul></div>'
        '<table id="compliance-table"><thead><tr><th>Product / hardware<th>Devices<th>On newest<th>Compliance<th><th>Newest version</thead>'
        '<tbody>%s</tbody></table></section>'
        % (_grade(stats['compliance_percent']), stats['compliance_percent'], generated_count, stats['devices'], states, ''.join(groups)))


def _attention(table):
    flagged = attention(table)
    counts = dict((reason, 0) for reason in REASONS)
    for _row, reasons in flagged:
        for reason in reasons:
            counts[reason] += 1
    shown = flagged[:ATTENTION_LIMIT]
    lines = ''.join('<tr><td>%s<td>%s<td>%s / %s<td>%s<td>%s<td>%s' % (
        _e(row['id']), _e(row['name']), _e(row['product']), _e(row['hardware_version'] or '-'), _e(row['current_version']),
        _e(row['latest_version']), _e(', '.join(reasons))) for row, reasons in shown)
    more = ''
    if len(flagged) > len(shown):
        more = ('<p class="more">... and %d more device(s) needing attention: filter the table below, or read the CSV and JSON files.</p>'
                % (len(flagged) - len(shown)))
    summary_line = ', '.join('%d %s' % (counts[reason], reason) for reason in REASONS)
    if not flagged:
        return '<section id="attention"><h2>Needs attention: none</h2><p>Every device is online, current, and its last upgrade did not fail.</p></section>'
    return ('<section id="attention"><h2>Needs attention: <span id="attention-count">%d</span> device(s)</h2><p>%s.</p>'
            '<div class="scroll"><table id="attention-table"><thead><tr><th>Device<th>Name<th>Product / hardware<th>Current<th>Newest<th>Why</thead>'
            '<tbody>%s</tbody></table></div>%s</section>' % (len(flagged), summary_line, lines, more))


def _device_table(table):
    head = ''.join('<th data-key="%s" aria-sort="none" tabindex="0">%s</th>' % (key, label) for key, label in TABLE_COLUMNS)
    body = ''.join('<tr class="s-%s"><td>%s' % (_e(row['state']), '<td>'.join(_e(row[key]) for key, _label in TABLE_COLUMNS)) for row in table)
    return ('<section id="devices"><h2>Every device</h2>'
            '<p class="tools"><input id="filter" type="search" placeholder="Filter: id, name, version, state..." aria-label="Filter the devices"> '
            '<span id="shown">%d of %d shown</span>. Click a column header to sort.</p>'
            '<table id="device-table"><thead><tr>%s</tr></thead><tbody>%s</tbody></table></section>' % (len(table), len(table), head, body))


STYLE = '''
body{font:14px/1.4 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0 auto;max-width:1200px;padding:0 16px 40px;color:#1b1b1b}
h1{margin:20px 0 0}h2{margin:28px 0 8px;border-bottom:1px solid #ddd}.meta{color:#666;margin:4px 0}
.glance{display:flex;flex-wrap:wrap;align-items:center;gap:24px}.figure{font-size:16px;max-width:460px}
#compliance-percent{display:block;font-size:48px;font-weight:700;color:#2e7d32;line-height:1.1}
#compliance-percent.fair{color:#ef6c00}#compliance-percent.poor{color:#c62828}
.states{display:flex;flex-wrap:wrap;gap:8px;list-style:none;padding:0}.states li{border:1px solid #ddd;border-radius:6px;padding:6px 10px}
.states b{font-size:20px;margin-right:4px}
table{border-collapse:collapse;width:100%}th,td{text-align:left;padding:3px 8px;border-bottom:1px solid #eee;white-space:nowrap}
td.n{text-align:right}thead th{background:#f5f5f5;position:sticky;top:0}
.meter{display:inline-block;width:120px;height:10px;background:#eee}.meter span{display:block;height:10px;background:#2e7d32}
#version-chart{max-width:100%;height:auto}#version-chart text{font-size:12px;fill:#1b1b1b}#version-chart .label{text-anchor:end}
#version-chart .product{font-weight:700}#version-chart .in{fill:#fff}
.legend span{margin-right:14px}.legend i{display:inline-block;width:12px;height:12px;margin-right:4px;vertical-align:-1px}
#device-table,#device-table thead,#device-table tbody{display:block}#device-table tr{display:flex}
#device-table th,#device-table td{flex:0 0 110px;overflow:hidden;text-overflow:ellipsis}#device-table :is(th,td):nth-child(1){flex-basis:160px}
#device-table :is(th,td):nth-child(2){flex:1 1 0;min-width:0}#device-table :is(th,td):is(:nth-child(3),:nth-child(4),:nth-child(5)){flex-basis:80px}
#device-table tbody tr{content-visibility:auto;contain-intrinsic-size:auto 23px}#device-table thead{position:sticky;top:0;z-index:1}
.scroll{max-height:480px;overflow:auto;border-bottom:1px solid #ddd}nav a{margin-right:14px}
#device-table th{cursor:pointer;user-select:none}#device-table th[aria-sort=ascending]::after{content:" \\25B2"}
#device-table th[aria-sort=descending]::after{content:" \\25BC"}#filter{width:320px;padding:4px}
tr.s-outdated td:last-child,tr.s-failed td:last-child{color:#c62828;font-weight:600}tr.s-offline td:last-child{color:#ef6c00}
#attention-table td:last-child{color:#c62828}.more{color:#666}
'''

# Sorting reads every cell once, sorts an index array with one collator (numeric, so 1.10 > 1.9)
# and re-appends the rows in one fragment; filtering toggles `hidden`. Both stay well under a
# second at 10,000 rows.
SCRIPT = '''
(function () {
  var table = document.getElementById('device-table'), body = table.tBodies[0], heads = table.tHead.rows[0].cells;
  var rows = Array.prototype.slice.call(body.rows), keys = [], texts = null, timer = null;
  var collator = new Intl.Collator(undefined, {numeric: true, sensitivity: 'base'});
  function column(i) {
    if (!keys[i]) { keys[i] = rows.map(function (row) { return row.cells[i].textContent; }); }
    return keys[i];
  }
  function sort(i) {
    var descending = heads[i].getAttribute('aria-sort') === 'ascending', values = column(i), order = [];
    for (var n = 0; n < rows.length; n++) { order.push(n); }
    order.sort(function (a, b) { return collator.compare(values[a], values[b]) || a - b; });
    if (descending) { order.reverse(); }
    var fragment = document.createDocumentFragment();
    order.forEach(function (n) { fragment.appendChild(rows[n]); });
    body.appendChild(fragment);
    for (var h = 0; h < heads.length; h++) { heads[h].setAttribute('aria-sort', 'none'); }
    heads[i].setAttribute('aria-sort', descending ? 'descending' : 'ascending');
  }
  function filter() {
    var words = document.getElementById('filter').value.toLowerCase().split(/\\s+/).filter(Boolean), shown = 0;
    if (!texts) { texts = rows.map(function (row) { return row.textContent.toLowerCase(); }); }
    rows.forEach(function (row, n) {
      var match = words.every(function (word) { return texts[n].indexOf(word) >= 0; });
      row.hidden = !match;
      shown += match ? 1 : 0;
    });
    document.getElementById('shown').textContent = shown + ' of ' + rows.length + ' shown';
  }
  Array.prototype.forEach.call(heads, function (head, i) {
    head.addEventListener('click', function () { sort(i); });
    head.addEventListener('keydown', function (event) { if (event.key === 'Enter') { sort(i); } });
  });
  document.getElementById('filter').addEventListener('input', function () { clearTimeout(timer); timer = setTimeout(filter, 120); });
  var wanted = /[#&]sort=(\\w+)/.exec(location.hash);
  if (wanted) {
    Array.prototype.forEach.call(heads, function (head, i) { if (head.getAttribute('data-key') === wanted[1]) { sort(i); } });
  }
  table.setAttribute('data-ready', 'true');
})();
'''


def to_html(devices, title=DEFAULT_TITLE, generated=None):
    """The whole report as one HTML document (a str)."""
    if title is None or not isinstance(title, str) or not title.strip():
        raise ValueError("title %r is not valid: expected a non-empty string" % (title,))
    if isinstance(generated, (datetime.datetime, datetime.date)):
        generated = generated.isoformat(sep=' ', timespec='seconds') if isinstance(generated, datetime.datetime) else generated.isoformat()
    if generated is not None and not isinstance(generated, str):
        raise ValueError("generated %r is not valid: expected a date and time (a string or a datetime), or none" % (generated,))
    table = rows(devices)
    stats = summary(devices)
    compliant = sum(group['current'] for group in stats['by_product'].values())
    meta = '%d device(s)' % stats['devices']
    if generated:
        meta = 'Generated %s, %s' % (_e(generated), meta)
    chart = version_chart(table) if table else '<p>No devices.</p>'
    return ''.join((
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        '<title>%s</title><style>%s</style></head><body>' % (_e(title), STYLE),
        '<header><h1>%s</h1><p class="meta">%s</p><nav><a href="#compliance">Compliance</a><a href="#versions">Versions</a>'
        '<a href="#attention">Needs attention</a><a href="#devices">Every device</a></nav></header>' % (_e(title), meta),
        _compliance(stats, compliant),
        '<section id="versions"><h2>Firmware versions per product</h2>%s%s</section>' % (chart, _legend()),
        _attention(table),
        _device_table(table),
        '<script>%s</script></body></html>\n' % SCRIPT,
    ))


def report(devices, form='rows', limit=50, title=DEFAULT_TITLE, generated=None):
    """Every form of the fleet report: the text ones of _report, and html."""
    if form == 'html':
        return to_html(devices, title, generated)
    if form not in FORMS:
        raise ValueError("form '%s' is not known: use one of %s" % (form, ', '.join(FORMS)))
    return text_report(devices, form, limit)
