# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The fleet report as one HTML page: escaped, self-contained and complete, also at 10,000 devices."""

import datetime
import html.parser
import re

import pytest

from ansible_collections.fleetota.cloud.plugins.plugin_utils import _report_html as report_html


def dev(device_id, current, latest, online=True, upgrading=False, product='770', hardware='A', name=None, failed=None):
    return {'id': device_id, 'name': name or device_id, 'product': product, 'hardware_version': hardware, 'online': online,
            'current_version': current, 'latest_version': latest, 'upgrade_available': latest is not None and current != latest,
            'upgrading': upgrading, 'last_upgrade_failed': failed}


DEVICES = [dev('c1', '1.6.201', '1.6.201'), dev('o1', '1.4.120', '1.6.201'), dev('o2', '1.5.178', '1.6.201'), dev('off', '1.6.201', '1.6.201', online=False),
           dev('bad', '1.5.178', '1.6.201', failed=True), dev('b1', '1.5.178', '1.5.178', hardware='B'), dev('x1', '2.0.3', '2.1.0', product='780')]


class Collector(html.parser.HTMLParser):
    """Tags, attributes and text of a document, as a browser's parser would see them."""

    def __init__(self):
        super().__init__()
        self.tags, self.text = [], []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data):
        self.text.append(data)


def parse(text):
    collector = Collector()
    collector.feed(text)
    return collector


def fleet(count):
    versions = {'770': ['1.4.120', '1.5.178', '1.6.201'], '780': ['2.0.3', '2.1.0'], '1100': ['3.1.2', '3.2.0', '3.3.1', '3.4.0']}
    devices = []
    for n in range(count):
        product = sorted(versions)[n % 3]
        line = versions[product]
        devices.append(dev('SN%06d' % n, line[n % len(line)], line[-1], online=n % 17 != 0, product=product, hardware='AB'[n % 2],
                           name='encoder %d <lobby> & "hall"' % n, failed=n % 97 == 0))
    return devices


def test_cloud_values_are_escaped_everywhere():
    evil = '<script>alert(1)</script>"><img src=x onerror=alert(2)>'
    devices = DEVICES + [dev('evil"id', '1.4.120', '1.6.201', name=evil, product='7<7>0', hardware='"A')]
    page = report_html.to_html(devices, title='Fleet <b>report</b>')
    assert '<script>alert' not in page and '<img' not in page and 'evil"id' not in page
    parsed = parse(page)
    assert [tag for tag, _attrs in parsed.tags if tag == 'script'] == ['script']  # ours only
    assert evil in ''.join(parsed.text)  # shown as text, as typed
    assert 'Fleet <b>report</b>' in ''.join(parsed.text)
    assert any(attrs.get('data-product') == '7<7>0' for tag, attrs in parsed.tags if tag == 'g')


def test_self_contained():
    page = report_html.to_html(fleet(50), generated='2026-12-01T10:00:00Z')
    parsed = parse(page)
    assert not [tag for tag, _attrs in parsed.tags if tag in ('link', 'img', 'iframe', 'object', 'embed')]
    assert not [attrs for _tag, attrs in parsed.tags if 'src' in attrs or not attrs.get('href', '#').startswith('#')]
    assert not re.search(r'https?://|url\(|@import', page)


def test_structure_compliance_chart_attention_and_table():
    page = report_html.to_html(DEVICES, generated='2026-12-01T10:00:00Z')
    parsed = parse(page)
    text = ''.join(parsed.text)
    # c1, off and b1 run the newest that fits them: 3 of 7
    assert '<span id="compliance-percent" class="poor">42.9%</span>' in page and '(3 of 7)' in text
    assert 'Generated 2026-12-01T10:00:00Z, 7 device(s)' in text
    groups = [attrs['data-product'] for tag, attrs in parsed.tags if tag == 'g' and attrs.get('class') == 'bar-group']
    assert groups == ['770', '780']
    bars = [attrs['data-hardware'] for tag, attrs in parsed.tags if tag == 'g' and attrs.get('class') == 'bar']
    assert bars == ['A', 'B', 'A']
    segments = [(attrs['data-version'], attrs['data-count'], attrs['fill']) for tag, attrs in parsed.tags if tag == 'rect']
    assert segments[:3] == [('1.4.120', '1', report_html.BEHIND_COLORS[1]), ('1.5.178', '2', report_html.BEHIND_COLORS[0]),
                            ('1.6.201', '2', report_html.NEWEST_COLOR)]
    attention = page.split('id="attention-table"')[1].split('</table>')[0]
    assert re.findall(r'<tr><td>([^<]+)', attention) == ['bad', 'off', 'o1', 'o2', 'x1']  # failed, offline, then outdated
    assert 'failed last upgrade, outdated' in attention
    table = page.split('id="device-table"')[1]
    assert sorted(re.findall(r'<tr class="s-\w+"><td>([^<]+)', table)) == sorted(d['id'] for d in DEVICES)
    assert '<tr class="s-failed"><td>bad<td>' in table


def test_generated_may_be_a_datetime():
    page = report_html.to_html(DEVICES, generated=datetime.datetime(2026, 12, 1, 10, 0, 5, 123, tzinfo=datetime.timezone.utc))
    assert 'Generated 2026-12-01 10:00:05+00:00, 7 device(s)' in page


def test_no_device_needs_attention():
    page = report_html.to_html([dev('c1', '1.6.201', '1.6.201')])
    assert 'Needs attention: none' in page and '100.0%' in page


def test_ten_thousand_devices_render_and_cap_the_attention_list():
    # How long it takes is a figure of tests/benchmark/report_render.py, not a test.
    devices = fleet(10000)
    page = report_html.to_html(devices)
    assert page.count('<tr class="s-') == 10000
    attention = page.split('id="attention-table"')[1].split('</table>')[0]
    assert attention.count('<tr><td>') == report_html.ATTENTION_LIMIT
    flagged = len(report_html.attention(report_html.rows(devices)))
    assert '... and %d more device(s) needing attention' % (flagged - report_html.ATTENTION_LIMIT) in page
    assert len(page.encode('utf-8')) < 3 * 1024 * 1024


@pytest.mark.parametrize('devices, title, generated, message', [
    ('not a list', 'x', None, "expected the devices list of firmware_info, got str 'not a list'"),
    ([{'id': 'a'}, 'SN1'], 'x', None, "devices\\[1\\] is not a firmware_info device .*'SN1'"),
    ([{'name': 'no id'}], 'x', None, "devices\\[0\\] is not a firmware_info device .*'no id'"),
    ([], '', None, "title '' is not valid"),
    ([], 'x', 1234, "generated 1234 is not valid"),
])
def test_bad_input_names_the_bad_value(devices, title, generated, message):
    with pytest.raises(ValueError, match=message):
        report_html.to_html(devices, title, generated)


def test_report_forms():
    assert report_html.report(DEVICES, 'html').startswith('<!DOCTYPE html>')
    assert report_html.report(DEVICES, 'summary')['devices'] == 7
    with pytest.raises(ValueError, match="form 'pdf' is not known: use one of rows, table, csv, summary, html"):
        report_html.report(DEVICES, 'pdf')
    with pytest.raises(ValueError, match="limit 'many' is not a number"):
        report_html.report(DEVICES, 'table', 'many')
