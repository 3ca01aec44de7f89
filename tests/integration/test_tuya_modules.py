# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""firmware_info and firmware_upgrade for platform tuya, through ansible-playbook, against the emulator."""

import json
import os
import re
import stat
import subprocess

import pytest

from conftest import TUYA_ACCESS_ID, TUYA_SECRET, ansible_env, task  # pylint: disable=import-error

TOKEN = 'GET /v1.0/token'
START_RE = re.compile(r'^POST /v2\.0/cloud/thing/[^/]+/firmware/\d+$')
FIRMWARE_RE = re.compile(r'^GET /v2\.0/cloud/thing/[^/]+/firmware$')


def scenarios(emulator):
    return emulator.scenarios(platform='tuya')


def online(emulator, count, outdated=True):
    found = scenarios(emulator)
    pool = found['outdated_online_devices'] if outdated else found['current_online_devices']
    assert len(pool) >= count, found
    return pool[:count]


def device(emulator, device_id):
    return emulator.device(device_id, platform='tuya')


def latest_for(emulator, device_id):
    return scenarios(emulator)['latest_by_product'][device(emulator, device_id)['product']]


def release(text):
    return tuple(int(part) for part in text.split('.'))


def by_id(entries):
    return dict((entry['id'], entry) for entry in entries)


def starts(emulator):
    return sum(count for key, count in emulator.stats().items() if START_RE.match(key))


def count_matching(emulator, pattern):
    return sum(count for key, count in emulator.stats().items() if pattern.match(key))


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


def test_info_reports_devices_and_per_channel_firmware(emulator, playbook, conn):
    found = scenarios(emulator)
    ids = online(emulator, 2) + online(emulator, 1, outdated=False) + found['mcu_devices'][:1]
    run = playbook([task('fleetota.cloud.firmware_info', devices=ids)], connection=conn())
    assert run.rc == 0, run.output
    out = run.data['out']
    assert out['changed'] is False
    devices = by_id(out['devices'])
    assert [d['id'] for d in out['devices']] == ids
    for device_id in ids:
        truth = device(emulator, device_id)
        assert devices[device_id]['current_version'] == truth['firmware_version']
        assert devices[device_id]['product'] == truth['product']
        assert devices[device_id]['name'] == truth['name']
        assert devices[device_id]['latest_version'] == latest_for(emulator, device_id)
    assert devices[ids[0]]['upgrade_available'] is True
    assert devices[ids[2]]['upgrade_available'] is False
    firmware_ids = set(fw['id'] for fw in out['firmwares'])
    assert '%s:0:%s' % (ids[0], latest_for(emulator, ids[0])) in firmware_ids
    assert '%s:9:' % ids[3] in ' '.join(firmware_ids)    # the MCU channel is listed too
    assert emulator.writes() == {}
    # one batch query for the 4 ids, one firmware read per device, one token
    assert emulator.count(TOKEN) == 1
    assert count_matching(emulator, FIRMWARE_RE) == len(ids)
    assert out['api_calls'] == 1 + 1 + len(ids)


def test_check_mode_plans_and_sends_no_write(emulator, playbook, conn):
    ids = online(emulator, 3)
    run = playbook([task('fleetota.cloud.firmware_upgrade', devices=ids, version='latest')], connection=conn(), check=True, args=('--diff',))
    assert run.rc == 0, run.output
    out = run.data['out']
    assert out['changed'] is True
    assert [d['status'] for d in out['devices']] == ['would_upgrade'] * 3
    assert starts(emulator) == 0 and emulator.writes() == {}
    assert all(device(emulator, i)['upgrade_count'] == 0 for i in ids)
    assert '+%s: %s' % (ids[0], latest_for(emulator, ids[0])) in run.stdout


