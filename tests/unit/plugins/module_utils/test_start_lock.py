# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The per-account start lock: two runs on one controller never both start the same device."""

import os
import threading

import pytest

from ansible_collections.fleetota.cloud.plugins.module_utils._cache import LockTimeoutError, StartLock
from ansible_collections.fleetota.cloud.plugins.module_utils._engine import UpgradeRun

from ansible_collections.fleetota.cloud.tests.unit.plugins.module_utils.fake_platform import FakeClock, FakePlatform, catalog, device


def lock(folder, wait=5.0, account='key\norg'):
    return StartLock('enos', 'https://gw.example.com/', account, wait, folder=str(folder))


def test_the_lock_lives_in_the_cache_folder_named_by_a_hash(tmp_path, monkeypatch):
    monkeypatch.setenv('XDG_CACHE_HOME', str(tmp_path))
    held = StartLock('enos', 'https://gw.example.com', 'app-key\norg', 5.0)
    assert os.path.dirname(held.path) == str(tmp_path / 'fleetota')
    name = os.path.basename(held.path)
    assert name.startswith('start-') and name.endswith('.lock') and 'app-key' not in name
    assert StartLock('enos', 'https://gw.example.com/', 'app-key\norg', 5.0).path == held.path     # trailing slash ignored
    assert StartLock('enos', 'https://gw.example.com', 'other-key\norg', 5.0).path != held.path
    assert StartLock('tuya', 'https://gw.example.com', 'app-key\norg', 5.0).path != held.path
    with held:
        assert held.held and held.warning is None
        assert oct(os.stat(held.path).st_mode & 0o777) == '0o600'


def test_a_second_holder_waits_then_fails_naming_the_lock_file(tmp_path):
    with lock(tmp_path) as first:
        assert first.held
        with pytest.raises(LockTimeoutError) as caught:
            with lock(tmp_path, wait=0.3):
                pass
    assert first.path in str(caught.value) and 'nothing was sent' in str(caught.value)
    with lock(tmp_path, wait=0.3) as again:          # released when the holder closed it
        assert again.held


def test_a_waiting_holder_gets_the_lock_once_released(tmp_path):
    first = lock(tmp_path).__enter__()
    got = []

    def second():
        with lock(tmp_path, wait=10) as held:
            got.append(held.held)

    thread = threading.Thread(target=second)
    thread.start()
    thread.join(0.3)
    assert got == [] and thread.is_alive()
    first.__exit__(None, None, None)
    thread.join(10)
    assert got == [True]


def test_an_unwritable_folder_warns_and_goes_on_without_the_lock(tmp_path):
    (tmp_path / 'a-file').write_text('')
    blocked = lock(tmp_path / 'a-file' / 'fleetota')
    with blocked:
        assert not blocked.held
        assert 'could not open the start lock file %s' % blocked.path in blocked.warning
    blocked.record(['d1'])                           # not held: nothing recorded, nothing raised


def test_the_journal_says_which_devices_later_holders_sent(tmp_path):
    one = lock(tmp_path)
    assert one.generation() == 0 and one.started_since(0) == set()
    with one:
        one.record(['d1', 'd2'])
    seen = one.generation()
    with one:
        one.record(['d3'])
    assert one.started_since(0) == {'d1', 'd2', 'd3'}
    assert one.started_since(seen) == {'d3'}
    assert one.started_since(one.generation()) == set()
    assert one.started_since(None) is None
    os.unlink(one.journal_path)                      # lost: it cannot tell any more
    assert one.started_since(seen) is None


def test_a_holder_that_waited_but_finds_no_record_rereads_all(tmp_path):
    first = lock(tmp_path).__enter__()
    second = lock(tmp_path, wait=10)
    seen = second.generation()
    thread = threading.Thread(target=second.__enter__)
    thread.start()
    thread.join(0.3)
    first.__exit__(None, None, None)        # released without a record (as with a journal that could not be written)
    thread.join(10)
    assert second.held and second.waited
    assert second.started_since(seen) is None
    second.__exit__(None, None, None)
    with second:                            # not contended: an unchanged journal is trusted
        assert not second.waited and second.started_since(seen) == set()


def test_a_journal_that_dropped_records_cannot_tell(tmp_path, monkeypatch):
    monkeypatch.setattr('ansible_collections.fleetota.cloud.plugins.module_utils._cache.JOURNAL_RECORDS', 2)
    one = lock(tmp_path)
    for ids in (['d1'], ['d2'], ['d3']):
        with one:
            one.record(ids)
    assert one.started_since(0) is None              # record 1 was dropped
    assert one.started_since(1) == {'d2', 'd3'}


def fleet():
    return FakePlatform([device('a', '1.4.120'), device('b', '1.4.120'), device('c', '1.4.120')], catalog())


def test_the_run_replans_under_the_lock_what_another_run_started_meanwhile(tmp_path):
    platform = fleet()
    clock = FakeClock()
    run = UpgradeRun(platform, ['a', 'b', 'c'], version='1.6.201', poll_interval=5, wait_timeout=600, clock=clock, sleep=clock.sleep)
    other = run._start_lock()  # pylint: disable=protected-access  # the same account's lock, as another run takes it
    other.__enter__()
    outcome = []
    thread = threading.Thread(target=lambda: outcome.append(run.run()))
    thread.start()
    thread.join(0.5)
    assert outcome == [] and platform.start_requests == []      # planned, then waiting for the lock
    # Meanwhile the other run started 'a' and finished 'b'; it records what it sent, then releases the lock.
    platform.devices['a'].upgrading = True
    platform.progress['a'] = [1, '1.6.201']
    platform.devices['b'].current_version = '1.6.201'
    other.record(['a', 'b'])
    other.__exit__(None, None, None)
    thread.join(10)
    result, failure = outcome[0]
    assert failure is None
    statuses = dict((entry['id'], entry['status']) for entry in result['devices'])
    assert statuses == {'a': 'succeeded', 'b': 'already_current', 'c': 'succeeded'}
    assert platform.start_requests == [('13', ['c'])]           # neither 'a' nor 'b' was started again
    assert 'changed since the plan' in dict((entry['id'], entry['msg']) for entry in result['devices'])['b']


def test_a_run_alone_reads_its_devices_once(tmp_path):
    platform = fleet()
    reads = []
    original = platform.get_devices
    platform.get_devices = lambda ids: reads.append(list(ids)) or original(ids)
    clock = FakeClock()
    result, failure = UpgradeRun(platform, ['a', 'b'], version='1.6.201', poll_interval=5, wait_timeout=600, clock=clock,
                                 sleep=clock.sleep).run()
    assert failure is None and result['summary']['succeeded'] == 2
    assert reads == [['a', 'b']]                                # nobody else took the lock since the plan: no re-read
    assert 'warnings' not in result
