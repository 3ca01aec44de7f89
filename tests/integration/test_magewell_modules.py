# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""firmware_info and firmware_upgrade for platform magewell, through ansible-playbook, against the emulator."""

import hashlib

import pytest

from conftest import PASSWORD, run_bad_input, task  # pylint: disable=import-error

UPGRADE_START = 'POST /sc_cloud/upgrade/start'
LOGIN = 'POST /sc_cloud/login'


def online(emulator, count, outdated=True):
    scenarios = emulator.scenarios()
    pool = scenarios['outdated_online_devices'] if outdated else scenarios['current_online_devices']
    assert len(pool) >= count, scenarios
    return pool[:count]


def latest_for(emulator, device_id):
    device = emulator.device(device_id)
    return emulator.scenarios()['latest_by_product']['%s/%s' % (device['product'], device['hardware_version'])]['version']


def by_id(entries):
    return dict((entry['id'], entry) for entry in entries)


def test_info_reports_catalog_and_devices(emulator, playbook):
    ids = online(emulator, 2) + online(emulator, 1, outdated=False)
    run = playbook([task('fleetota.cloud.firmware_info', devices=ids)], connection=emulator.connection())
    assert run.rc == 0, run.output
    out = run.data['out']
    assert out['changed'] is False
    devices = by_id(out['devices'])
    assert [d['id'] for d in out['devices']] == ids
    for device_id in ids:
        truth = emulator.device(device_id)
        assert devices[device_id]['current_version'] == truth['firmware_version']
        assert devices[device_id]['product'] == truth['product']
        assert devices[device_id]['latest_version'] == latest_for(emulator, device_id)
    assert devices[ids[0]]['upgrade_available'] is True
    assert devices[ids[2]]['upgrade_available'] is False
    assert out['firmwares'] and all(fw['released'] for fw in out['firmwares'])
    assert emulator.writes() == {}


def test_info_include_unreleased_shows_test_versions(emulator, playbook):
    run = playbook([task('fleetota.cloud.firmware_info', register='released'),
                    task('fleetota.cloud.firmware_info', register='everything', include_unreleased=True)],
                   keep=('released', 'everything'), connection=emulator.connection())
    assert run.rc == 0, run.output
    released = run.data['released']['firmwares']
    everything = run.data['everything']['firmwares']
    assert len(everything) > len(released)
    assert any(not fw['released'] for fw in everything)
    truth = emulator.control('GET', '/firmwares?platform=magewell')
    assert len(everything) == len(truth)


def test_check_mode_plans_and_sends_no_write(emulator, playbook):
    ids = online(emulator, 3)
    run = playbook([task('fleetota.cloud.firmware_upgrade', devices=ids, version='latest')], connection=emulator.connection(),
                   check=True, args=('--diff',))
    assert run.rc == 0, run.output
    out = run.data['out']
    assert out['changed'] is True
    assert [d['status'] for d in out['devices']] == ['would_upgrade'] * 3
    assert emulator.count(UPGRADE_START) == 0
    assert all(emulator.device(i)['upgrade_count'] == 0 for i in ids)
    assert ids[0] in run.stdout and '+%s: %s' % (ids[0], latest_for(emulator, ids[0])) in run.stdout  # the diff


def test_upgrade_waits_then_second_run_changes_nothing(emulator, playbook):
    ids = online(emulator, 4)
    targets = dict((i, latest_for(emulator, i)) for i in ids)
    upgrade = task('fleetota.cloud.firmware_upgrade', ignore_errors=False, devices=ids, version='latest', poll_interval=0.5, wait_timeout=60)
    run = playbook([upgrade], connection=emulator.connection())
    assert run.rc == 0, run.output
    out = run.data['out']
    assert out['changed'] is True
    assert out['summary']['succeeded'] == 4
    for device_id in ids:
        assert emulator.device(device_id)['firmware_version'] == targets[device_id]
        assert by_id(out['devices'])[device_id]['current_version'] == targets[device_id]
    starts = emulator.count(UPGRADE_START)
    groups = set((emulator.device(i)['family'], emulator.device(i)['product'], emulator.device(i)['hardware_version']) for i in ids)
    assert starts == len(groups)   # one request per family + model + hardware group

    again = playbook([upgrade], connection=emulator.connection())
    assert again.rc == 0, again.output
    assert again.data['out']['changed'] is False
    assert again.recap()['changed'] == '0'
    assert again.data['out']['summary']['already_current'] == 4
    assert emulator.count(UPGRADE_START) == starts


