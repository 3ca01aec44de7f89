# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The upgrade engine over a fake platform when a rollout must stop short: offline devices, kinds of failure, retries,
max_failures, a signal while waiting, and firmware_cancel's run."""

import os
import signal
import threading

import pytest

from ansible_collections.fleetota.cloud.plugins.module_utils._engine import CancelRun, StopOnSignals, UpgradeRun
from ansible_collections.fleetota.cloud.plugins.module_utils._errors import ConfigError

from ansible_collections.fleetota.cloud.tests.unit.plugins.module_utils.fake_platform import (
    FakeClock, FakePlatform, by_id, catalog, device, fleet, make_run)


# -- offline devices, failure kinds -------------------------------------------------------------

def offline_fleet(queues=False, cancel=False):
    platform = FakePlatform([device('on', '1.4.120'), device('off', '1.4.120', online=False), device('unknown', '1.4.120', online=None)],
                            catalog())
    platform.queues_offline, platform.can_cancel = queues, cancel
    return platform


@pytest.mark.parametrize('offline, queues, status, words', [
    ('skip', False, 'deferred_offline', 'offline=skip'),
    ('skip', True, 'deferred_offline', 'offline=skip'),
    ('queue', True, 'queued', 'installs it when the device reconnects'),
    ('queue', False, 'deferred_offline', 'fake queues nothing'),
])
def test_an_offline_device_is_skipped_or_queued_as_asked_and_check_mode_says_the_same(offline, queues, status, words):
    platform = offline_fleet(queues)
    planned, failure = make_run(platform, devices=['on', 'off', 'unknown'], version='1.6.201', offline=offline).run(check_mode=True)
    assert failure is None and platform.start_requests == []
    assert by_id(planned)['off']['status'] == status and words in by_id(planned)['off']['msg']
    assert by_id(planned)['unknown']['status'] == 'would_upgrade'       # online None counts as online
    result, failure = make_run(platform, devices=['on', 'off', 'unknown'], version='1.6.201', offline=offline).run()
    assert failure is None
    devices = by_id(result)
    assert devices['on']['status'] == devices['unknown']['status'] == 'succeeded'
    assert devices['off']['status'] == status and devices['off']['failure'] is None
    sent = [ids for _fw, ids in platform.start_requests]
    if status == 'queued':
        assert sent == [['on', 'off', 'unknown']] and devices['off']['attempts'] == 1 and platform.queued == {'off': '1.6.201'}
        assert 'not waited for' in devices['off']['msg']
    else:
        assert sent == [['on', 'unknown']] and devices['off']['attempts'] == 0
    assert result['summary'][status] == 1


def test_offline_fail_sends_as_before_and_an_offline_refusal_is_a_failure_of_kind_offline():
    platform = offline_fleet()
    result, failure = make_run(platform, devices=['on', 'off'], version='1.6.201').run()    # offline defaults to fail
    entry = by_id(result)['off']
    assert (entry['status'], entry['failure'], entry['attempts']) == ('failed', 'offline', 1)
    assert 'offline' in entry['msg'] and '1 of 2 device(s) did not complete' in failure
    assert platform.start_requests == [('13', ['on', 'off'])]


def test_offline_fail_sends_nothing_where_the_vendor_would_queue_it_for_later():
    platform = offline_fleet(True)
    planned, _failure = make_run(platform, devices=['on', 'off'], version='1.6.201').run(check_mode=True)
    assert (by_id(planned)['off']['status'], by_id(planned)['off']['failure']) == ('failed', 'offline')
    result, failure = make_run(platform, devices=['on', 'off'], version='1.6.201').run()    # offline defaults to fail
    entry = by_id(result)['off']
    assert (entry['status'], entry['failure'], entry['attempts']) == ('failed', 'offline', 0)
    assert 'nothing sent (offline=fail)' in entry['msg'] and '1 of 2 device(s) did not complete' in failure
    assert platform.start_requests == [('13', ['on'])] and platform.queued == {}