def test_upgrade_waits_then_second_run_changes_nothing_and_reuses_the_token(emulator, playbook, conn, cache_file):
    ids = online(emulator, 4)
    targets = dict((i, latest_for(emulator, i)) for i in ids)
    upgrade = task('fleetota.cloud.firmware_upgrade', ignore_errors=False, devices=ids, version='latest', poll_interval=0.5, wait_timeout=60)
    run = playbook([upgrade], connection=conn())
    assert run.rc == 0, run.output
    out = run.data['out']
    assert out['changed'] is True and out['summary']['succeeded'] == 4
    for device_id in ids:
        assert device(emulator, device_id)['firmware_version'] == targets[device_id]
        assert by_id(out['devices'])[device_id]['current_version'] == targets[device_id]
    assert starts(emulator) == 4    # one start per device and channel, as the API takes them
    assert out['jobs'] == []

    again = playbook([upgrade], connection=conn())
    assert again.rc == 0, again.output
    assert again.data['out']['changed'] is False and again.recap()['changed'] == '0'
    assert again.data['out']['summary']['already_current'] == 4
    assert starts(emulator) == 4
    # The token of the first run was cached and reused by the second: one token request in all.
    assert emulator.count(TOKEN) == 1
    mode = stat.S_IMODE(os.stat(str(cache_file)).st_mode)
    assert mode == 0o600
    content = cache_file.read_text()
    assert TUYA_SECRET not in content and TUYA_ACCESS_ID not in content
    assert len(json.loads(content)) == 1


def test_older_version_no_longer_offered_is_a_refused_downgrade_and_cannot_be_forced(emulator, playbook, conn):
    device_id = online(emulator, 1, outdated=False)[0]
    current = device(emulator, device_id)['firmware_version']
    older = scenarios(emulator)['older_by_product'][device(emulator, device_id)['product']][0]
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
    assert device(emulator, device_id)['upgrade_count'] == 0


def test_version_offered_to_one_device_only_is_incompatible_for_the_other(emulator, playbook, conn):
    # Another product's device on a version below the target: it is not offered the target (one past it is refused a downgrade).
    pool = [device(emulator, i) for i in online(emulator, 20)]
    latest = scenarios(emulator)['latest_by_product']
    outdated, other = next((a['id'], b['id']) for a in pool for b in pool
                           if a['product'] != b['product'] and release(b['firmware_version']) < release(latest[a['product']]))
    version = latest_for(emulator, outdated)
    run = playbook([task('fleetota.cloud.firmware_upgrade', devices=[outdated, other], version=version, poll_interval=0.5, wait_timeout=60)],
                   connection=conn())
    assert run.rc == 0, run.output
    devices = by_id(run.data['out']['devices'])
    assert devices[outdated]['status'] == 'succeeded'
    assert devices[other]['action'] == 'incompatible' and devices[other]['status'] == 'skipped'
    assert 'Tuya does not offer %s to device %s' % (version, other) in devices[other]['msg']
    assert device(emulator, other)['upgrade_count'] == 0


def test_force_cannot_reinstall_and_says_why(emulator, playbook, conn):
    device_id = online(emulator, 1, outdated=False)[0]
    forced = task('fleetota.cloud.firmware_upgrade', devices=[device_id], version='latest', force=True)
    for check in (True, False):
        out = playbook([forced], connection=conn(), check=check).data['out']
        assert out['failed'] is True and out['devices'][0]['status'] == 'failed'
        assert 'cannot re-install the running version' in out['devices'][0]['msg']
    assert emulator.writes() == {}


def test_device_that_cannot_upgrade_reports_the_remind_text(emulator, playbook, conn):
    found = scenarios(emulator)
    blocked = found['blocked_devices'][0]
    ids = [blocked] + online(emulator, 1)
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
    assert starts(emulator) == 1
    assert '1 of 2 device(s) did not complete' in out['msg']


def test_token_expiry_mid_run_gets_a_fresh_token_once(emulator, playbook, conn):
    ids = online(emulator, 2)
    emulator.config(session_ttl=1, upgrade_seconds=3)
    run = playbook([task('fleetota.cloud.firmware_upgrade', devices=ids, version='latest', poll_interval=1.5, wait_timeout=60)],
                   connection=conn())
    assert run.rc == 0, run.output
    assert run.data['out']['summary']['succeeded'] == 2
    assert emulator.count(TOKEN) >= 2


def test_wrong_secret_is_a_clear_auth_error_without_retry_storm_or_leak(emulator, playbook, conn, cache_file):
    wrong = 'Wr0ng-Tuya-Secret-77aa'
    run = playbook([task('fleetota.cloud.firmware_info', devices=online(emulator, 1))], connection=conn(secret_key=wrong), args=('-vvvv',))
    out = run.data['out']
    assert out['failed'] is True
    assert 'sign invalid' in out['msg'] and 'secret_key' in out['msg'] and TUYA_ACCESS_ID in out['msg']
    assert emulator.control('GET', '/stats')['total'] == 1     # the token request, refused once, not retried
    assert scenarios(emulator)['sign_refused'] == 1
    for secret in (wrong, TUYA_SECRET):
        assert secret not in run.output
    assert not cache_file.exists()