def test_downgrade_refused_unless_allowed(emulator, playbook):
    device_id = online(emulator, 1, outdated=False)[0]
    older = emulator.scenarios()['older_version_by_device'][device_id] if 'older_version_by_device' in emulator.scenarios() else None
    if older is None:
        versions = sorted((fw['version'] for fw in emulator.control('GET', '/firmwares?platform=magewell')
                           if fw['product'] == emulator.device(device_id)['product']
                           and fw['hardware_version'] == emulator.device(device_id)['hardware_version'] and fw['released']),
                          key=lambda v: [int(p) for p in v.split('.')])
        older = versions[0]
    run = playbook([task('fleetota.cloud.firmware_upgrade', register='refused', devices=[device_id], version=older),
                    task('fleetota.cloud.firmware_upgrade', register='allowed', devices=[device_id], version=older, allow_downgrade=True,
                         poll_interval=0.5, wait_timeout=60)],
                   keep=('refused', 'allowed'), connection=emulator.connection())
    assert run.rc == 0, run.output
    refused = run.data['refused']['devices'][0]
    assert (refused['action'], refused['status']) == ('downgrade_refused', 'skipped')
    assert 'allow_downgrade' in refused['msg']
    assert run.data['refused']['changed'] is False
    allowed = run.data['allowed']['devices'][0]
    assert allowed['status'] == 'succeeded' and allowed['current_version'] == older
    assert emulator.device(device_id)['firmware_version'] == older


def test_incompatible_hardware_is_reported_and_skipped(emulator, playbook):
    scenario = emulator.scenarios()['incompatible']
    ids = [scenario['compatible_device'], scenario['incompatible_device']]
    emulator.set_devices(ids, online=True)
    run = playbook([task('fleetota.cloud.firmware_upgrade', devices=ids, version=scenario['version'], poll_interval=0.5, wait_timeout=60)],
                   connection=emulator.connection())
    assert run.rc == 0, run.output
    devices = by_id(run.data['out']['devices'])
    assert devices[ids[1]]['action'] == 'incompatible' and devices[ids[1]]['status'] == 'skipped'
    assert 'not in the catalog' in devices[ids[1]]['msg']
    assert devices[ids[0]]['status'] in ('succeeded', 'already_current')
    assert emulator.device(ids[1])['upgrade_count'] == 0


def test_session_expiry_mid_run_logs_in_again(emulator, playbook):
    ids = online(emulator, 2)
    emulator.config(session_ttl=1, upgrade_seconds=3)
    run = playbook([task('fleetota.cloud.firmware_upgrade', devices=ids, version='latest', poll_interval=1.5, wait_timeout=60)],
                   connection=emulator.connection())
    assert run.rc == 0, run.output
    assert run.data['out']['summary']['succeeded'] == 2
    assert emulator.count(LOGIN) >= 2


def test_5xx_429_and_dropped_connections_are_retried(emulator, playbook):
    ids = online(emulator, 2)
    emulator.faults(
        {'kind': 'error', 'status': 503, 'path': '/sc_cloud/scapi/get-dev', 'times': 2},
        {'kind': 'rate_limit', 'retry_after': 1, 'path': '/sc_cloud/scapi/get-all-firmwares', 'times': 2},
        {'kind': 'drop', 'path': '/sc_cloud/scapi/get-dev', 'times': 1},
    )
    run = playbook([task('fleetota.cloud.firmware_info', devices=ids)], connection=emulator.connection())
    assert run.rc == 0, run.output
    out = run.data['out']
    assert [d['id'] for d in out['devices']] == ids
    assert out['api_calls'] >= 5 + 1 + 1 + 2
    assert emulator.control('GET', '/faults')['rules'] == [] or all(r.get('times', 0) == 0 for r in emulator.control('GET', '/faults')['rules'])


