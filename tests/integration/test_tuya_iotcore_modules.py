# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""firmware_info and firmware_upgrade for platform tuya_iotcore, through ansible-playbook, against the emulator."""

import pytest

from conftest import IOTCORE_SECRET, run_bad_input, task  # pylint: disable=import-error

P = 'tuya_iotcore'
CREATE = 'CreateOTAStaticUpgradeJob'


def scenarios(emulator):
    return emulator.scenarios(platform=P)


def device(emulator, device_id):
    return emulator.device(device_id, platform=P)


def online(emulator, count, outdated=True):
    facts = scenarios(emulator)
    pool = facts['outdated_online_devices'] if outdated else facts['current_online_devices']
    assert len(pool) >= count, facts
    return pool[:count]


def expected_latest(emulator, device_id):
    """The newest verified package that fits: the SrcVersion-bound one for devices on its SrcVersion, else the newest release."""
    facts = scenarios(emulator)
    truth = device(emulator, device_id)
    delta = facts['delta_by_product'][truth['product']]
    if truth['firmware_version'] == delta['src_version']:
        return delta['version']
    return facts['latest_by_product'][truth['product']]['version']


def creates(emulator):
    return emulator.actions().get(CREATE, 0)


def by_id(entries):
    return dict((entry['id'], entry) for entry in entries)


def conn(emulator, **overrides):
    return emulator.connection(platform=overrides.pop('platform', P), **overrides)


def test_info_reports_catalog_and_devices(emulator, playbook):
    ids = online(emulator, 3) + online(emulator, 1, outdated=False)
    run = playbook([task('fleetota.cloud.firmware_info', devices=ids)], connection=conn(emulator))
    assert run.rc == 0, run.output
    out = run.data['out']
    assert out['changed'] is False
    assert [d['id'] for d in out['devices']] == ids
    devices = by_id(out['devices'])
    for device_id in ids:
        truth = device(emulator, device_id)
        assert devices[device_id]['current_version'] == truth['firmware_version']
        assert devices[device_id]['product'] == truth['product']
        assert devices[device_id]['name'] == truth['name']
        assert devices[device_id]['latest_version'] == expected_latest(emulator, device_id)
    assert devices[ids[0]]['upgrade_available'] is True
    assert devices[ids[3]]['upgrade_available'] is False
    assert out['firmwares'] and all(fw['released'] for fw in out['firmwares'])
    assert CREATE not in emulator.actions()
    # Versions are read in batches (one BatchQueryDeviceDetail per product), never one call per device.
    assert emulator.actions()['BatchQueryDeviceDetail'] <= len(set(devices[i]['product'] for i in ids))


def test_info_reads_a_catalog_spread_over_several_pages_whole(emulator, playbook):
    run = playbook([task('fleetota.cloud.firmware_info', register='released'),
                    task('fleetota.cloud.firmware_info', register='everything', include_unreleased=True)],
                   keep=('released', 'everything'), connection=conn(emulator))
    assert run.rc == 0, run.output
    released = run.data['released']['firmwares']
    everything = run.data['everything']['firmwares']
    truth = emulator.control('GET', '/firmwares?platform=%s' % P)
    assert len(truth) > 100                        # more than one page of ListOTAFirmware (PageSize <= 100)
    assert sorted(fw['id'] for fw in everything) == sorted(fw['id'] for fw in truth)
    assert sorted(fw['id'] for fw in released) == sorted(fw['id'] for fw in truth if fw['released'])
    assert emulator.actions()['ListOTAFirmware'] == 4  # two pages per task
    unverified = scenarios(emulator)['unverified_by_product']
    assert set(v['firmware_id'] for v in unverified.values()) <= set(fw['id'] for fw in everything if not fw['released'])


def test_check_mode_plans_and_sends_no_write(emulator, playbook):
    ids = online(emulator, 3)
    run = playbook([task('fleetota.cloud.firmware_upgrade', devices=ids, version='latest')], connection=conn(emulator),
                   check=True, args=('--diff',))
    assert run.rc == 0, run.output
    out = run.data['out']
    assert out['changed'] is True
    assert [d['status'] for d in out['devices']] == ['would_upgrade'] * 3
    assert creates(emulator) == 0 and out['jobs'] == []
    assert all(device(emulator, i)['upgrade_count'] == 0 for i in ids)
    assert '+%s: %s' % (ids[0], expected_latest(emulator, ids[0])) in run.stdout  # the diff