def test_a_device_that_went_offline_after_the_plan_is_deferred_unless_offline_is_fail():
    platform = offline_fleet()
    real_start = platform.start_upgrade

    def start(firmware, devices, **kwargs):
        platform.devices['on'].online = False          # unplugged between the plan and the start
        return real_start(firmware, devices, **kwargs)

    platform.start_upgrade = start
    result, failure = make_run(platform, devices=['on'], version='1.6.201', offline='skip').run()
    entry = by_id(result)['on']
    assert failure is None and (entry['status'], entry['failure'], entry['attempts']) == ('deferred_offline', None, 1)
    assert 'fake refused' in entry['msg']


def test_every_failed_or_timed_out_device_has_the_kind_of_its_failure():
    platform = FakePlatform([device(n, '1.4.120') for n in ('ok', 'bad', 'no', 'slow')], catalog())
    platform.behaviour.update(bad='fail', no='refuse', slow='hang')
    platform.upgrade_blocker = lambda firmware, dev: 'blocked by the vendor' if dev.id == 'no' else None
    result, _failure = make_run(platform, devices=['ok', 'bad', 'no', 'slow'], version='1.6.201', wait_timeout=20).run()
    devices = by_id(result)
    assert [(devices[n]['status'], devices[n]['failure']) for n in ('ok', 'bad', 'no', 'slow')] == [
        ('succeeded', None), ('failed', 'failed'), ('failed', 'refused'), ('timed_out', 'timed_out')]
    assert [devices[n]['attempts'] for n in ('ok', 'bad', 'no', 'slow')] == [1, 1, 0, 1]
    platform.behaviour['no'] = 'refuse'
    platform.upgrade_blocker = lambda firmware, dev: None
    result, _failure = make_run(platform, devices=['no'], version='1.6.201').run()
    assert (by_id(result)['no']['failure'], by_id(result)['no']['attempts']) == ('refused', 1)
    result, _failure = make_run(platform, devices=['ghost', 'ok'], version='1.6.201').run()
    assert (by_id(result)['ghost']['status'], by_id(result)['ghost']['failure']) == ('failed', 'refused')


# -- retries ----------------------------------------------------------------------------------

def test_a_device_that_fails_once_is_retried_after_retry_delay_and_succeeds():
    platform = FakePlatform([device('a', '1.4.120'), device('b', '1.4.120'), device('c', '1.4.120')], catalog())
    platform.behaviour.update(a='fail_once', b='fail_once')
    clock = FakeClock()
    result, failure = make_run(platform, clock, devices=['a', 'b', 'c'], version='1.6.201', retries=2, retry_delay=30).run()
    assert failure is None
    devices = by_id(result)
    assert [(devices[n]['status'], devices[n]['attempts']) for n in 'abc'] == [('succeeded', 2), ('succeeded', 2), ('succeeded', 1)]
    assert 'after 2 attempts' in devices['a']['msg']
    # failed together, retried together: one request for both, through retry_upgrade, after the delay
    assert platform.retry_requests == [('13', ['a', 'b'])]
    assert platform.start_requests == [('13', ['a', 'b', 'c']), ('13', ['a', 'b'])]
    assert 30 in clock.sleeps


def test_retries_spent_end_failed_with_every_attempt_counted():
    platform = FakePlatform([device('a', '1.4.120')], catalog())
    platform.behaviour['a'] = 'fail'
    result, failure = make_run(platform, devices=['a'], version='1.6.201', retries=2, retry_delay=10).run()
    entry = by_id(result)['a']
    assert (entry['status'], entry['failure'], entry['attempts']) == ('failed', 'failed', 3)
    assert len(platform.retry_requests) == 2 and 'did not complete' in failure and 'retries spent (3 attempts)' in entry['msg']


