# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""firmware_info and firmware_upgrade for platform enos, through ansible-playbook, against the emulator."""

import collections
import hashlib
from urllib.parse import parse_qs

import pytest

from conftest import ENOS_APP_KEY, ENOS_ORG, ENOS_SECRET, run_bad_input, task  # pylint: disable=import-error

PLATFORM = 'enos'
WRITE_ACTIONS = ('create', 'start', 'stop', 'delete', 'cancelTask', 'retryTask')


def actions(emulator):
    """Vendor calls by 'resource action' (searches are POSTs too, so the stats alone cannot tell writes from reads)."""
    counts = collections.Counter()
    for entry in emulator.control('GET', '/log?limit=1000'):
        counts['%s %s' % (entry['path'].rsplit('/', 1)[-1], parse_qs(entry['query']).get('action', [''])[0])] += 1
    return counts


def writes(emulator):
    return dict((key, count) for key, count in actions(emulator).items() if key.split(' ')[-1] in WRITE_ACTIONS)


def jobs(emulator):
    return emulator.control('GET', '/enos/jobs')


def scenarios(emulator):
    return emulator.scenarios(PLATFORM)


def online(emulator, count, outdated=True, product=None):
    pool = scenarios(emulator)['outdated_online_devices' if outdated else 'current_online_devices']
    if product:
        pool = [i for i in pool if emulator.device(i, PLATFORM)['product'] == product]
    assert len(pool) >= count, pool
    return pool[:count]


def latest_for(emulator, device_id):
    return scenarios(emulator)['latest_by_product'][emulator.device(device_id, PLATFORM)['product']]['version']


def by_id(entries):
    return dict((entry['id'], entry) for entry in entries)


def conn(emulator, **overrides):
    values = emulator.connection(PLATFORM)
    values.update(overrides)
    return values


def test_info_reports_catalog_and_devices(emulator, playbook):
    ids = online(emulator, 2) + online(emulator, 1, outdated=False)
    run = playbook([task('fleetota.cloud.firmware_info', devices=ids)], connection=conn(emulator))
    assert run.rc == 0, run.output
    out = run.data['out']
    assert out['changed'] is False
    devices = by_id(out['devices'])
    assert [d['id'] for d in out['devices']] == ids
    for device_id in ids:
        truth = emulator.device(device_id, PLATFORM)
        assert devices[device_id]['current_version'] == truth['firmware_version']
        assert devices[device_id]['product'] == truth['product']
        assert devices[device_id]['name'] == truth['name']
        assert devices[device_id]['online'] is True and devices[device_id]['upgrading'] is False
        assert devices[device_id]['latest_version'] == latest_for(emulator, device_id)
    assert devices[ids[0]]['upgrade_available'] is True
    assert devices[ids[2]]['upgrade_available'] is False
    assert out['firmwares'] and all(fw['released'] for fw in out['firmwares'])
    sample = out['firmwares'][0]
    assert sample['checksum_algorithm'] == 'md5' and sample['size'] > 0 and sample['created'].endswith('Z')
    assert writes(emulator) == {}


def test_info_include_unreleased_shows_unverified_firmware(emulator, playbook):
    run = playbook([task('fleetota.cloud.firmware_info', register='released'),
                    task('fleetota.cloud.firmware_info', register='everything', include_unreleased=True),
                    task('fleetota.cloud.firmware_info', register='one', product='Zm3RkE9s', include_unreleased=True)],
                   keep=('released', 'everything', 'one'), connection=conn(emulator))
    assert run.rc == 0, run.output
    released = run.data['released']['firmwares']
    everything = run.data['everything']['firmwares']
    assert len(everything) > len(released)
    assert any(not fw['released'] for fw in everything)
    truth = emulator.control('GET', '/firmwares?platform=enos')
    assert sorted(fw['id'] for fw in everything) == sorted(fw['id'] for fw in truth)
    assert set(fw['product'] for fw in run.data['one']['firmwares']) == {'Zm3RkE9s'}


def test_check_mode_plans_and_sends_no_write(emulator, playbook):
    ids = online(emulator, 3)
    run = playbook([task('fleetota.cloud.firmware_upgrade', devices=ids, version='latest')], connection=conn(emulator),
                   check=True, args=('--diff',))
    assert run.rc == 0, run.output
    out = run.data['out']
    assert out['changed'] is True
    assert [d['status'] for d in out['devices']] == ['would_upgrade'] * 3
    assert writes(emulator) == {} and jobs(emulator) == []
    assert all(emulator.device(i, PLATFORM)['upgrade_count'] == 0 for i in ids)
    assert '+%s: %s' % (ids[0], latest_for(emulator, ids[0])) in run.stdout   # the diff