def test_upgrade_waits_then_second_run_changes_nothing(emulator, playbook):
    ids = online(emulator, 5)
    targets = dict((i, expected_latest(emulator, i)) for i in ids)
    upgrade = task('fleetota.cloud.firmware_upgrade', ignore_errors=False, devices=ids, version='latest', poll_interval=0.5, wait_timeout=60)
    run = playbook([upgrade], connection=conn(emulator))
    assert run.rc == 0, run.output
    out = run.data['out']
    assert out['changed'] is True and out['summary']['succeeded'] == 5
    for device_id in ids:
        assert device(emulator, device_id)['firmware_version'] == targets[device_id]
        assert by_id(out['devices'])[device_id]['current_version'] == targets[device_id]
    packages = set((device(emulator, i)['product'], targets[i]) for i in ids)
    assert creates(emulator) == len(packages)         # one job per firmware
    assert sorted(out['jobs']) == sorted(job['id'] for job in scenarios(emulator)['jobs'])
    assert all(job['status'] == 'COMPLETED' for job in scenarios(emulator)['jobs'])

    again = playbook([upgrade], connection=conn(emulator))
    assert again.rc == 0, again.output
    assert again.data['out']['changed'] is False and again.recap()['changed'] == '0'
    assert again.data['out']['summary']['already_current'] == 5
    assert creates(emulator) == len(packages)


def test_module_runs_after_the_first_skip_the_account_listing(emulator, playbook, tmp_path):
    """Every device call needs the device's ProductKey, which only a listing of the whole account tells:
    the first run lists it and keeps DeviceName -> ProductKey in the device cache; the next runs read it."""
    ids = online(emulator, 4)
    targets = dict((i, expected_latest(emulator, i)) for i in ids)
    cache = tmp_path / 'xdg-cache' / 'fleetota' / 'tuya-iotcore-devices.json'   # under the test's XDG_CACHE_HOME
    first = playbook([task('fleetota.cloud.firmware_upgrade', ignore_errors=False, devices=ids, version='latest')],
                     connection=conn(emulator), check=True)
    assert first.rc == 0, first.output
    one_listing = emulator.actions()['QueryDeviceByStatus']
    assert one_listing >= 4 and cache.is_file() and oct(cache.stat().st_mode & 0o777) == '0o600'
    assert IOTCORE_SECRET not in cache.read_text()
    run = playbook([task('fleetota.cloud.firmware_upgrade', ignore_errors=False, devices=ids, version='latest', poll_interval=0.5,
                         wait_timeout=60),
                    task('fleetota.cloud.firmware_info', register='verify', ignore_errors=False, devices=ids)],
                   keep=('out', 'verify'), connection=conn(emulator))
    assert run.rc == 0, run.output
    assert emulator.actions()['QueryDeviceByStatus'] == one_listing
    assert run.data['out']['summary']['succeeded'] == 4
    for entry in run.data['verify']['devices']:
        assert entry['current_version'] == device(emulator, entry['id'])['firmware_version'] == targets[entry['id']]
        assert entry['product'] == device(emulator, entry['id'])['product']
    off = playbook([task('fleetota.cloud.firmware_info', ignore_errors=False, devices=ids)], connection=conn(emulator, device_cache='off'))
    assert off.rc == 0, off.output
    assert emulator.actions()['QueryDeviceByStatus'] == 2 * one_listing


def test_rerun_while_the_job_is_in_flight_creates_no_new_job(emulator, playbook):
    ids = online(emulator, 3)
    emulator.config(upgrade_seconds=5)
    planned = dict(task('fleetota.cloud.firmware_upgrade', register='planned', devices=ids, version='latest'), check_mode=True)
    run = playbook([task('fleetota.cloud.firmware_upgrade', register='first', devices=ids, version='latest', wait=False),
                    planned,
                    task('fleetota.cloud.firmware_upgrade', register='second', devices=ids, version='latest', poll_interval=0.5, wait_timeout=60)],
                   keep=('first', 'planned', 'second'), connection=conn(emulator))
    assert run.rc == 0, run.output
    first, second = run.data['first'], run.data['second']
    assert [d['status'] for d in first['devices']] == ['started'] * 3
    # Check mode sees the running tasks (ListOTAUnfinishedTaskByDevice) and says they would be waited for.
    assert [d['status'] for d in run.data['planned']['devices']] == ['in_progress'] * 3
    assert run.data['planned']['changed'] is False
    assert [d['status'] for d in second['devices']] == ['succeeded'] * 3
    assert sorted(second['jobs']) == sorted(first['jobs'])
    assert creates(emulator) == len(first['jobs']) == len(scenarios(emulator)['jobs'])
    assert all(device(emulator, i)['upgrade_count'] == 1 for i in ids)