def test_good_run_at_vvvv_leaks_no_secret_nor_token(emulator, playbook, conn, cache_file):
    run = playbook([task('fleetota.cloud.firmware_upgrade', devices=online(emulator, 1), version='latest', poll_interval=0.5)],
                   connection=conn(), args=('-vvvv', '--diff'))
    assert run.rc == 0, run.output
    assert TUYA_SECRET not in run.output
    tokens = json.loads(cache_file.read_text())
    for entry in tokens.values():
        assert entry['access_token'] not in run.output and entry['refresh_token'] not in run.output


def test_client_stays_under_the_published_rate_with_high_concurrency(emulator, playbook, conn):
    ids = scenarios(emulator)['always_online_devices'] + online(emulator, 20)
    ids = list(dict.fromkeys(ids))[:25]
    run = playbook([task('fleetota.cloud.firmware_info', devices=ids)], connection=conn(max_concurrency=32))
    assert run.rc == 0, run.output
    assert scenarios(emulator)['rate_limited'] == 0
    times = sorted(entry['time'] for entry in emulator.control('GET', '/log?limit=1000') if FIRMWARE_RE.match('GET ' + entry['path']))
    assert len(times) == len(ids)
    # 10 per second per API: 25 reads take at least ~2.4 s, and no second sees more than 10 (+1 of burst, +1 for a late thread).
    assert times[-1] - times[0] >= 2.0
    assert max(sum(1 for t in times if start <= t < start + 1.0) for start in times) <= 12


def test_over_limit_answers_are_backed_off_and_retried(emulator, playbook, conn):
    ids = list(dict.fromkeys(scenarios(emulator)['always_online_devices'] + online(emulator, 10)))[:16]
    run = playbook([task('fleetota.cloud.firmware_info', devices=ids)], connection=conn(max_concurrency=16, rate_limit=100))
    assert run.rc == 0, run.output
    assert scenarios(emulator)['rate_limited'] > 0          # the client asked too fast on purpose
    assert [d['id'] for d in run.data['out']['devices']] == ids


def test_5xx_429_and_dropped_connections_are_retried(emulator, playbook, conn):
    ids = online(emulator, 2)
    emulator.faults(
        {'kind': 'error', 'status': 503, 'path': '/v2.0/cloud/thing/batch', 'times': 2},
        {'kind': 'rate_limit', 'retry_after': 1, 'path': '/firmware', 'times': 2},
        {'kind': 'drop', 'path': '/v1.0/token', 'times': 1},
    )
    run = playbook([task('fleetota.cloud.firmware_info', devices=ids)], connection=conn())
    assert run.rc == 0, run.output
    out = run.data['out']
    assert [d['id'] for d in out['devices']] == ids
    assert out['api_calls'] >= 1 + 1 + 2 + 1 + 2 + 2


def test_one_device_failing_while_the_rest_succeed(emulator, playbook, conn):
    ids = online(emulator, 3)
    emulator.set_devices([ids[1]], platform='tuya', behaviour='fail')
    run = playbook([task('fleetota.cloud.firmware_upgrade', devices=ids, version='latest', poll_interval=0.5, wait_timeout=60)],
                   connection=conn())
    out = run.data['out']
    assert out['failed'] is True and run.recap()['ignored'] == '1'
    devices = by_id(out['devices'])
    assert devices[ids[0]]['status'] == 'succeeded' and devices[ids[2]]['status'] == 'succeeded'
    assert devices[ids[1]]['status'] == 'failed' and 'upgrade_status 4' in devices[ids[1]]['msg']
    info = playbook([task('fleetota.cloud.firmware_info', devices=ids)], connection=conn()).data['out']
    assert [d['last_upgrade_failed'] for d in info['devices']] == [False, True, False]


def test_hanging_upgrade_times_out(emulator, playbook, conn):
    ids = online(emulator, 1)
    emulator.set_devices(ids, platform='tuya', behaviour='hang')
    run = playbook([task('fleetota.cloud.firmware_upgrade', devices=ids, version='latest', poll_interval=0.5, wait_timeout=3)],
                   connection=conn())
    out = run.data['out']
    assert out['failed'] is True and out['devices'][0]['status'] == 'timed_out'
    assert 'wait_timeout=3s' in out['msg'] and 'upgrading 20%' in out['msg']