def test_upgrade_waits_then_second_run_changes_nothing(emulator, playbook):
    ids = online(emulator, 5)
    targets = dict((i, latest_for(emulator, i)) for i in ids)
    upgrade = task('fleetota.cloud.firmware_upgrade', ignore_errors=False, devices=ids, version='latest', poll_interval=0.5, wait_timeout=60)
    run = playbook([upgrade], connection=conn(emulator))
    assert run.rc == 0, run.output
    out = run.data['out']
    assert out['changed'] is True
    assert out['summary']['succeeded'] == 5
    for device_id in ids:
        assert emulator.device(device_id, PLATFORM)['firmware_version'] == targets[device_id]
        assert by_id(out['devices'])[device_id]['current_version'] == targets[device_id]
    products = set(emulator.device(i, PLATFORM)['product'] for i in ids)
    created = jobs(emulator)
    assert len(created) == len(products)                    # one job per firmware
    assert sorted(out['jobs']) == sorted(job['jobId'] for job in created)
    assert sum(job['devices'] for job in created) == 5
    assert all(job['upgradeTimeout'] == 300 for job in created)     # wait_timeout 60 clamped up to the documented minimum

    again = playbook([upgrade], connection=conn(emulator))
    assert again.rc == 0, again.output
    assert again.data['out']['changed'] is False
    assert again.recap()['changed'] == '0'
    assert again.data['out']['summary']['already_current'] == 5
    assert len(jobs(emulator)) == len(products)


def test_downgrade_refused_unless_allowed(emulator, playbook):
    device_id = online(emulator, 1, outdated=False, product='BXwU4kMk')[0]
    older = '2.0.1'
    run = playbook([task('fleetota.cloud.firmware_upgrade', register='refused', devices=[device_id], version=older),
                    task('fleetota.cloud.firmware_upgrade', register='allowed', devices=[device_id], version=older, allow_downgrade=True,
                         poll_interval=0.5, wait_timeout=60)],
                   keep=('refused', 'allowed'), connection=conn(emulator))
    assert run.rc == 0, run.output
    refused = run.data['refused']['devices'][0]
    assert (refused['action'], refused['status']) == ('downgrade_refused', 'skipped')
    assert 'allow_downgrade' in refused['msg']
    assert run.data['refused']['changed'] is False
    allowed = run.data['allowed']['devices'][0]
    assert allowed['status'] == 'succeeded' and allowed['current_version'] == older
    assert emulator.device(device_id, PLATFORM)['firmware_version'] == older


def test_firmware_of_another_product_is_reported_incompatible(emulator, playbook):
    scenario = scenarios(emulator)['incompatible']
    ids = [scenario['compatible_device'], scenario['incompatible_device']]
    run = playbook([task('fleetota.cloud.firmware_upgrade', devices=ids, version=scenario['version'], poll_interval=0.5, wait_timeout=60)],
                   connection=conn(emulator))
    assert run.rc == 0, run.output
    devices = by_id(run.data['out']['devices'])
    assert devices[ids[1]]['action'] == 'incompatible' and devices[ids[1]]['status'] == 'skipped'
    assert 'not in the catalog for product %s' % scenario['other_product'] in devices[ids[1]]['msg']
    assert devices[ids[0]]['status'] == 'succeeded'
    assert emulator.device(ids[1], PLATFORM)['upgrade_count'] == 0


def test_token_expiry_mid_run_gets_a_new_token(emulator, playbook):
    ids = online(emulator, 2)
    emulator.config(upgrade_seconds=3)
    emulator.faults({'kind': 'expire_sessions', 'path': 'ota-jobs', 'times': 1},
                    {'kind': 'expire_sessions', 'path': '/connect-service/v2.1/devices', 'times': 1})
    run = playbook([task('fleetota.cloud.firmware_upgrade', devices=ids, version='latest', poll_interval=0.5, wait_timeout=60)],
                   connection=conn(emulator))
    assert run.rc == 0, run.output
    assert run.data['out']['summary']['succeeded'] == 2, run.data['out']
    assert emulator.count('POST /apim-token-service/v2.0/token/get') >= 2


def test_5xx_429_and_dropped_connections_are_retried(emulator, playbook):
    ids = online(emulator, 2)
    emulator.faults(
        {'kind': 'error', 'status': 503, 'path': '/connect-service/v2.1/devices', 'times': 2},
        {'kind': 'rate_limit', 'retry_after': 1, 'path': 'ota-firmwares', 'times': 2},
        {'kind': 'drop', 'path': '/connect-service/v2.1/devices', 'times': 1},
        {'kind': 'error', 'status': 502, 'path': 'token/get', 'times': 1},
    )
    run = playbook([task('fleetota.cloud.firmware_info', devices=ids)], connection=conn(emulator))
    assert run.rc == 0, run.output
    out = run.data['out']
    assert [d['id'] for d in out['devices']] == ids
    assert out['api_calls'] >= 4 + 6
    assert emulator.control('GET', '/faults')['rules'] == []