def test_downgrade_refused_unless_allowed(emulator, playbook):
    device_id = online(emulator, 1, outdated=False)[0]
    older = '0.3.9'   # an old verified package of every product
    run = playbook([task('fleetota.cloud.firmware_upgrade', register='refused', devices=[device_id], version=older),
                    task('fleetota.cloud.firmware_upgrade', register='allowed', devices=[device_id], version=older, allow_downgrade=True,
                         poll_interval=0.5, wait_timeout=60)],
                   keep=('refused', 'allowed'), connection=conn(emulator))
    assert run.rc == 0, run.output
    refused = run.data['refused']['devices'][0]
    assert (refused['action'], refused['status']) == ('downgrade_refused', 'skipped')
    assert 'allow_downgrade' in refused['msg'] and run.data['refused']['changed'] is False
    allowed = run.data['allowed']['devices'][0]
    assert allowed['status'] == 'succeeded' and allowed['current_version'] == older
    assert device(emulator, device_id)['firmware_version'] == older


def test_src_version_makes_other_devices_incompatible(emulator, playbook):
    facts = scenarios(emulator)['src_version']
    ids = [facts['fitting_device'], facts['other_device']]
    run = playbook([task('fleetota.cloud.firmware_upgrade', register='by_version', devices=ids, version=facts['version'],
                         poll_interval=0.5, wait_timeout=60),
                    task('fleetota.cloud.firmware_upgrade', register='by_id', devices=[ids[1]], firmware_id=facts['firmware_id'])],
                   keep=('by_version', 'by_id'), connection=conn(emulator))
    assert run.rc == 0, run.output
    devices = by_id(run.data['by_version']['devices'])
    assert devices[ids[0]]['status'] == 'succeeded'
    other = devices[ids[1]]
    assert (other['action'], other['status']) == ('incompatible', 'skipped')
    assert 'only upgrades devices on %s (SrcVersion)' % facts['src_version'] in other['msg']
    assert device(emulator, ids[0])['firmware_version'] == facts['version']
    assert device(emulator, ids[1])['upgrade_count'] == 0
    by_firmware = run.data['by_id']['devices'][0]
    assert by_firmware['action'] == 'incompatible' and 'SrcVersion' in by_firmware['msg']


def test_unverified_firmware_only_with_include_unreleased(emulator, playbook):
    device_id = online(emulator, 1)[0]
    product = device(emulator, device_id)['product']
    unverified = scenarios(emulator)['unverified_by_product'][product]
    failed = scenarios(emulator)['failed_verification_by_product'][product]
    run = playbook([task('fleetota.cloud.firmware_upgrade', register='hidden', devices=[device_id], version=unverified['version']),
                    task('fleetota.cloud.firmware_upgrade', register='failed', devices=[device_id], firmware_id=failed['firmware_id'],
                         include_unreleased=True),
                    task('fleetota.cloud.firmware_upgrade', register='allowed', devices=[device_id], version=unverified['version'],
                         include_unreleased=True, poll_interval=0.5, wait_timeout=60)],
                   keep=('hidden', 'failed', 'allowed'), connection=conn(emulator))
    assert run.data['hidden']['failed'] is True and 'include_unreleased' in run.data['hidden']['msg']
    failed_item = run.data['failed']['devices'][0]
    assert failed_item['action'] == 'incompatible' and 'failed verification' in failed_item['msg']
    assert run.data['allowed']['devices'][0]['status'] == 'succeeded'
    assert device(emulator, device_id)['firmware_version'] == unverified['version']
    assert creates(emulator) == 1


