# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""firmware_info and firmware_upgrade for platform tuya, what only it does, through ansible-playbook, against the emulator.

The behaviour every platform shares: test_platform_behaviour.py."""

import json
import subprocess

import pytest

from conftest import ansible_env, task  # pylint: disable=import-error
from platforms import Tuya  # pylint: disable=import-error

TUYA = Tuya()


def by_id(entries):
    return dict((entry['id'], entry) for entry in entries)


@pytest.fixture
def cache_file(tmp_path):
    return tmp_path / 'cache' / 'tuya-tokens.json'


@pytest.fixture
def conn(emulator, cache_file):
    def make(**overrides):
        values = dict(emulator.connection(platform='tuya'), token_cache=str(cache_file))
        values.update(overrides)
        return values
    return make


def test_older_version_no_longer_offered_is_a_refused_downgrade_and_cannot_be_forced(emulator, playbook, conn):
    device_id = TUYA.online(emulator, 1, outdated=False)[0]
    current = TUYA.device(emulator, device_id)['firmware_version']
    older = TUYA.scenarios(emulator)['older_by_product'][TUYA.device(emulator, device_id)['product']][0]
    run = playbook([task('fleetota.cloud.firmware_upgrade', register='refused', devices=[device_id], version=older),
                    task('fleetota.cloud.firmware_upgrade', register='allowed', devices=[device_id], version=older, allow_downgrade=True)],
                   keep=('refused', 'allowed'), connection=conn())
    # Tuya offers a device only what it can upgrade to: the older version is gone, the device is simply past it.
    refused = run.data['refused']
    assert refused.get('failed') is not True and refused['changed'] is False, refused
    entry = refused['devices'][0]
    assert (entry['action'], entry['status']) == ('downgrade_refused', 'skipped')
    assert (entry['target_version'], entry['current_version']) == (older, current)
    # Asked to downgrade, it would need the version Tuya no longer offers.
    allowed = run.data['allowed']
    assert allowed['failed'] is True
    assert 'version %s is not in the tuya catalog' % older in allowed['msg'] and device_id in allowed['msg']
    assert emulator.writes() == {}
    assert TUYA.device(emulator, device_id)['upgrade_count'] == 0


def test_force_cannot_reinstall_and_says_why(emulator, playbook, conn):
    device_id = TUYA.online(emulator, 1, outdated=False)[0]
    forced = task('fleetota.cloud.firmware_upgrade', devices=[device_id], version='latest', force=True)
    for check in (True, False):
        out = playbook([forced], connection=conn(), check=check).data['out']
        assert out['failed'] is True and out['devices'][0]['status'] == 'failed'
        assert 'cannot re-install the running version' in out['devices'][0]['msg']
    assert emulator.writes() == {}


def test_device_that_cannot_upgrade_reports_the_remind_text(emulator, playbook, conn):
    found = TUYA.scenarios(emulator)
    blocked = found['blocked_devices'][0]
    ids = [blocked] + TUYA.online(emulator, 1)
    check = playbook([task('fleetota.cloud.firmware_upgrade', devices=ids, version='latest')], connection=conn(), check=True)
    planned = by_id(check.data['out']['devices'])
    assert planned[blocked]['status'] == 'failed' and found['blocked_remind'] in planned[blocked]['msg']   # check mode says it too
    assert planned[ids[1]]['status'] == 'would_upgrade'
    run = playbook([task('fleetota.cloud.firmware_upgrade', devices=ids, version='latest', poll_interval=0.5, wait_timeout=60)],
                   connection=conn())
    out = run.data['out']
    devices = by_id(out['devices'])
    assert devices[blocked]['status'] == 'failed' and found['blocked_remind'] in devices[blocked]['msg']
    assert devices[ids[1]]['status'] == 'succeeded'
    assert TUYA.upgrade_requests(emulator) == 1
    assert '1 of 2 device(s) did not complete' in out['msg']


def test_client_stays_under_the_published_rate_with_high_concurrency(emulator, playbook, conn):
    ids = TUYA.scenarios(emulator)['always_online_devices'] + TUYA.online(emulator, 20)
    ids = list(dict.fromkeys(ids))[:25]
    run = playbook([task('fleetota.cloud.firmware_info', devices=ids)], connection=conn(max_concurrency=32))
    assert run.rc == 0, run.output
    assert TUYA.scenarios(emulator)['rate_limited'] == 0
    times = sorted(entry['time'] for entry in emulator.control('GET', '/log?limit=1000') if TUYA.FIRMWARE_RE.match('GET ' + entry['path']))
    assert len(times) == len(ids)
    # 10 per second per API: 25 reads take at least ~2.4 s, and no second sees more than 10 (+1 of burst, +1 for a late thread).
    assert times[-1] - times[0] >= 2.0
    assert max(sum(1 for t in times if start <= t < start + 1.0) for start in times) <= 12


def test_over_limit_answers_are_backed_off_and_retried(emulator, playbook, conn):
    ids = list(dict.fromkeys(TUYA.scenarios(emulator)['always_online_devices'] + TUYA.online(emulator, 10)))[:16]
    run = playbook([task('fleetota.cloud.firmware_info', devices=ids)], connection=conn(max_concurrency=16, rate_limit=100))
    assert run.rc == 0, run.output
    assert TUYA.scenarios(emulator)['rate_limited'] > 0          # the client asked too fast on purpose
    assert [d['id'] for d in run.data['out']['devices']] == ids


def test_token_cache_off_writes_no_file(emulator, playbook, conn, cache_file):
    run = playbook([task('fleetota.cloud.firmware_info', devices=TUYA.online(emulator, 1))], connection=conn(token_cache='off'))
    assert run.rc == 0, run.output
    assert not cache_file.exists()


def test_parallel_runs_per_host_share_one_token(emulator, tmp_path, conn):
    """One module run per host, 6 forks at once: the cache file (locked while fetching) gives them one token."""
    ids = TUYA.online(emulator, 6)
    hosts = dict(('dev%d' % index, {'device': device_id}) for index, device_id in enumerate(ids))
    inventory = tmp_path / 'hosts.json'
    inventory.write_text(json.dumps({'all': {'hosts': hosts, 'vars': {'ansible_connection': 'local',
                                                                      'ansible_python_interpreter': '{{ ansible_playbook_python }}'}}}))
    play = [{'name': 'per host', 'hosts': 'all', 'gather_facts': False,
             'module_defaults': {'group/fleetota.cloud.firmware': conn()},
             'tasks': [{'name': 'check one device', 'fleetota.cloud.firmware_info': {'devices': ['{{ device }}']}}]}]
    path = tmp_path / 'play.yml'
    path.write_text(json.dumps(play))
    proc = subprocess.run(['ansible-playbook', '-i', str(inventory), '-f', '6', str(path)], capture_output=True, text=True,
                          env=ansible_env(), timeout=300, cwd=str(tmp_path), check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert emulator.count(TUYA.auth_request) == 1
    assert TUYA.matching(emulator, TUYA.FIRMWARE_RE) == 6
