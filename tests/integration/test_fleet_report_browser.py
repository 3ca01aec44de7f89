# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The HTML fleet report in a real browser: what a reader sees matches the emulator's truth.

Headless Chromium (Debian's `chromium`, installed by .ci/run) opens the fleet-report.html that
the inventory_report playbook wrote, and the tests read the rendered page: the compliance
figure, the chart, the attention list and the table; they sort and filter it the way a reader
would, and save a screenshot as an artifact (FLEETOTA_TEST_ARTIFACTS, else pytest's tmp_path).
"""

import json
import os
import pathlib
import shutil
import subprocess

import pytest

from chromium import Chromium, find_chromium  # pylint: disable=import-error
from conftest import PASSWORD, ansible_env, inventory_file, task  # pylint: disable=import-error

CHROMIUM = find_chromium()

if CHROMIUM is None and os.environ.get('FLEETOTA_REQUIRE_BROWSER') == '1':
    raise RuntimeError('FLEETOTA_REQUIRE_BROWSER=1 but no chromium is installed: .ci/run installs it with apt-get')

pytestmark = pytest.mark.skipif(CHROMIUM is None, reason='chromium is not installed (apt-get install chromium; .ci/run does it)')

# What the page shows, read from the rendered DOM after the page's script ran. Table cells are
# read as textContent: innerText would lay out each of 10,000 rows that the page lets the browser
# skip until scrolled to (content-visibility), and a cell holds nothing hidden.
READ_PAGE = '''(() => {
  const text = (el) => el ? el.innerText.trim() : null;
  const cells = (selector, columns) => Array.from(document.querySelectorAll(selector + ' tbody tr'))
    .filter((row) => !row.hidden).map((row) => columns.map((i) => row.cells[i].textContent.trim()));
  return {
    title: document.title,
    ready: document.getElementById('device-table').getAttribute('data-ready'),
    compliance: text(document.getElementById('compliance-percent')),
    groups: Array.from(document.querySelectorAll('svg#version-chart g.bar-group')).map((group) => ({
      product: group.getAttribute('data-product'),
      visible: group.getBoundingClientRect().width > 0,
      bars: Array.from(group.querySelectorAll('g.bar')).map((bar) => ({
        hardware: bar.getAttribute('data-hardware'),
        segments: Array.from(bar.querySelectorAll('rect.segment')).map((rect) => [rect.getAttribute('data-version'),
          Number(rect.getAttribute('data-count')), rect.getBoundingClientRect().width])}))})),
    attention: cells('#attention-table', [0, 5]),
    table: cells('#device-table', [0, 5, 7]),
    shown: text(document.getElementById('shown')),
  };
})()'''

SORT_BY = '''(() => {
  const head = document.querySelector('#device-table th[data-key="%s"]');
  const started = performance.now();
  head.click();
  document.body.offsetHeight;  // the layout is part of what the reader waits for
  return {ms: performance.now() - started, sort: head.getAttribute('aria-sort'),
          column: Array.from(document.querySelectorAll('#device-table tbody tr')).map((row) => row.cells[%d].textContent.trim())};
})()'''

TYPE_FILTER = '''new Promise((done) => {
  const box = document.getElementById('filter');
  box.value = %s;
  box.dispatchEvent(new Event('input'));
  setTimeout(() => done(Array.from(document.querySelectorAll('#device-table tbody tr')).filter((row) => !row.hidden)
    .map((row) => row.cells[0].textContent.trim())), 500);
})'''


def artifacts_dir(tmp_path):
    explicit = os.environ.get('FLEETOTA_TEST_ARTIFACTS')
    path = pathlib.Path(explicit) if explicit else tmp_path
    path.mkdir(parents=True, exist_ok=True)
    return path


def version_key(text):
    return tuple(int(part) for part in text.split('.'))


def compliance_of(truth, latest):
    on_newest = sum(1 for device in truth if device['firmware_version'] == latest['%s/%s' % (device['product'], device['hardware_version'])]['version'])
    return round(100.0 * on_newest / len(truth), 1)


def test_a_reader_finds_compliance_chart_and_outdated_devices(emulator, playbook, tmp_path):
    outdated = emulator.scenarios()['outdated_online_devices']
    failing, known_outdated = outdated[0], outdated[1]
    # A real failed upgrade, so the report has one to show.
    emulator.set_devices([failing], behaviour='fail')
    upgrade = playbook([task('fleetota.cloud.firmware_upgrade', devices=[failing], version='latest', poll_interval=0.3, wait_timeout=60)],
                       connection=emulator.connection())
    assert upgrade.data['out']['devices'][0]['status'] == 'failed', upgrade.output

    inventory = inventory_file(tmp_path, platform='magewell', endpoint=emulator.url, username='Admin')
    env = {'FLEETOTA_PLATFORM': 'magewell', 'FLEETOTA_ENDPOINT': emulator.url, 'FLEETOTA_USERNAME': 'Admin', 'FLEETOTA_PASSWORD': PASSWORD}
    proc = subprocess.run(['ansible-playbook', '-i', str(inventory), 'fleetota.cloud.inventory_report', '-e', 'report_dir=%s' % tmp_path,
                           '-e', json.dumps({'report_title': 'Lobby <encoders>'})], capture_output=True, text=True, env=ansible_env(env), timeout=300,
                          cwd=str(tmp_path), check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert PASSWORD not in proc.stdout + proc.stderr
    page = tmp_path / 'fleet-report.html'
    assert 'fleet-report.html' in proc.stdout and PASSWORD not in page.read_text()

    truth = emulator.devices()
    scenarios = emulator.scenarios()
    offline = [device['id'] for device in truth if not device['online']]
    assert offline, 'the emulator fleet was expected to have offline devices'
    artifacts = artifacts_dir(tmp_path)
    with Chromium(CHROMIUM, tmp_path / 'profile') as browser:
        browser.open(page.as_uri())
        seen = browser.evaluate(READ_PAGE)
        browser.screenshot(artifacts / 'fleet-report.png')

        assert seen['ready'] == 'true' and browser.errors == []
        assert seen['title'] == 'Lobby <encoders>'
        # The compliance figure is the one computed from the emulator's own truth.
        assert seen['compliance'] == '%s%%' % compliance_of(truth, scenarios['latest_by_product'])
        # One bar group per product, one bar per hardware, segments counting every device.
        products = sorted(set(str(device['product']) for device in truth))
        assert sorted(group['product'] for group in seen['groups']) == products and all(group['visible'] for group in seen['groups'])
        for group in seen['groups']:
            hardware = sorted(set(d['hardware_version'] for d in truth if str(d['product']) == group['product']))
            assert [stack['hardware'] for stack in group['bars']] == hardware
        counts = {}
        for group in seen['groups']:
            for stack in group['bars']:
                for version, count, width in stack['segments']:
                    assert width > 0
                    key = (group['product'], stack['hardware'], version)
                    counts[key] = counts.get(key, 0) + count
        expected = {}
        for device in truth:
            key = (str(device['product']), device['hardware_version'], device['firmware_version'])
            expected[key] = expected.get(key, 0) + 1
        assert counts == expected
        # The devices that need attention, each with its reason.
        why = dict(seen['attention'])
        assert 'failed last upgrade' in why[failing]
        assert why[known_outdated] == 'outdated'
        assert all('offline' in why[device_id] for device_id in offline)
        # Every device in the table, the known outdated one marked so.
        table = dict((row[0], row) for row in seen['table'])
        assert sorted(table) == sorted(device['id'] for device in truth) and seen['shown'] == '%d of %d shown' % (len(truth), len(truth))
        assert table[known_outdated][2] == 'outdated' and table[failing][2] == 'failed'

        # Sorting by the current version, then the other way round.
        ascending = browser.evaluate(SORT_BY % ('current_version', 5))
        assert ascending['sort'] == 'ascending' and ascending['column'] == sorted(ascending['column'], key=version_key)
        descending = browser.evaluate(SORT_BY % ('current_version', 5))
        assert descending['sort'] == 'descending' and descending['column'] == sorted(ascending['column'], key=version_key, reverse=True)
        # Filtering for the known outdated device finds it alone.
        assert browser.evaluate(TYPE_FILTER % json.dumps(known_outdated)) == [known_outdated]
        assert browser.errors == []
    if artifacts != tmp_path:
        shutil.copy(str(page), str(artifacts / 'fleet-report.html'))
    assert (artifacts / 'fleet-report.png').read_bytes()[:8] == b'\x89PNG\r\n\x1a\n'


def big_fleet(count):
    lines = {'770': {'A': ['1.4.120', '1.5.178', '1.6.201'], 'B': ['1.4.120', '1.5.178']}, '780': {'A': ['2.0.1', '2.0.3', '2.1.0', '2.2.0']},
             '1100': {'C': ['3.1.0', '3.2.0']}}
    keys = [(product, hardware) for product in sorted(lines) for hardware in sorted(lines[product])]
    devices = []
    for n in range(count):
        product, hardware = keys[n % len(keys)]
        versions = lines[product][hardware]
        current = versions[-1] if n % 3 else versions[n % len(versions)]
        devices.append({'id': 'SN%06d' % n, 'name': 'encoder %d <hall> & "stage"' % n, 'product': product, 'hardware_version': hardware,
                        'online': n % 41 != 0, 'current_version': current, 'latest_version': versions[-1], 'upgrade_available': current != versions[-1],
                        'upgrading': False, 'last_upgrade_failed': n % 113 == 0})
    return devices


def test_ten_thousand_devices_stay_readable(playbook, tmp_path):
    """Rendered through the filter in a real play, then loaded, sorted and filtered in the browser."""
    devices = tmp_path / 'devices.json'
    devices.write_text(json.dumps(big_fleet(10000)))
    page = tmp_path / 'fleet-10000.html'
    run = playbook([{
        'name': 'write the report', 'ansible.builtin.copy': {
            'dest': str(page), 'mode': '0644',
            'content': "{{ lookup('ansible.builtin.file', '%s') | from_json | fleetota.cloud.fleet_report('html', generated=now(utc=true)) }}" % devices}}])
    assert run.rc == 0, run.output
    size = page.stat().st_size
    assert size < 3 * 1024 * 1024
    artifacts = artifacts_dir(tmp_path)
    with Chromium(CHROMIUM, tmp_path / 'profile') as browser:
        load = browser.open(page.as_uri())
        seen = browser.evaluate(READ_PAGE)
        assert seen['ready'] == 'true' and len(seen['table']) == 10000 and len(seen['attention']) == 200
        sort = browser.evaluate(SORT_BY % ('id', 0))
        assert sort['column'] == sorted(sort['column'])
        assert browser.evaluate(TYPE_FILTER % json.dumps('SN004242')) == ['SN004242']
        browser.screenshot(artifacts / 'fleet-report-10000.png')
        assert browser.errors == []
    # For the record only (run with -s to see it): timings are no test, the benchmark gives them.
    print('10,000 devices: %d bytes, page load %.2f s, sort %.0f ms' % (size, load, sort['ms']))