def test_5xx_429_and_dropped_connections_are_retried(emulator, playbook):
    ids = online(emulator, 2)
    emulator.faults(
        {'kind': 'error', 'status': 503, 'query': 'Action=QueryDeviceByStatus', 'times': 2},
        {'kind': 'rate_limit', 'retry_after': 1, 'query': 'Action=ListOTAFirmware', 'times': 2},
        {'kind': 'drop', 'query': 'Action=BatchQueryDeviceDetail', 'times': 1},
    )
    run = playbook([task('fleetota.cloud.firmware_info', devices=ids)], connection=conn(emulator))
    assert run.rc == 0, run.output
    out = run.data['out']
    assert [d['id'] for d in out['devices']] == ids
    assert all(d['current_version'] for d in out['devices'])
    assert emulator.control('GET', '/faults')['rules'] == []


def test_a_dropped_create_is_never_repeated_blindly(emulator, playbook):
    # Two devices that need the same package, so one CreateOTAStaticUpgradeJob, whose connection is dropped.
    first = online(emulator, 1)[0]
    key = (device(emulator, first)['product'], expected_latest(emulator, first))
    ids = [i for i in scenarios(emulator)['outdated_online_devices']
           if (device(emulator, i)['product'], expected_latest(emulator, i)) == key][:2]
    assert len(ids) == 2
    emulator.faults({'kind': 'drop', 'query': 'Action=%s' % CREATE, 'times': 1})
    # A device idle at its old version after an unknown outcome is waited for (the request may land late), so keep it short.
    upgrade = task('fleetota.cloud.firmware_upgrade', devices=ids, version='latest', poll_interval=0.5, wait_timeout=6)
    run = playbook([upgrade], connection=conn(emulator))
    out = run.data['out']
    assert out['failed'] is True
    assert [d['status'] for d in out['devices']] == ['failed', 'failed']
    assert all("outcome is unknown" in d['msg'] and 'nothing was re-sent' in d['msg'] for d in out['devices'])
    assert creates(emulator) == 1        # not repeated by the transport or the client
    assert scenarios(emulator)['jobs'] == [] and out['jobs'] == []
    assert all(device(emulator, i)['upgrade_count'] == 0 for i in ids)
    again = playbook([upgrade], connection=conn(emulator))
    assert again.rc == 0, again.output
    assert again.data['out']['summary']['succeeded'] == 2
    assert creates(emulator) == 2


def test_one_device_failing_while_the_rest_succeed(emulator, playbook):
    ids = online(emulator, 3)
    emulator.set_devices([ids[1]], platform=P, behaviour='fail')
    run = playbook([task('fleetota.cloud.firmware_upgrade', devices=ids, version='latest', poll_interval=0.5, wait_timeout=60)],
                   connection=conn(emulator))
    out = run.data['out']
    assert out['failed'] is True and run.recap()['ignored'] == '1'
    devices = by_id(out['devices'])
    assert devices[ids[0]]['status'] == 'succeeded' and devices[ids[2]]['status'] == 'succeeded'
    assert devices[ids[1]]['status'] == 'failed' and 'installing the firmware failed' in devices[ids[1]]['msg']
    assert '1 of 3 device(s) did not complete' in out['msg'] and ids[1] in out['msg']


def test_hanging_upgrade_times_out(emulator, playbook):
    ids = online(emulator, 1)
    emulator.set_devices(ids, platform=P, behaviour='hang')
    run = playbook([task('fleetota.cloud.firmware_upgrade', devices=ids, version='latest', poll_interval=0.5, wait_timeout=3)],
                   connection=conn(emulator))
    out = run.data['out']
    assert out['failed'] is True and out['devices'][0]['status'] == 'timed_out'
    assert 'wait_timeout=3s' in out['msg'] and 'in_progress' in out['msg']


def test_offline_device_is_reported_failed_not_hidden(emulator, playbook):
    ids = online(emulator, 2)
    emulator.set_devices([ids[0]], platform=P, online=False)
    run = playbook([task('fleetota.cloud.firmware_upgrade', devices=ids, version='latest', poll_interval=0.5, wait_timeout=60)],
                   connection=conn(emulator))
    devices = by_id(run.data['out']['devices'])
    assert devices[ids[0]]['status'] == 'failed' and 'OFFLINE' in devices[ids[0]]['msg']
    assert devices[ids[1]]['status'] == 'succeeded'
    assert device(emulator, ids[0])['upgrade_count'] == 0