def test_dropped_job_create_is_reread_and_makes_one_job(emulator, playbook):
    ids = online(emulator, 2, product='BXwU4kMk')
    emulator.control('POST', '/enos/faults', {'rules': [{'resource': 'ota-jobs', 'action': 'create', 'when': 'after'}]})
    run = playbook([task('fleetota.cloud.firmware_upgrade', devices=ids, version='latest', poll_interval=0.5, wait_timeout=60)],
                   connection=conn(emulator))
    assert run.rc == 0, run.output
    assert run.data['out']['summary']['succeeded'] == 2
    assert len(jobs(emulator)) == 1 and run.data['out']['jobs'] == [jobs(emulator)[0]['jobId']]
    assert writes(emulator) == {'ota-jobs create': 1, 'ota-jobs start': 1}


def test_one_device_failing_while_the_rest_succeed(emulator, playbook):
    ids = online(emulator, 3)
    emulator.set_devices([ids[1]], platform=PLATFORM, behaviour='fail')
    run = playbook([task('fleetota.cloud.firmware_upgrade', devices=ids, version='latest', poll_interval=0.5, wait_timeout=60)],
                   connection=conn(emulator))
    out = run.data['out']
    assert out['failed'] is True and run.recap()['ignored'] == '1'
    devices = by_id(out['devices'])
    assert devices[ids[0]]['status'] == 'succeeded' and devices[ids[2]]['status'] == 'succeeded'
    assert devices[ids[1]]['status'] == 'failed'
    assert 'the upgrade task failed: failed to write firmware' in devices[ids[1]]['msg']
    assert '1 of 3 device(s) did not complete' in out['msg'] and ids[1] in out['msg']
    assert out['summary'] == dict(out['summary'], succeeded=2, failed=1)


def test_hanging_upgrade_times_out(emulator, playbook):
    ids = online(emulator, 1)
    emulator.set_devices(ids, platform=PLATFORM, behaviour='hang')
    run = playbook([task('fleetota.cloud.firmware_upgrade', devices=ids, version='latest', poll_interval=0.5, wait_timeout=3)],
                   connection=conn(emulator))
    out = run.data['out']
    assert out['failed'] is True and out['devices'][0]['status'] == 'timed_out'
    assert 'wait_timeout=3s' in out['msg'] and 'upgrading 20% (download)' in out['msg']


def test_no_wait_then_rerun_waits_on_the_same_job(emulator, playbook):
    ids = online(emulator, 2, product='BXwU4kMk')
    emulator.config(upgrade_seconds=4)
    run = playbook([task('fleetota.cloud.firmware_upgrade', register='first', devices=ids, version='latest', wait=False),
                    task('fleetota.cloud.firmware_upgrade', register='second', devices=ids, version='latest', poll_interval=0.5, wait_timeout=60)],
                   keep=('first', 'second'), connection=conn(emulator))
    assert run.rc == 0, run.output
    assert [d['status'] for d in run.data['first']['devices']] == ['started', 'started']
    assert [d['status'] for d in run.data['second']['devices']] == ['succeeded', 'succeeded']
    assert all(emulator.device(i, PLATFORM)['upgrade_count'] == 1 for i in ids)
    assert len(jobs(emulator)) == 1 and run.data['second']['jobs'] == run.data['first']['jobs']
    assert writes(emulator) == {'ota-jobs create': 1, 'ota-jobs start': 1}


def test_offline_device_waits_to_be_pushed_and_is_reported(emulator, playbook):
    ids = online(emulator, 2, product='BXwU4kMk')
    emulator.set_devices([ids[0]], platform=PLATFORM, online=False)
    run = playbook([task('fleetota.cloud.firmware_upgrade', devices=ids, version='latest', poll_interval=0.5, wait_timeout=4)],
                   connection=conn(emulator))
    devices = by_id(run.data['out']['devices'])
    assert devices[ids[0]]['status'] == 'timed_out' and 'waiting to be pushed' in devices[ids[0]]['msg']
    assert devices[ids[1]]['status'] == 'succeeded'


def test_unverified_firmware_needing_verification_fails_clearly(emulator, playbook):
    target = scenarios(emulator)['test_by_product']['Ht7cQ2Lp']
    ids = [d['id'] for d in emulator.devices(PLATFORM) if d['product'] == 'Ht7cQ2Lp' and d['online']][:1]
    run = playbook([task('fleetota.cloud.firmware_upgrade', register='hidden', devices=ids, firmware_id=target['firmware_id']),
                    task('fleetota.cloud.firmware_upgrade', register='refused', devices=ids, firmware_id=target['firmware_id'],
                         include_unreleased=True)],
                   keep=('hidden', 'refused'), connection=conn(emulator))
    assert 'is a test/unreleased firmware: set include_unreleased=true' in run.data['hidden']['msg']
    assert 'requires verification and is not verified yet' in run.data['refused']['devices'][0]['msg']
    assert writes(emulator) == {}


