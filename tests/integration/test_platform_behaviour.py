# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""firmware_info and firmware_upgrade on every platform, through ansible-playbook, against the emulator.

What every platform does the same way is said once here, run once per platform through its adapter (platforms.py).
Behaviour only one vendor has: test_<platform>_modules.py.
"""

import pytest

from conftest import run_bad_input, task  # pylint: disable=import-error
from platforms import ADAPTERS  # pylint: disable=import-error

UPGRADE = 'fleetota.cloud.firmware_upgrade'
INFO = 'fleetota.cloud.firmware_info'


@pytest.fixture(params=ADAPTERS, ids=[adapter.name for adapter in ADAPTERS])
def platform(request):
    reason = request.param.cannot.get(request.node.originalname)
    if reason:
        pytest.skip('%s: %s' % (request.param.name, reason))
    return request.param


@pytest.fixture
def conn(platform, emulator, tmp_path):
    def make(**overrides):
        return platform.connection(emulator, tmp_path, **overrides)
    return make


def by_id(entries):
    return dict((entry['id'], entry) for entry in entries)


def test_info_reports_devices_and_catalog(platform, emulator, playbook, conn):
    ids = platform.info_devices(emulator, platform.online(emulator, 3) + platform.online(emulator, 1, outdated=False))
    run = playbook([task(INFO, devices=ids)], connection=conn())
    assert run.rc == 0, run.output
    out = run.data['out']
    assert out['changed'] is False
    assert [d['id'] for d in out['devices']] == ids
    devices = by_id(out['devices'])
    for device_id in ids:
        truth = platform.device(emulator, device_id)
        assert devices[device_id]['current_version'] == truth['firmware_version']
        assert devices[device_id]['product'] == truth['product']
        assert devices[device_id]['name'] == truth['name']
        assert devices[device_id]['latest_version'] == platform.latest(emulator, device_id)
    assert devices[ids[0]]['upgrade_available'] is True
    assert devices[ids[3]]['upgrade_available'] is False
    assert out['firmwares'] and all(fw['released'] for fw in out['firmwares'])
    platform.assert_nothing_written(emulator)
    platform.check_info(emulator, out, ids)


def test_catalog_with_and_without_unreleased(platform, emulator, playbook, conn):
    product = platform.devices(emulator)[0]['product']
    run = playbook([task(INFO, register='released'),
                    task(INFO, register='everything', include_unreleased=True),
                    task(INFO, register='one', product=product, include_unreleased=True)],
                   keep=('released', 'everything', 'one'), connection=conn())
    assert run.rc == 0, run.output
    released = run.data['released']['firmwares']
    everything = run.data['everything']['firmwares']
    assert len(everything) > len(released)
    assert any(not fw['released'] for fw in everything)
    truth = emulator.control('GET', '/firmwares?platform=%s' % platform.name)
    assert sorted(fw['id'] for fw in everything) == sorted(fw['id'] for fw in truth)
    assert sorted(fw['id'] for fw in released) == sorted(fw['id'] for fw in truth if fw['released'])
    assert set(fw['product'] for fw in run.data['one']['firmwares']) == {product}
    platform.check_catalog(emulator, released, everything)


def test_check_mode_plans_and_sends_no_write(platform, emulator, playbook, conn):
    ids = platform.online(emulator, 3)
    run = playbook([task(UPGRADE, devices=ids, version='latest')], connection=conn(), check=True, args=('--diff',))
    assert run.rc == 0, run.output
    out = run.data['out']
    assert out['changed'] is True
    assert [d['status'] for d in out['devices']] == ['would_upgrade'] * 3
    assert out['jobs'] == []
    platform.assert_nothing_written(emulator)
    assert platform.upgrade_requests(emulator) == 0
    assert all(platform.device(emulator, i)['upgrade_count'] == 0 for i in ids)
    assert '+%s: %s' % (ids[0], platform.latest(emulator, ids[0])) in run.stdout   # the diff


def test_upgrade_waits_then_second_run_changes_nothing(platform, emulator, playbook, conn, tmp_path):
    ids = platform.online(emulator, 5)
    targets = dict((i, platform.latest(emulator, i)) for i in ids)
    upgrade = task(UPGRADE, ignore_errors=False, devices=ids, version='latest', poll_interval=0.5, wait_timeout=60)
    run = playbook([upgrade], connection=conn())
    assert run.rc == 0, run.output
    out = run.data['out']
    assert out['changed'] is True and out['summary']['succeeded'] == 5
    for device_id in ids:
        assert platform.device(emulator, device_id)['firmware_version'] == targets[device_id]
        assert by_id(out['devices'])[device_id]['current_version'] == targets[device_id]
    requests = platform.upgrade_requests(emulator)
    assert requests == platform.expected_requests(emulator, targets)

    again = playbook([upgrade], connection=conn())
    assert again.rc == 0, again.output
    assert again.data['out']['changed'] is False and again.recap()['changed'] == '0'
    assert again.data['out']['summary']['already_current'] == 5
    assert platform.upgrade_requests(emulator) == requests
    platform.check_upgrade(emulator, out, ids, tmp_path)


def test_downgrade_refused_unless_allowed(platform, emulator, playbook, conn):
    device_id = platform.online(emulator, 1, outdated=False, product=platform.one_job_product)[0]
    older = platform.older(emulator, device_id)
    run = playbook([task(UPGRADE, register='refused', devices=[device_id], version=older),
                    task(UPGRADE, register='allowed', devices=[device_id], version=older, allow_downgrade=True,
                         poll_interval=0.5, wait_timeout=60)],
                   keep=('refused', 'allowed'), connection=conn())
    assert run.rc == 0, run.output
    refused = run.data['refused']['devices'][0]
    assert (refused['action'], refused['status']) == ('downgrade_refused', 'skipped')
    assert 'allow_downgrade' in refused['msg'] and run.data['refused']['changed'] is False
    allowed = run.data['allowed']['devices'][0]
    assert allowed['status'] == 'succeeded' and allowed['current_version'] == older
    assert platform.device(emulator, device_id)['firmware_version'] == older


def test_incompatible_firmware_is_skipped(platform, emulator, playbook, conn):
    case = platform.incompatible(emulator)
    compatible, incompatible = case['ids']
    run = playbook([task(UPGRADE, devices=case['ids'], version=case['version'], poll_interval=0.5, wait_timeout=60)], connection=conn())
    assert run.rc == 0, run.output
    devices = by_id(run.data['out']['devices'])
    assert devices[incompatible]['action'] == 'incompatible' and devices[incompatible]['status'] == 'skipped'
    assert case['words'] in devices[incompatible]['msg']
    assert devices[compatible]['status'] in case['compatible']
    assert platform.device(emulator, incompatible)['upgrade_count'] == 0


def test_session_expiry_mid_run(platform, emulator, playbook, conn):
    ids = platform.online(emulator, 2)
    platform.expire_sessions(emulator)
    run = playbook([task(UPGRADE, devices=ids, version='latest', poll_interval=1.5, wait_timeout=60)], connection=conn())
    assert run.rc == 0, run.output
    assert run.data['out']['summary']['succeeded'] == 2, run.data['out']
    assert emulator.count(platform.auth_request) >= 2


def test_5xx_429_and_dropped_connections_are_retried(platform, emulator, playbook, conn):
    ids = platform.online(emulator, 2)
    rules, calls = platform.fault_rules()
    emulator.faults(*rules)
    run = playbook([task(INFO, devices=ids)], connection=conn())
    assert run.rc == 0, run.output
    out = run.data['out']
    assert [d['id'] for d in out['devices']] == ids
    assert all(d['current_version'] for d in out['devices'])
    assert out['api_calls'] >= calls
    assert emulator.control('GET', '/faults')['rules'] == []     # every fault was met


def test_one_device_failing_while_the_rest_succeed(platform, emulator, playbook, conn):
    ids = platform.online(emulator, 3)
    emulator.set_devices([ids[1]], platform=platform.name, behaviour='fail')
    run = playbook([task(UPGRADE, devices=ids, version='latest', poll_interval=0.5, wait_timeout=60)], connection=conn())
    out = run.data['out']
    assert out['failed'] is True and run.recap()['ignored'] == '1'
    devices = by_id(out['devices'])
    assert devices[ids[0]]['status'] == 'succeeded' and devices[ids[2]]['status'] == 'succeeded'
    assert devices[ids[1]]['status'] == 'failed' and platform.fail_words in devices[ids[1]]['msg']
    assert '1 of 3 device(s) did not complete' in out['msg'] and ids[1] in out['msg']
    assert out['summary'] == dict(out['summary'], succeeded=2, failed=1)
    platform.check_failure(emulator, playbook, conn(), out, ids)


def test_hanging_upgrade_times_out(platform, emulator, playbook, conn):
    ids = platform.online(emulator, 1)
    emulator.set_devices(ids, platform=platform.name, behaviour='hang')
    run = playbook([task(UPGRADE, devices=ids, version='latest', poll_interval=0.5, wait_timeout=3)], connection=conn())
    out = run.data['out']
    assert out['failed'] is True and out['devices'][0]['status'] == 'timed_out'
    assert 'wait_timeout=3s' in out['msg'] and platform.hang_words in out['msg']


def test_no_wait_then_rerun_waits_without_restarting(platform, emulator, playbook, conn):
    ids = platform.online(emulator, 2, product=platform.one_job_product)
    targets = dict((i, platform.latest(emulator, i)) for i in ids)
    # Long enough that the next tasks, started at once, still find the upgrade under way on a busy machine.
    emulator.config(upgrade_seconds=20)
    run = playbook([task(UPGRADE, register='first', devices=ids, version='latest', wait=False),
                    task(UPGRADE, register='second', devices=ids, version='latest', poll_interval=0.5, wait_timeout=60)],
                   keep=('first', 'second'), connection=conn())
    assert run.rc == 0, run.output
    assert [d['status'] for d in run.data['first']['devices']] == ['started', 'started']
    assert [d['status'] for d in run.data['second']['devices']] == ['succeeded', 'succeeded']
    assert all(platform.device(emulator, i)['upgrade_count'] == 1 for i in ids)
    assert run.data['second']['jobs'] == run.data['first']['jobs']
    assert platform.upgrade_requests(emulator) == platform.expected_requests(emulator, targets)
    platform.check_resumed(emulator, run.data['first'], run.data['second'])


def test_offline_device_is_reported_not_hidden(platform, emulator, playbook, conn):
    status, words, wait_timeout = platform.offline
    ids = platform.online(emulator, 2, product=platform.one_job_product)
    emulator.set_devices([ids[0]], platform=platform.name, online=False)
    run = playbook([task(UPGRADE, devices=ids, version='latest', poll_interval=0.5, wait_timeout=wait_timeout)], connection=conn())
    devices = by_id(run.data['out']['devices'])
    assert devices[ids[0]]['status'] == status and words in devices[ids[0]]['msg']
    assert devices[ids[1]]['status'] == 'succeeded'
    assert platform.device(emulator, ids[0])['upgrade_count'] == 0


def test_wrong_credentials_are_a_clear_error_without_the_secret_even_at_vvvv(platform, emulator, playbook, conn, tmp_path):
    run = playbook([task(INFO, devices=platform.online(emulator, 1))], connection=conn(**platform.wrong_credentials), args=('-vvvv',))
    out = run.data['out']
    assert out['failed'] is True
    for words in platform.wrong_credentials_words:
        assert words in out['msg']
    for wrong in platform.wrong_credentials.values():
        for secret in platform.derived_secrets(wrong) + list(platform.secrets):
            assert secret not in run.output
    platform.check_refused(emulator, run, tmp_path)


def test_good_run_at_vvvv_leaks_no_secret(platform, emulator, playbook, conn, tmp_path):
    ids = platform.online(emulator, 1)
    run = playbook([task(UPGRADE, devices=ids, version='latest', poll_interval=0.5)], connection=conn(), args=('-vvvv', '--diff'))
    assert run.rc == 0, run.output
    for secret in platform.run_secrets(emulator, ids, tmp_path):
        assert secret not in run.output


def test_connection_from_environment(platform, emulator, playbook, tmp_path):
    ids = platform.online(emulator, 1)
    env = dict(platform.env_vars(tmp_path), FLEETOTA_PLATFORM=platform.name, FLEETOTA_ENDPOINT=emulator.url)
    run = playbook([task(INFO, devices=ids)], env=env)
    assert run.rc == 0, run.output
    assert run.data['out']['devices'][0]['id'] == ids[0]
    assert all(path.exists() for path in platform.env_files(tmp_path))


def bad_input(platform):
    name = platform.name
    upgrade = {'devices': ['@0'], 'version': 'latest'}
    rows = [
        ('unknown platform', 'firmware_info', {'platform': 'nimbus'}, {}, 'got: nimbus'),
        ('unknown platform names the choices', 'firmware_info', {'platform': 'nimbus'}, {}, 'value of platform must be one of: enos, magewell'),
        ('unknown platform names this one', 'firmware_info', {'platform': 'nimbus'}, {}, name),
        ('endpoint not a URL', 'firmware_info', {'endpoint': 'cloud.example.com:8080'}, {}, "endpoint 'cloud.example.com:8080' is not a URL"),
        ('empty devices', 'firmware_upgrade', {}, {'devices': [], 'version': 'latest'}, 'devices is empty'),
        ('unknown device', 'firmware_upgrade', {}, {'devices': [platform.unknown_device], 'version': 'latest'},
         'not found on %s: %s' % (name, platform.unknown_device)),
        ('unparsable version', 'firmware_upgrade', {}, {'devices': ['@0'], 'version': 'one.two'}, "'one.two' is not a firmware version"),
        ('version not in catalog', 'firmware_upgrade', {}, {'devices': ['@0'], 'version': '9.9.9'}, 'version 9.9.9 is not in the %s catalog' % name),
        ('both version and id', 'firmware_upgrade', {}, dict(upgrade, firmware_id='1'), 'parameters are mutually exclusive: version|firmware_id'),
        ('neither version nor id', 'firmware_upgrade', {}, {'devices': ['@0']}, 'one of the following is required: version, firmware_id'),
        ('non-numeric wait_timeout', 'firmware_upgrade', {}, dict(upgrade, wait_timeout='soon'), 'wait_timeout'),
    ]
    if platform.unknown_firmware_id:
        rows.append(('firmware id not in catalog', 'firmware_upgrade', {}, {'devices': ['@0'], 'firmware_id': platform.unknown_firmware_id},
                     'firmware_id %s is not in the %s catalog' % (platform.unknown_firmware_id, name)))
    for option in platform.required:
        rows.append(('missing %s' % option, 'firmware_info', {option: None}, {},
                     'platform %s needs %s: set option %s or env FLEETOTA_%s' % (name, option, option, option.upper())))
    return rows + platform.bad_input()


def test_bad_input_gets_a_clear_error_and_no_write(platform, emulator, playbook, conn):
    device_id = platform.online(emulator, 1)[0]
    run = run_bad_input(playbook, bad_input(platform), conn, device_id)
    platform.assert_nothing_written(emulator)
    assert platform.upgrade_requests(emulator) == 0
    assert platform.device(emulator, device_id)['upgrade_count'] == 0
    for secret in platform.secrets:
        assert secret not in run.output


@pytest.mark.parametrize('param', ['poll_interval', 'wait_timeout'])
def test_zero_durations_are_refused(platform, emulator, playbook, conn, param):
    run = playbook([task(UPGRADE, devices=platform.online(emulator, 1), version='latest', **{param: 0})], connection=conn())
    assert run.data['out']['failed'] is True
    assert "%s '0.0' is not valid" % param in run.data['out']['msg']
    platform.assert_nothing_written(emulator)
    assert platform.upgrade_requests(emulator) == 0


# -- stop means stop: offline devices, retries, max_failures, firmware_cancel ---------------------------------------------

CANCEL = 'fleetota.cloud.firmware_cancel'


def test_offline_skip_leaves_the_device_alone_and_fail_reports_its_kind(platform, emulator, playbook, conn):
    status, _words, wait_timeout = platform.offline
    ids = platform.online(emulator, 2, product=platform.one_job_product)
    emulator.set_devices([ids[0]], platform=platform.name, online=False)
    run = playbook([task(UPGRADE, register='skip', ignore_errors=False, devices=ids, version='latest', offline='skip', poll_interval=0.5,
                         wait_timeout=60),
                    task(UPGRADE, register='fail', devices=[ids[0]], version='latest', offline='fail', poll_interval=0.5,
                         wait_timeout=wait_timeout)],
                   keep=('skip', 'fail'), connection=conn())
    skip = by_id(run.data['skip']['devices'])
    assert run.data['skip']['failed'] is False, run.output
    assert (skip[ids[0]]['status'], skip[ids[0]]['attempts'], skip[ids[0]]['failure']) == ('deferred_offline', 0, None)
    assert 'offline=skip' in skip[ids[0]]['msg'] and skip[ids[1]]['status'] == 'succeeded'
    assert run.data['skip']['summary']['deferred_offline'] == 1
    fail = run.data['fail']['devices'][0]
    # a vendor that would queue it gets nothing: it would install it whenever the device reconnects
    assert fail['status'] == status and fail['attempts'] == (0 if platform.queues_and_cancels else 1)
    if status == 'failed':
        assert fail['failure'] == 'offline' and run.data['fail']['failed'] is True
    assert platform.device(emulator, ids[0])['upgrade_count'] == 0


def test_a_device_that_fails_once_is_retried_and_succeeds(platform, emulator, playbook, conn):
    ids = platform.online(emulator, 2, product=platform.one_job_product)
    targets = dict((i, platform.latest(emulator, i)) for i in ids)
    emulator.set_devices([ids[0]], platform=platform.name, behaviour='fail_once')
    run = playbook([task(UPGRADE, ignore_errors=False, devices=ids, version='latest', retries=1, retry_delay=0.5, poll_interval=0.5,
                         wait_timeout=90)], connection=conn())
    assert run.rc == 0, run.output
    devices = by_id(run.data['out']['devices'])
    assert [(devices[i]['status'], devices[i]['attempts']) for i in ids] == [('succeeded', 2), ('succeeded', 1)]
    assert [platform.device(emulator, i)['upgrade_count'] for i in ids] == [2, 1]
    assert all(platform.device(emulator, i)['firmware_version'] == targets[i] for i in ids)


def test_max_failures_passed_stops_and_cancels_what_has_not_started(platform, emulator, playbook, conn):
    ids = platform.online(emulator, 3, product=platform.one_job_product)
    emulator.set_devices([ids[0]], platform=platform.name, behaviour='fail')
    emulator.set_devices([ids[2]], platform=platform.name, online=False)
    run = playbook([task(UPGRADE, devices=ids, version='latest', offline='queue', max_failures=0, poll_interval=0.5, wait_timeout=60)],
                   connection=conn())
    out = run.data['out']
    devices = by_id(out['devices'])
    assert out['failed'] is True and out['msg'].startswith('aborted, max_failures (0) passed: 1 device(s)'), out['msg']
    assert (devices[ids[0]]['status'], devices[ids[0]]['failure']) == ('failed', 'failed')
    assert devices[ids[1]]['status'] == 'succeeded'           # already upgrading when the limit passed: waited for
    if platform.queues_and_cancels:
        assert devices[ids[2]]['status'] == 'canceled' and 'max_failures (0) passed' in devices[ids[2]]['msg']
        assert '1 pending upgrade(s) canceled' in out['aborted']
    else:
        assert devices[ids[2]]['status'] == 'deferred_offline'
        assert '%s has no cancel and queues nothing' % platform.name in out['aborted']
    emulator.set_devices([ids[2]], platform=platform.name, online=True)
    run = playbook([task(INFO, devices=[ids[2]])], connection=conn())
    assert platform.device(emulator, ids[2])['upgrade_count'] == 0       # after the stop, it receives nothing


def test_firmware_cancel_cancels_what_is_pending_and_says_so_per_device(platform, emulator, playbook, conn):
    ids = platform.online(emulator, 2, product=platform.one_job_product)
    emulator.config(upgrade_seconds=30)          # still upgrading when the cancel comes
    emulator.set_devices([ids[0]], platform=platform.name, online=False)
    started = playbook([task(UPGRADE, register='started', devices=ids, version='latest', offline='queue', wait=False)],
                       keep=('started',), connection=conn()).data['started']
    # The online device must be past the point where a vendor still holds its task as pushed but not running (EnOS:
    # 'published' for the first 10% of the upload): the emulator's clock moves it there, on a machine of any speed.
    emulator.control('POST', '/clock', {'advance': 6})
    assert platform.device(emulator, ids[1])['upload_position'] > 10, platform.device(emulator, ids[1])
    cancel = dict(devices=ids, jobs=started['jobs'])
    run = playbook([dict(task(CANCEL, register='check', **cancel), check_mode=True),
                    task(CANCEL, register='cancel', **cancel),
                    task(CANCEL, register='again', **cancel),
                    task(CANCEL, register='ghost', devices=[ids[1], platform.unknown_device])],
                   keep=('check', 'cancel', 'again', 'ghost'), connection=conn())
    data = dict(run.data, started=started)
    assert data['ghost']['failed'] is True and platform.unknown_device in data['ghost']['msg'] and 'nothing was canceled' in data['ghost']['msg']
    for name in ('check', 'cancel', 'again'):
        assert data[name]['failed'] is False, data[name]
        assert [entry['id'] for entry in data[name]['devices']][:2] == ids
    check, cancel, again = (by_id(data[name]['devices']) for name in ('check', 'cancel', 'again'))
    assert check[ids[1]]['status'] == cancel[ids[1]]['status'] == 'not_cancelable'       # upgrading: runs to its end
    if platform.queues_and_cancels:
        assert by_id(data['started']['devices'])[ids[0]]['status'] == 'queued'
        assert data['check']['changed'] is True and check[ids[0]]['status'] == 'canceled'
        assert data['cancel']['changed'] is True and cancel[ids[0]]['status'] == 'canceled'
        assert data['again']['changed'] is False and again[ids[0]]['status'] == 'nothing_pending'
    else:
        assert by_id(data['started']['devices'])[ids[0]]['status'] == 'deferred_offline'
        for name in ('check', 'cancel', 'again'):
            assert data[name]['changed'] is False and data[name]['summary']['canceled'] == 0
            entries = by_id(data[name]['devices'])
            assert entries[ids[0]]['status'] == 'nothing_pending' and 'queues no upgrade' in entries[ids[0]]['msg']
            assert '%s has no cancel' % platform.name in entries[ids[1]]['msg']
        assert sum(emulator.writes().values()) == platform.upgrade_requests(emulator) == 1     # the cancels sent nothing
    emulator.set_devices([ids[0]], platform=platform.name, online=True)
    playbook([task(INFO, devices=[ids[0]])], connection=conn())
    assert platform.device(emulator, ids[0])['upgrade_count'] == 0