def test_wrong_secret_is_a_clear_error_without_the_secret_even_at_vvvv(emulator, playbook):
    wrong = 'Wr0ng-Iot-Secret-5e1'
    run = playbook([task('fleetota.cloud.firmware_info', devices=online(emulator, 1))],
                   connection=conn(emulator, secret_key=wrong), args=('-vvvv',))
    out = run.data['out']
    assert out['failed'] is True
    assert 'SignatureDoesNotMatch' in out['msg'] and 'fleetota-iotcore-ak' in out['msg']
    assert wrong not in run.output and IOTCORE_SECRET not in run.output


def test_good_run_at_vvvv_leaks_no_secret(emulator, playbook):
    ids = online(emulator, 1)
    run = playbook([task('fleetota.cloud.firmware_upgrade', devices=ids, version='latest', poll_interval=0.5)],
                   connection=conn(emulator), args=('-vvvv', '--diff'))
    assert run.rc == 0, run.output
    assert IOTCORE_SECRET not in run.output
    device_secret = emulator.server.state.fleet.device(P, ids[0]).extra['device_secret']
    assert device_secret not in run.output      # BatchQueryDeviceDetail returns it; the client drops it


def test_connection_from_environment(emulator, playbook):
    ids = online(emulator, 1)
    env = {'FLEETOTA_PLATFORM': P, 'FLEETOTA_ENDPOINT': emulator.url, 'FLEETOTA_ACCESS_KEY': 'fleetota-iotcore-ak',
           'FLEETOTA_SECRET_KEY': IOTCORE_SECRET}
    run = playbook([task('fleetota.cloud.firmware_info', devices=ids)], env=env)
    assert run.rc == 0, run.output
    assert run.data['out']['devices'][0]['id'] == ids[0]


BAD_INPUT = [
    ('unknown platform names the choices', 'firmware_info', {'platform': 'nimbus'}, {}, 'tuya_iotcore'),
    ('missing secret', 'firmware_info', {'secret_key': None}, {}, 'platform tuya_iotcore needs secret_key'),
    ('missing access key', 'firmware_info', {'access_key': None}, {}, 'platform tuya_iotcore needs access_key'),
    ('unknown access key', 'firmware_info', {'access_key': 'nobody'}, {}, 'InvalidAccessKeyId.NotFound'),
    ('endpoint not a URL', 'firmware_info', {'endpoint': 'si-x.tuyacloud.com:8686'}, {}, "endpoint 'si-x.tuyacloud.com:8686' is not a URL"),
    ('empty devices', 'firmware_upgrade', {}, {'devices': [], 'version': 'latest'}, 'devices is empty'),
    ('unknown device', 'firmware_upgrade', {}, {'devices': ['NOPE-0001'], 'version': 'latest'}, 'not found on tuya_iotcore: NOPE-0001'),
    ('unparsable version', 'firmware_upgrade', {}, {'devices': ['@0'], 'version': 'one.two'}, "'one.two' is not a firmware version"),
    ('version not in catalog', 'firmware_upgrade', {}, {'devices': ['@0'], 'version': '9.9.9'}, 'version 9.9.9 is not in the tuya_iotcore catalog'),
    ('firmware id not in catalog', 'firmware_upgrade', {}, {'devices': ['@0'], 'firmware_id': '99999'},
     'firmware_id 99999 is not in the tuya_iotcore catalog'),
    ('device cache a directory', 'firmware_upgrade', {'device_cache': '/tmp'}, {'devices': ['@0'], 'version': 'latest'},
     "device_cache '/tmp' is a directory: expected the path of a cache file"),
]


def test_bad_input_gets_a_clear_error_and_no_write(emulator, playbook):
    device_id = online(emulator, 1)[0]
    run = run_bad_input(playbook, BAD_INPUT, lambda **overrides: conn(emulator, **overrides), device_id)
    assert creates(emulator) == 0
    assert device(emulator, device_id)['upgrade_count'] == 0
    assert IOTCORE_SECRET not in run.output


@pytest.mark.parametrize('param', ['poll_interval', 'wait_timeout'])
def test_zero_durations_are_refused(emulator, playbook, param):
    run = playbook([task('fleetota.cloud.firmware_upgrade', devices=online(emulator, 1), version='latest', **{param: 0})],
                   connection=conn(emulator))
    assert run.data['out']['failed'] is True
    assert "%s '0.0' is not valid" % param in run.data['out']['msg']
    assert creates(emulator) == 0
