# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""firmware_info and firmware_upgrade for platform enos, what only it does, through ansible-playbook, against the emulator.

The behaviour every platform shares: test_platform_behaviour.py."""

from conftest import task  # pylint: disable=import-error
from platforms import Enos  # pylint: disable=import-error

ENOS = Enos()
PLATFORM = 'enos'


def conn(emulator, **overrides):
    values = emulator.connection(PLATFORM)
    values.update(overrides)
    return values


def test_dropped_job_create_is_reread_and_makes_one_job(emulator, playbook):
    ids = ENOS.online(emulator, 2, product='BXwU4kMk')
    emulator.control('POST', '/enos/faults', {'rules': [{'resource': 'ota-jobs', 'action': 'create', 'when': 'after'}]})
    run = playbook([task('fleetota.cloud.firmware_upgrade', devices=ids, version='latest', poll_interval=0.5, wait_timeout=60)],
                   connection=conn(emulator))
    assert run.rc == 0, run.output
    assert run.data['out']['summary']['succeeded'] == 2
    assert len(ENOS.jobs(emulator)) == 1 and run.data['out']['jobs'] == [ENOS.jobs(emulator)[0]['jobId']]
    assert ENOS.writes(emulator) == {'ota-jobs create': 1, 'ota-jobs start': 1}


def test_unverified_firmware_needing_verification_fails_clearly(emulator, playbook):
    target = ENOS.scenarios(emulator)['test_by_product']['Ht7cQ2Lp']
    ids = [d['id'] for d in emulator.devices(PLATFORM) if d['product'] == 'Ht7cQ2Lp' and d['online']][:1]
    run = playbook([task('fleetota.cloud.firmware_upgrade', register='hidden', devices=ids, firmware_id=target['firmware_id']),
                    task('fleetota.cloud.firmware_upgrade', register='refused', devices=ids, firmware_id=target['firmware_id'],
                         include_unreleased=True)],
                   keep=('hidden', 'refused'), connection=conn(emulator))
    assert 'is a test/unreleased firmware: set include_unreleased=true' in run.data['hidden']['msg']
    assert 'requires verification and is not verified yet' in run.data['refused']['devices'][0]['msg']
    assert ENOS.writes(emulator) == {}


def test_wrong_org_names_the_code_and_request_id(emulator, playbook):
    run = playbook([task('fleetota.cloud.firmware_info', devices=ENOS.online(emulator, 1))], connection=conn(emulator, org_id='o-not-mine'))
    out = run.data['out']
    assert out['failed'] is True and 'EnOS code 99403, requestId ' in out['msg'] and 'check org_id' in out['msg']