def test_no_retry_without_retries_and_none_for_a_refused_start():
    platform = FakePlatform([device('a', '1.4.120'), device('b', '1.4.120')], catalog())
    platform.behaviour.update(a='fail_once', b='refuse')
    result, _failure = make_run(platform, devices=['a', 'b'], version='1.6.201').run()
    assert by_id(result)['a']['status'] == 'failed' and platform.retry_requests == []
    platform.behaviour.update(a='fail_once')
    result, _failure = make_run(platform, devices=['a', 'b'], version='1.6.201', retries=1, retry_delay=0).run()
    assert by_id(result)['a']['status'] == 'succeeded' and by_id(result)['b']['status'] == 'failed'
    assert platform.retry_requests == [('13', ['a'])]


def test_a_retry_that_does_not_fit_in_wait_timeout_is_not_sent_and_says_so():
    platform = FakePlatform([device('a', '1.4.120'), device('h', '1.4.120')], catalog())
    platform.behaviour.update(a='fail', h='hang')
    result, _failure = make_run(platform, devices=['a', 'h'], version='1.6.201', retries=1, retry_delay=900, wait_timeout=600).run()
    devices = by_id(result)
    assert devices['a']['status'] == 'failed' and 'not retried' in devices['a']['msg'] and 'would not fit in wait_timeout=600s' in devices['a']['msg']
    assert devices['h']['status'] == 'timed_out' and 'not retried' in devices['h']['msg'] and 'would not fit' in devices['h']['msg']
    assert devices['a']['attempts'] == devices['h']['attempts'] == 1 and platform.retry_requests == []


def test_a_device_found_at_the_target_or_upgrading_at_its_retry_is_not_restarted():
    platform = FakePlatform([device('a', '1.4.120'), device('b', '1.4.120')], catalog())
    platform.behaviour.update(a='fail', b='fail')
    clock = FakeClock()

    def sleep(seconds):
        clock.sleep(seconds)
        if seconds == 30:       # during the retry delay: another hand fixed a, b started upgrading again
            platform.devices['a'].current_version = '1.6.201'
            platform.behaviour.pop('b')
            platform._begin('b', '1.6.201')

    run = UpgradeRun(platform, ['a', 'b'], version='1.6.201', retries=1, retry_delay=30, poll_interval=5, wait_timeout=600,
                     clock=clock, sleep=sleep)
    result, failure = run.run()
    assert failure is None and platform.retry_requests == []
    assert [(e['status'], e['attempts']) for e in result['devices']] == [('succeeded', 1), ('succeeded', 1)]


def test_native_retries_are_left_to_the_vendor_and_its_attempts_reported():
    platform = FakePlatform([device('a', '1.4.120')], catalog())
    platform.native = True
    platform.behaviour['a'] = 'fail_once'
    result, failure = make_run(platform, devices=['a'], version='1.6.201', retries=2, retry_delay=45).run()
    assert failure is None and by_id(result)['a']['status'] == 'succeeded' and by_id(result)['a']['attempts'] == 2
    assert platform.start_kwargs == [{'retries': 2, 'retry_delay': 45.0}] and platform.retry_requests == []


def test_a_retry_whose_answer_is_lost_is_never_resent_and_its_attempt_counts(tmp_path):
    for fault, status in (('applied', 'succeeded'), ('lost', 'failed')):
        platform = FakePlatform([device('a', '1.4.120')], catalog())
        platform.behaviour['a'] = 'fail_once'
        real_retry = platform.retry_upgrade

        def retry(firmware, devices, upgrade_timeout=None, fault=fault, platform=platform, real_retry=real_retry):
            platform.start_fault = fault
            return real_retry(firmware, devices, upgrade_timeout=upgrade_timeout)

        platform.retry_upgrade = retry
        result, _failure = make_run(platform, devices=['a'], version='1.6.201', retries=3, retry_delay=10, wait_timeout=120).run()
        entry = by_id(result)['a']
        assert (entry['status'], entry['attempts']) == (status, 2), entry
        assert len(platform.start_requests) == 2        # the first start and the one retry; never a third
        if status == 'failed':
            assert 'outcome is unknown' in entry['msg'] and 'nothing was re-sent' in entry['msg']


