# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""firmware_info and firmware_upgrade for platform enos, what only it does, through ansible-playbook, against the emulator.

The behaviour every platform shares: test_platform_behaviour.py."""

import collections
from urllib.parse import parse_qs


from conftest import task  # pylint: disable=import-error

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


def conn(emulator, **overrides):
    values = emulator.connection(PLATFORM)
    values.update(overrides)
    return values


def test_dropped_job_create_is_reread_and_makes_one_job(emulator, playbook):
    ids = online(emulator, 2, product='BXwU4kMk')
    emulator.control('POST', '/enos/faults', {'rules': [{'resource': 'ota-jobs', 'action': 'create', 'when': 'after'}]})
    run = playbook([task('fleetota.cloud.firmware_upgrade', devices=ids, version='latest', poll_interval=0.5, wait_timeout=60)],
                   connection=conn(emulator))
    assert run.rc == 0, run.output
    assert run.data['out']['summary']['succeeded'] == 2
    assert len(jobs(emulator)) == 1 and run.data['out']['jobs'] == [jobs(emulator)[0]['jobId']]
    assert writes(emulator) == {'ota-jobs create': 1, 'ota-jobs start': 1}


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


def test_wrong_org_names_the_code_and_request_id(emulator, playbook):
    run = playbook([task('fleetota.cloud.firmware_info', devices=online(emulator, 1))], connection=conn(emulator, org_id='o-not-mine'))
    out = run.data['out']
    assert out['failed'] is True and 'EnOS code 99403, requestId ' in out['msg'] and 'check org_id' in out['msg']