def test_no_wait_then_rerun_waits_without_restarting(emulator, playbook, conn):
    ids = online(emulator, 2)
    emulator.config(upgrade_seconds=4)
    run = playbook([task('fleetota.cloud.firmware_upgrade', register='first', devices=ids, version='latest', wait=False),
                    task('fleetota.cloud.firmware_upgrade', register='second', devices=ids, version='latest', poll_interval=0.5, wait_timeout=60)],
                   keep=('first', 'second'), connection=conn())
    assert run.rc == 0, run.output
    assert [d['status'] for d in run.data['first']['devices']] == ['started', 'started']
    assert [d['status'] for d in run.data['second']['devices']] == ['succeeded', 'succeeded']
    assert all(device(emulator, i)['upgrade_count'] == 1 for i in ids)


def test_offline_device_is_reported_failed_not_hidden(emulator, playbook, conn):
    ids = online(emulator, 2)
    emulator.set_devices([ids[0]], platform='tuya', online=False)
    run = playbook([task('fleetota.cloud.firmware_upgrade', devices=ids, version='latest', poll_interval=0.5, wait_timeout=60)],
                   connection=conn())
    devices = by_id(run.data['out']['devices'])
    assert devices[ids[0]]['status'] == 'failed' and 'offline' in devices[ids[0]]['msg']
    assert devices[ids[1]]['status'] == 'succeeded'


def test_connection_from_environment(emulator, playbook, cache_file):
    ids = online(emulator, 1)
    env = {'FLEETOTA_PLATFORM': 'tuya', 'FLEETOTA_ENDPOINT': emulator.url, 'FLEETOTA_ACCESS_KEY': TUYA_ACCESS_ID,
           'FLEETOTA_SECRET_KEY': TUYA_SECRET, 'FLEETOTA_TOKEN_CACHE': str(cache_file), 'FLEETOTA_MAX_CONCURRENCY': '2'}
    run = playbook([task('fleetota.cloud.firmware_info', devices=ids)], env=env)
    assert run.rc == 0, run.output
    assert run.data['out']['devices'][0]['id'] == ids[0]
    assert cache_file.exists()


def test_token_cache_off_writes_no_file(emulator, playbook, conn, cache_file):
    run = playbook([task('fleetota.cloud.firmware_info', devices=online(emulator, 1))], connection=conn(token_cache='off'))
    assert run.rc == 0, run.output
    assert not cache_file.exists()


BAD_INPUT = [
    ('missing secret', {'secret_key': None}, {}, 'platform tuya needs secret_key'),
    ('bad device id', {}, {'devices': ['dev/../1']}, "device id 'dev/../1' is not a Tuya device id"),
    ('zero concurrency', {'max_concurrency': 0}, {}, "max_concurrency '0' is not valid"),
    ('negative rate', {'rate_limit': -1}, {}, "rate_limit '-1.0' is not valid"),
    ('unknown device', {}, {'devices': ['bfnotadevice000000']}, 'not found on tuya: bfnotadevice000000'),
    ('version not offered', {}, {'version': '9.9.9'}, 'version 9.9.9 is not in the tuya catalog'),
]


def test_bad_input_gets_a_clear_error_and_no_write(emulator, playbook, conn):
    device_id = online(emulator, 1)[0]
    tasks, names = [], []
    for index, (_label, connection, params, _message) in enumerate(BAD_INPUT):
        args = dict((k, v) for k, v in conn(**connection).items() if v is not None)
        args.update(dict({'devices': [device_id], 'version': 'latest'}, **params))
        names.append('bad%d' % index)
        tasks.append(task('fleetota.cloud.firmware_upgrade', register=names[-1], **args))
    run = playbook(tasks, keep=names)
    assert run.data is not None, run.output
    for index, (label, _connection, _params, message) in enumerate(BAD_INPUT):
        result = run.data['bad%d' % index]
        assert result['failed'] is True, label
        assert message in result['msg'], '%s: %s' % (label, result['msg'])
    assert emulator.writes() == {}
    assert TUYA_SECRET not in run.output


def test_parallel_runs_per_host_share_one_token(emulator, tmp_path, conn):
    """One module run per host, 6 forks at once: the cache file (locked while fetching) gives them one token."""
    ids = online(emulator, 6)
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
    assert emulator.count(TOKEN) == 1
    assert count_matching(emulator, FIRMWARE_RE) == 6