def test_retries_go_through_the_start_lock(tmp_path, monkeypatch):
    import json
    import glob
    monkeypatch.setenv('XDG_CACHE_HOME', str(tmp_path))
    platform = FakePlatform([device('a', '1.4.120'), device('b', '1.4.120')], catalog())
    platform.behaviour['a'] = 'fail_once'
    make_run(platform, devices=['a', 'b'], version='1.6.201', retries=1, retry_delay=5).run()
    journal, = glob.glob(str(tmp_path / 'fleetota' / 'start-*.json'))
    with open(journal) as handle:
        assert [ids for _gen, ids in json.load(handle)['records']] == [['a', 'b'], ['a']]


# -- max_failures -------------------------------------------------------------------------------

def abort_fleet(cancel=True):
    """bad1, bad2 fail at once; busy upgrades slowly (seen busy); late1, late2 are pushed but not picked up for 10 polls."""
    platform = FakePlatform([device(n, '1.4.120') for n in ('bad1', 'bad2', 'busy', 'late1', 'late2')], catalog(), steps=1)
    platform.can_cancel = cancel
    platform.behaviour.update(bad1='fail', bad2='fail')
    platform.idle_polls.update(late1=10, late2=10)
    return platform


@pytest.mark.parametrize('limit', [1, '1', '20%', '39%'])
def test_max_failures_passed_cancels_what_has_not_started_and_waits_for_the_rest(limit):
    platform = abort_fleet()
    platform.steps = 3
    platform.behaviour.update(busy=None)
    result, failure = make_run(platform, devices=['bad1', 'bad2', 'busy', 'late1', 'late2'], version='1.6.201', max_failures=limit).run()
    devices = by_id(result)
    assert [devices[n]['status'] for n in ('bad1', 'bad2', 'busy', 'late1', 'late2')] == ['failed', 'failed', 'succeeded', 'canceled', 'canceled']
    assert devices['late1']['failure'] is None and 'max_failures (%s' % limit in devices['late1']['msg']
    assert platform.cancel_requests == [(['late1', 'late2'], None, False)]
    assert result['aborted'].startswith('max_failures (%s' % limit) and '2 pending upgrade(s) canceled' in result['aborted']
    assert result['summary']['canceled'] == 2
    assert failure.startswith('aborted, max_failures')


def test_max_failures_not_passed_does_not_abort():
    platform = abort_fleet()
    result, failure = make_run(platform, devices=['bad1', 'bad2', 'busy', 'late1', 'late2'], version='1.6.201', max_failures='40%').run()
    assert result['aborted'] is None and platform.cancel_requests == []
    assert [e['status'] for e in result['devices']] == ['failed', 'failed', 'succeeded', 'succeeded', 'succeeded']


def test_a_failure_with_retries_left_does_not_count_against_max_failures():
    platform = abort_fleet()
    platform.behaviour.update(bad1='fail_once', bad2='fail_once')
    result, failure = make_run(platform, devices=['bad1', 'bad2', 'busy', 'late1', 'late2'], version='1.6.201', max_failures=0,
                               retries=1, retry_delay=5).run()
    assert failure is None and result['aborted'] is None and platform.cancel_requests == []


def test_max_failures_on_a_vendor_without_cancel_waits_for_every_started_device():
    platform = abort_fleet(cancel=False)
    result, _failure = make_run(platform, devices=['bad1', 'bad2', 'busy', 'late1', 'late2'], version='1.6.201', max_failures=1).run()
    assert [e['status'] for e in result['devices']] == ['failed', 'failed', 'succeeded', 'succeeded', 'succeeded']
    assert 'fake has no cancel and queues nothing' in result['aborted'] and 'waited for' in result['aborted']
    assert platform.cancel_requests == []


def test_max_failures_cancels_queued_devices_too():
    platform = FakePlatform([device('bad', '1.4.120'), device('off', '1.4.120', online=False)], catalog())
    platform.queues_offline = platform.can_cancel = True
    platform.behaviour['bad'] = 'fail'
    result, _failure = make_run(platform, devices=['bad', 'off'], version='1.6.201', offline='queue', max_failures=0).run()
    assert by_id(result)['off']['status'] == 'canceled' and platform.queued == {}