def test_one_device_failing_while_the_rest_succeed(emulator, playbook):
    ids = online(emulator, 3)
    emulator.set_devices([ids[1]], behaviour='fail')
    run = playbook([task('fleetota.cloud.firmware_upgrade', devices=ids, version='latest', poll_interval=0.5, wait_timeout=60)],
                   connection=emulator.connection())
    out = run.data['out']
    assert out['failed'] is True and run.recap()['ignored'] == '1'
    devices = by_id(out['devices'])
    assert devices[ids[0]]['status'] == 'succeeded' and devices[ids[2]]['status'] == 'succeeded'
    assert devices[ids[1]]['status'] == 'failed'
    assert '1 of 3 device(s) did not complete' in out['msg'] and ids[1] in out['msg']
    assert out['summary'] == dict(out['summary'], succeeded=2, failed=1)


def test_hanging_upgrade_times_out(emulator, playbook):
    ids = online(emulator, 1)
    emulator.set_devices(ids, behaviour='hang')
    run = playbook([task('fleetota.cloud.firmware_upgrade', devices=ids, version='latest', poll_interval=0.5, wait_timeout=3)],
                   connection=emulator.connection())
    out = run.data['out']
    assert out['failed'] is True and out['devices'][0]['status'] == 'timed_out'
    assert 'wait_timeout=3s' in out['msg']


def test_no_wait_then_rerun_waits_without_restarting(emulator, playbook):
    ids = online(emulator, 2)
    emulator.config(upgrade_seconds=4)
    run = playbook([task('fleetota.cloud.firmware_upgrade', register='first', devices=ids, version='latest', wait=False),
                    task('fleetota.cloud.firmware_upgrade', register='second', devices=ids, version='latest', poll_interval=0.5, wait_timeout=60)],
                   keep=('first', 'second'), connection=emulator.connection())
    assert run.rc == 0, run.output
    assert [d['status'] for d in run.data['first']['devices']] == ['started', 'started']
    assert [d['status'] for d in run.data['second']['devices']] == ['succeeded', 'succeeded']
    assert all(emulator.device(i)['upgrade_count'] == 1 for i in ids)


def test_offline_device_is_reported_failed_not_hidden(emulator, playbook):
    ids = online(emulator, 2)
    emulator.set_devices([ids[0]], online=False)
    run = playbook([task('fleetota.cloud.firmware_upgrade', devices=ids, version='latest', poll_interval=0.5, wait_timeout=60)],
                   connection=emulator.connection())
    devices = by_id(run.data['out']['devices'])
    assert devices[ids[0]]['status'] == 'failed' and 'offline' in devices[ids[0]]['msg']
    assert devices[ids[1]]['status'] == 'succeeded'


def test_non_admin_user_gets_a_clear_permission_error(emulator, playbook):
    ids = online(emulator, 1)
    run = playbook([task('fleetota.cloud.firmware_upgrade', devices=ids, version='latest')],
                   connection=emulator.connection(username='viewer', password='viewer'))
    out = run.data['out']
    assert out['failed'] is True
    assert 'administrator rights' in out['devices'][0]['msg']
    assert emulator.device(ids[0])['upgrade_count'] == 0


def test_wrong_password_is_a_clear_error_without_the_secret_even_at_vvvv(emulator, playbook):
    wrong = 'Wr0ng-Pa55-91b3'
    run = playbook([task('fleetota.cloud.firmware_info', devices=online(emulator, 1))],
                   connection=emulator.connection(password=wrong), args=('-vvvv',))
    out = run.data['out']
    assert out['failed'] is True
    assert 'password incorrect' in out['msg'] and 'Admin' in out['msg']
    for secret in (wrong, hashlib.md5(wrong.encode()).hexdigest(), PASSWORD, hashlib.md5(PASSWORD.encode()).hexdigest()):
        assert secret not in run.output