def test_wrong_secret_is_a_clear_error_without_the_secret_even_at_vvvv(emulator, playbook):
    wrong = 'Wr0ng-Secret-91b3'
    run = playbook([task('fleetota.cloud.firmware_info', devices=online(emulator, 1))],
                   connection=conn(emulator, secret_key=wrong), args=('-vvvv',))
    out = run.data['out']
    assert out['failed'] is True
    assert 'check secret_key' in out['msg'] and 'EnOS code 1003' in out['msg'] and ENOS_APP_KEY in out['msg']
    for secret in (wrong, ENOS_SECRET):
        assert secret not in run.output


def test_wrong_org_names_the_code_and_request_id(emulator, playbook):
    run = playbook([task('fleetota.cloud.firmware_info', devices=online(emulator, 1))], connection=conn(emulator, org_id='o-not-mine'))
    out = run.data['out']
    assert out['failed'] is True and 'EnOS code 99403, requestId ' in out['msg'] and 'check org_id' in out['msg']


def test_good_run_at_vvvv_leaks_no_secret_or_token(emulator, playbook):
    run = playbook([task('fleetota.cloud.firmware_upgrade', devices=online(emulator, 1), version='latest', poll_interval=0.5)],
                   connection=conn(emulator), args=('-vvvv', '--diff'))
    assert run.rc == 0, run.output
    tokens = emulator.control('GET', '/enos/tokens')
    assert tokens
    for secret in [ENOS_SECRET, hashlib.sha256(ENOS_SECRET.encode()).hexdigest()] + tokens:
        assert secret not in run.output


def test_connection_from_environment(emulator, playbook):
    ids = online(emulator, 1)
    env = {'FLEETOTA_PLATFORM': 'enos', 'FLEETOTA_ENDPOINT': emulator.url, 'FLEETOTA_ACCESS_KEY': ENOS_APP_KEY,
           'FLEETOTA_SECRET_KEY': ENOS_SECRET, 'FLEETOTA_ORG_ID': ENOS_ORG}
    run = playbook([task('fleetota.cloud.firmware_info', devices=ids)], env=env)
    assert run.rc == 0, run.output
    assert run.data['out']['devices'][0]['id'] == ids[0]


BAD_INPUT = [
    ('unknown platform', 'firmware_info', {'platform': 'nimbus'}, {}, 'value of platform must be one of: enos, magewell'),
    ('missing secret', 'firmware_info', {'secret_key': None}, {}, 'platform enos needs secret_key'),
    ('missing org', 'firmware_info', {'org_id': None}, {}, 'platform enos needs org_id: set option org_id or env FLEETOTA_ORG_ID'),
    ('empty devices', 'firmware_upgrade', {}, {'devices': [], 'version': 'latest'}, 'devices is empty'),
    ('unknown device', 'firmware_upgrade', {}, {'devices': ['NOPE-0001'], 'version': 'latest'}, 'not found on enos: NOPE-0001'),
    ('quote in device id', 'firmware_upgrade', {}, {'devices': ["DK'01"], 'version': 'latest'}, "device id DK'01 contains a quote"),
    ('unparsable version', 'firmware_upgrade', {}, {'devices': ['@0'], 'version': 'one.two'}, "'one.two' is not a firmware version"),
    ('version not in catalog', 'firmware_upgrade', {}, {'devices': ['@0'], 'version': '9.9.9'}, 'version 9.9.9 is not in the enos catalog'),
    ('firmware id not in catalog', 'firmware_upgrade', {}, {'devices': ['@0'], 'firmware_id': 'fw-nope'}, 'firmware_id fw-nope is not in the enos catalog'),
]


def test_bad_input_gets_a_clear_error_and_no_write(emulator, playbook):
    device_id = online(emulator, 1)[0]
    run = run_bad_input(playbook, BAD_INPUT, lambda **overrides: conn(emulator, **overrides), device_id)
    assert writes(emulator) == {} and jobs(emulator) == []
    assert emulator.device(device_id, PLATFORM)['upgrade_count'] == 0
    assert ENOS_SECRET not in run.output


@pytest.mark.parametrize('param', ['poll_interval', 'wait_timeout'])
def test_zero_durations_are_refused(emulator, playbook, param):
    run = playbook([task('fleetota.cloud.firmware_upgrade', devices=online(emulator, 1), version='latest', **{param: 0})],
                   connection=conn(emulator))
    assert run.data['out']['failed'] is True
    assert "%s '0.0' is not valid" % param in run.data['out']['msg']
    assert jobs(emulator) == []