@pytest.mark.parametrize('fault, late_status', [('lost', 'succeeded'), ('applied', 'timed_out')])
def test_a_cancel_whose_answer_is_lost_is_not_taken_for_done(fault, late_status):
    platform = abort_fleet()
    platform.cancel_fault = fault
    result, _failure = make_run(platform, devices=['bad1', 'bad2', 'busy', 'late1', 'late2'], version='1.6.201', max_failures=1,
                                wait_timeout=120).run()
    devices = by_id(result)
    assert devices['late1']['status'] == late_status and result['summary']['canceled'] == 0
    assert 'the cancel request failed' in result['aborted'] and len(platform.cancel_requests) == 1


@pytest.mark.parametrize('value', ['abc', '-1', '1.5', '150%', '%', 'x%', True, -2, 'nan%'])
def test_a_bad_max_failures_is_refused_before_any_write(value):
    platform = fleet()
    with pytest.raises(ConfigError) as exc:
        make_run(platform, devices=['old'], version='1.6.201', max_failures=value).run()
    assert "max_failures '%s' is not valid" % value in str(exc.value) and "'10%'" in str(exc.value)
    assert platform.start_requests == []


@pytest.mark.parametrize('kwargs, message', [
    ({'retries': -1}, "retries '-1' is not valid"),
    ({'retries': True}, "retries 'True' is not valid"),
    ({'retry_delay': -1}, "retry_delay '-1' is not valid"),
    ({'retry_delay': float('nan')}, "retry_delay 'nan' is not valid"),
    ({'offline': 'later'}, "offline 'later' is not valid: expected one of skip, queue, fail"),
])
def test_bad_retry_and_offline_options_are_refused(kwargs, message):
    platform = fleet()
    with pytest.raises(ConfigError) as exc:
        make_run(platform, devices=['old'], version='1.6.201', **kwargs)
    assert message in str(exc.value)


# -- interruption -----------------------------------------------------------------------------------

def signal_run(platform, signum, at_sleep=2, **kwargs):
    clock = FakeClock()

    def sleep(seconds):
        clock.sleep(seconds)
        if len(clock.sleeps) == at_sleep:
            os.kill(os.getpid(), signum)

    run = UpgradeRun(platform, kwargs.pop('devices'), version='1.6.201', poll_interval=5, wait_timeout=600, clock=clock, sleep=sleep, **kwargs)
    before = signal.getsignal(signum)
    with StopOnSignals(run.interrupt):
        outcome = run.run()
    assert signal.getsignal(signum) is before       # the previous handler is back
    return outcome


@pytest.mark.parametrize('signum', [signal.SIGTERM, signal.SIGINT])
def test_a_signal_while_waiting_cancels_what_is_pending_and_reports_every_device(signum):
    platform = abort_fleet()
    platform.behaviour.clear()
    platform.steps = 20
    result, failure = signal_run(platform, signum, devices=['busy', 'late1', 'late2'])
    devices = by_id(result)
    name = signal.Signals(signum).name
    assert failure.startswith('interrupted by %s' % name)
    assert [devices[n]['status'] for n in ('busy', 'late1', 'late2')] == ['started', 'canceled', 'canceled']
    assert 'no longer waited for: interrupted by %s' % name in devices['busy']['msg']
    assert platform.cancel_requests == [(['late1', 'late2'], None, False)]
    assert platform.polls == 2


def test_a_signal_during_a_write_keeps_its_answer_and_stops_at_the_next_safe_point():
    platform = abort_fleet()
    platform.behaviour.clear()
    real_start = platform.start_upgrade

    def start(firmware, devices, **kwargs):
        os.kill(os.getpid(), signal.SIGTERM)
        return real_start(firmware, devices, **kwargs)

    platform.start_upgrade = start
    run = UpgradeRun(platform, ['busy', 'late1'], version='1.6.201', clock=FakeClock(), sleep=FakeClock().sleep)
    with StopOnSignals(run.interrupt):
        result, failure = run.run()
    devices = by_id(result)
    assert (devices['busy']['status'], devices['busy']['attempts']) == ('started', 1)   # the answer was kept
    assert devices['late1']['status'] == 'canceled' and platform.polls == 0
    assert failure.startswith('interrupted by SIGTERM')


