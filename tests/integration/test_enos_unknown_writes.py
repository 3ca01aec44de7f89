# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""EnOS job creation whose outcome is unknown (answered after the timeout, a lost answer, a garbled 200), through
ansible-playbook: the jobs are read again, never created blindly a second time; a job made late by a lost request is
deleted and reported, never left behind with the devices in its scope."""

from conftest import task  # pylint: disable=import-error

from platforms import Enos  # pylint: disable=import-error
from test_enos_modules import PLATFORM, conn  # pylint: disable=import-error

ENOS = Enos()


def upgrade(ids, **params):
    return task('fleetota.cloud.firmware_upgrade', devices=ids, version='latest', poll_interval=0.5, wait_timeout=120, **params)


def slow_create(emulator, seconds):
    emulator.faults({'kind': 'slow', 'path': 'ota-jobs', 'query': 'action=create', 'seconds': seconds, 'times': 1})


def test_create_answered_after_the_timeout_is_found_again_not_sent_twice(emulator, playbook):
    ids = ENOS.online(emulator, 2, product='BXwU4kMk')
    slow_create(emulator, 4)     # the job is made 4 s after the request; the client gave up after 1 s
    run = playbook([upgrade(ids, wait=False)], connection=conn(emulator, timeout=1))
    assert run.rc == 0, run.output
    out = run.data['out']
    assert out['summary']['started'] == 2, out
    assert len(ENOS.jobs(emulator)) == 1 and out['jobs'] == [ENOS.jobs(emulator)[0]['jobId']]
    assert ENOS.writes(emulator) == {'ota-jobs create': 1, 'ota-jobs start': 1}
    assert all(emulator.device(i, PLATFORM)['upgrade_count'] == 1 for i in ids)


def test_create_landing_after_the_rereads_is_deleted_and_reported(emulator, playbook):
    ids = ENOS.online(emulator, 2, product='BXwU4kMk')
    emulator.config(upgrade_seconds=8)
    # Made 10 s after the request: later than the re-reads (2 x timeout + 4 s), so the client creates once more,
    # then finds the late job while it waits and deletes it (never started, it upgraded nothing).
    slow_create(emulator, 10)
    run = playbook([upgrade(ids)], connection=conn(emulator, timeout=1))
    assert run.rc == 0, run.output
    out = run.data['out']
    assert out['summary']['succeeded'] == 2, out
    remaining = ENOS.jobs(emulator)
    deleted = emulator.control('GET', '/enos/jobs/deleted')
    assert len(remaining) == 1 and len(deleted) == 1, (remaining, deleted)
    assert sorted(out['jobs']) == sorted([remaining[0]['jobId']] + deleted)     # both ids reported
    assert ENOS.writes(emulator) == {'ota-jobs create': 2, 'ota-jobs start': 1, 'ota-jobs delete': 1}
    assert all(emulator.device(i, PLATFORM)['upgrade_count'] == 1 for i in ids)


def test_garbled_200_on_create_is_an_unknown_outcome_not_a_failure(emulator, playbook):
    ids = ENOS.online(emulator, 2, product='BXwU4kMk')
    emulator.control('POST', '/enos/faults', {'rules': [{'resource': 'ota-jobs', 'action': 'create', 'when': 'garbled'}]})
    run = playbook([upgrade(ids)], connection=conn(emulator))
    assert run.rc == 0, run.output
    out = run.data['out']
    assert out['summary']['succeeded'] == 2, out
    assert len(ENOS.jobs(emulator)) == 1 and out['jobs'] == [ENOS.jobs(emulator)[0]['jobId']]
    assert ENOS.writes(emulator) == {'ota-jobs create': 1, 'ota-jobs start': 1}