def test_good_run_at_vvvv_leaks_no_secret(emulator, playbook):
    run = playbook([task('fleetota.cloud.firmware_upgrade', devices=online(emulator, 1), version='latest', poll_interval=0.5)],
                   connection=emulator.connection(), args=('-vvvv', '--diff'))
    assert run.rc == 0, run.output
    assert PASSWORD not in run.output
    assert hashlib.md5(PASSWORD.encode()).hexdigest() not in run.output


def test_connection_from_environment(emulator, playbook):
    ids = online(emulator, 1)
    env = {'FLEETOTA_PLATFORM': 'magewell', 'FLEETOTA_ENDPOINT': emulator.url, 'FLEETOTA_USERNAME': 'Admin', 'FLEETOTA_PASSWORD': PASSWORD}
    run = playbook([task('fleetota.cloud.firmware_info', devices=ids)], env=env)
    assert run.rc == 0, run.output
    assert run.data['out']['devices'][0]['id'] == ids[0]


BAD_INPUT = [
    ('unknown platform', 'firmware_info', {'platform': 'nimbus'}, {}, 'got: nimbus'),  # the list of choices grows with the platforms
    ('missing password', 'firmware_info', {'password': None}, {}, 'platform magewell needs password'),
    ('endpoint not a URL', 'firmware_info', {'endpoint': 'cloud.example.com:8080'}, {}, "endpoint 'cloud.example.com:8080' is not a URL"),
    ('empty devices', 'firmware_upgrade', {}, {'devices': [], 'version': 'latest'}, 'devices is empty'),
    ('unknown device', 'firmware_upgrade', {}, {'devices': ['NOPE-0001'], 'version': 'latest'}, 'not found on magewell: NOPE-0001'),
    ('unparsable version', 'firmware_upgrade', {}, {'devices': ['@0'], 'version': 'one.two'}, "'one.two' is not a firmware version"),
    ('version not in catalog', 'firmware_upgrade', {}, {'devices': ['@0'], 'version': '9.9.9'}, 'version 9.9.9 is not in the magewell catalog'),
    ('both version and id', 'firmware_upgrade', {}, {'devices': ['@0'], 'version': 'latest', 'firmware_id': '1'},
     'parameters are mutually exclusive: version|firmware_id'),
    ('neither version nor id', 'firmware_upgrade', {}, {'devices': ['@0']}, 'one of the following is required: version, firmware_id'),
    ('firmware id not in catalog', 'firmware_upgrade', {}, {'devices': ['@0'], 'firmware_id': '99999'}, 'firmware_id 99999 is not in the magewell catalog'),
    ('non-numeric wait_timeout', 'firmware_upgrade', {}, {'devices': ['@0'], 'version': 'latest', 'wait_timeout': 'soon'}, 'wait_timeout'),
]


def test_bad_input_gets_a_clear_error_and_no_write(emulator, playbook):
    device_id = online(emulator, 1)[0]
    run = run_bad_input(playbook, BAD_INPUT, emulator.connection, device_id)
    assert emulator.count(UPGRADE_START) == 0
    assert emulator.device(device_id)['upgrade_count'] == 0
    assert PASSWORD not in run.output


@pytest.mark.parametrize('param', ['poll_interval', 'wait_timeout'])
def test_zero_durations_are_refused(emulator, playbook, param):
    run = playbook([task('fleetota.cloud.firmware_upgrade', devices=online(emulator, 1), version='latest', **{param: 0})],
                   connection=emulator.connection())
    assert run.data['out']['failed'] is True
    assert "%s '0.0' is not valid" % param in run.data['out']['msg']
    assert emulator.count(UPGRADE_START) == 0