def test_a_signal_during_retry_delay_sends_no_retry():
    platform = FakePlatform([device('a', '1.4.120')], catalog())
    platform.behaviour['a'] = 'fail'
    result, failure = signal_run(platform, signal.SIGTERM, at_sleep=3, devices=['a'], retries=2, retry_delay=30)
    assert platform.retry_requests == [] and by_id(result)['a']['status'] == 'failed'
    assert 'not retried: interrupted by SIGTERM' in by_id(result)['a']['msg'] and failure.startswith('interrupted by SIGTERM')


def test_the_real_sleep_wakes_early_on_a_signal():
    platform = fleet()
    platform.behaviour['old'] = 'hang'
    run = UpgradeRun(platform, ['old'], version='1.6.201', poll_interval=3600, wait_timeout=7200)
    timer = threading.Timer(0.2, os.kill, (os.getpid(), signal.SIGTERM))
    with StopOnSignals(run.interrupt):
        timer.start()
        result, failure = run.run()
    timer.join()
    assert platform.polls == 1 and failure.startswith('interrupted by SIGTERM')


# -- firmware_cancel ----------------------------------------------------------------------------------

def test_cancel_run_check_mode_then_cancel_then_nothing_pending():
    platform = FakePlatform([device('q', '1.4.120', online=False), device('idle', '1.6.201')], catalog())
    platform.queues_offline = platform.can_cancel = True
    platform.queued['q'] = '1.6.201'
    result, failure = CancelRun(platform, ['q', 'idle'], check_mode=True).run()
    assert failure is None and result['changed'] is True and platform.queued == {'q': '1.6.201'}
    assert [(e['id'], e['status']) for e in result['devices']] == [('q', 'canceled'), ('idle', 'nothing_pending')]
    assert result['msg'] == '1 would be canceled, 1 nothing pending'
    result, _failure = CancelRun(platform, ['q', 'idle']).run()
    assert result['changed'] is True and platform.queued == {} and result['summary'] == {'canceled': 1, 'not_cancelable': 0, 'nothing_pending': 1}
    assert result['jobs'] == ['J1']
    result, _failure = CancelRun(platform, ['q', 'idle']).run()
    assert result['changed'] is False and result['summary']['nothing_pending'] == 2


def test_cancel_run_refuses_unknown_ids_before_any_write():
    platform = FakePlatform([device('q', '1.4.120')], catalog())
    platform.can_cancel = True
    with pytest.raises(ConfigError) as exc:
        CancelRun(platform, ['q', 'ghost1', 'ghost2']).run()
    assert 'ghost1, ghost2' in str(exc.value) and 'nothing was canceled' in str(exc.value)
    assert platform.cancel_requests == []
    with pytest.raises(ConfigError) as exc:
        CancelRun(platform, None, jobs=None)
    assert 'give devices, jobs or both' in str(exc.value)
    result, _failure = CancelRun(platform, [], jobs=[]).run()        # an empty list: nothing to cancel, nothing sent
    assert result['changed'] is False and result['devices'] == [] and platform.cancel_requests == []


def test_cancel_run_on_a_vendor_without_cancel_says_so_per_device():
    platform = FakePlatform([device('busy', '1.4.120', upgrading=True), device('idle', '1.4.120')], catalog())
    result, _failure = CancelRun(platform, ['busy', 'idle']).run()
    assert result['changed'] is False
    devices = by_id(result)
    assert devices['busy']['status'] == 'not_cancelable' and 'fake has no cancel' in devices['busy']['msg']
    assert devices['idle']['status'] == 'nothing_pending' and 'queues no upgrade' in devices['idle']['msg']
