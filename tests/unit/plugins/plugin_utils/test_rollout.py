# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Waves, failure budget and outcomes of the firmware_rollout role."""

import pytest

from ansible_collections.fleetota.cloud.plugins.module_utils._errors import ConfigError
from ansible_collections.fleetota.cloud.plugins.plugin_utils import _rollout as rollout

IDS = ['d%02d' % n for n in range(20)]


@pytest.mark.parametrize('waves, sizes', [
    ([1, '10%', '50%', '100%'], [1, 2, 10, 7]),
    ([1, '25%'], [1, 5, 5, 5, 4]),
    ([], [20]),
    (None, [20]),
    ('1,10%,100%', [1, 2, 17]),
    (['3'], [3, 3, 3, 3, 3, 3, 2]),
    ([50], [20]),
    (['1%'], [1] * 20),
])
def test_waves_follow_serial_semantics(waves, sizes):
    split = rollout.split_waves(IDS, waves)
    assert [len(wave) for wave in split] == sizes
    assert [device for wave in split for device in wave] == IDS


def test_no_devices_no_waves():
    assert rollout.split_waves([], [1, '100%']) == []


@pytest.mark.parametrize('bad', [[0], ['0%'], ['150%'], ['ten'], [-1], [True], [1.5], 'x,1', {'a': 1}])
def test_bad_wave_sizes_are_named(bad):
    with pytest.raises(ConfigError) as error:
        rollout.split_waves(IDS, bad)
    assert 'firmware_rollout_waves' in str(error.value)
    assert 'expected' in str(error.value)


@pytest.mark.parametrize('spec, total, budget', [(0, 100, 0), (3, 100, 3), ('3', 10, 3), ('10%', 55, 5), ('0%', 10, 0), ('100%', 7, 7)])
def test_failure_budget(spec, total, budget):
    assert rollout.failure_budget(total, spec) == budget


@pytest.mark.parametrize('bad', [-1, '-2', '101%', 'some', None, True])
def test_bad_failure_budget_is_named(bad):
    with pytest.raises(ConfigError) as error:
        rollout.failure_budget(10, bad)
    assert 'firmware_rollout_max_failures' in str(error.value)


def device(device_id, status, action='upgrade', previous='1.0.0', target='2.0.0'):
    return {'id': device_id, 'previous_version': previous, 'target_version': target, 'current_version': previous,
            'action': action, 'status': status, 'msg': status}


def check_result():
    return [device('a', 'would_upgrade'), device('b', 'already_current', 'none', '2.0.0'), device('c', 'in_progress'),
            device('d', 'would_upgrade'), device('e', 'skipped', 'downgrade_refused', '3.0.0'), device('f', 'failed', 'none', None, None)]


def test_plan_puts_running_upgrades_first_and_numbers_waves():
    plan = rollout.plan(check_result(), [1, '100%'], '50%')
    assert plan['waves'] == [['c'], ['a', 'd']]
    assert plan['budget']['limits'] == {'total': {'spec': '50%', 'percent': True, 'amount': 50.0, 'limit': 1}}
    assert plan['outcomes']['c']['wave'] == 1 and plan['outcomes']['d']['wave'] == 2
    assert plan['outcomes']['b']['wave'] is None
    assert any(line.startswith('wave 2: 2 device(s) to 2.0.0: a, d') for line in plan['lines'])
    assert any('skipped e' in line for line in plan['lines'])


def test_record_marks_unverified_success_as_failure_and_keeps_previous_version():
    outcomes = rollout.plan(check_result(), [], 0)['outcomes']
    upgraded = [dict(device('a', 'succeeded', previous='1.0.0'), current_version='2.0.0'),
                dict(device('d', 'succeeded', previous='1.5.0'), current_version='2.0.0')]
    verified = [{'id': 'a', 'current_version': '2.0.0'}, {'id': 'd', 'current_version': '1.0.0'}]
    merged = rollout.record(outcomes, upgraded, verified, 1)
    assert merged['a']['status'] == 'succeeded' and merged['a']['wave'] == 1
    assert merged['d']['status'] == 'failed'
    assert 'reports 1.0.0, not the target 2.0.0' in merged['d']['msg']
    assert merged['d']['previous_version'] == '1.0.0'  # what the device ran when the run planned
    assert outcomes['a']['status'] == 'would_upgrade'  # the input is not modified


def test_a_device_upgrading_at_plan_time_and_current_by_its_wave_succeeded_from_its_old_version():
    # 'c' was mid-upgrade when the (resumed) rollout planned, 1.0.0 -> 2.0.0; by its wave it runs 2.0.0.
    outcomes = rollout.plan(check_result(), [], 0)['outcomes']
    finished = dict(device('c', 'already_current', 'none', previous='2.0.0'), current_version='2.0.0')
    merged = rollout.record(outcomes, [finished, dict(device('b', 'already_current', 'none', '2.0.0'), current_version='2.0.0')],
                            [{'id': 'c', 'current_version': '2.0.0'}, {'id': 'b', 'current_version': '2.0.0'}], 1)
    assert (merged['c']['status'], merged['c']['action'], merged['c']['previous_version']) == ('succeeded', 'upgrade', '1.0.0')
    assert merged['c']['current_version'] == '2.0.0' and 'from 1.0.0 to 2.0.0' in merged['c']['msg']
    assert merged['c']['status'] in rollout.CHANGED
    assert merged['b']['status'] == 'already_current'          # current when planned: nothing of this rollout
    # Verified at another version: a failure, as for any success the devices do not confirm.
    merged = rollout.record(outcomes, [finished], [{'id': 'c', 'current_version': '1.0.0'}], 1)
    assert merged['c']['status'] == 'failed'


def policy(max_failures, total=3, wave=None, min_finished=0):
    return rollout.failure_policy(total, max_failures, wave, min_finished)


def test_budget_counts_upgrade_failures_only_and_stops_before_the_next_wave():
    refused = dict(device('g', 'failed'), msg='the vendor refuses: battery low')  # refused at plan time, in no wave
    outcomes = rollout.plan(check_result() + [refused], [1, 1, 1], 0)['outcomes']
    assert rollout.stop_reason(outcomes, policy(0), 1, 3) == ''  # neither 'f' (not found) nor 'g' (refused) counts
    outcomes = rollout.record(outcomes, [device('c', 'timed_out')], [], 1)
    reason = rollout.stop_reason(outcomes, policy(0), 1, 3)
    assert 'failure budget (0) was exceeded after wave 1' in reason and '(c)' in reason
    assert rollout.stop_reason(outcomes, policy(1), 1, 3) == ''
    assert rollout.stop_reason(outcomes, policy(0), 3, 3) == ''  # nothing left to stop


def test_finish_marks_unreached_devices_not_started():
    outcomes = rollout.plan(check_result(), [1, 1, 1], 0)['outcomes']
    outcomes = rollout.record(outcomes, [device('c', 'failed')], [], 1)
    done = rollout.finish(outcomes, 'budget exceeded')
    assert done['a']['status'] == rollout.NOT_STARTED and 'before wave 2: budget exceeded' in done['a']['msg']
    assert done['c']['status'] == 'failed' and done['b']['status'] == 'already_current'
    assert rollout.finish(outcomes, 'x', check_mode=True)['a']['status'] == 'would_upgrade'
    assert rollout.finish(outcomes, '')['a']['status'] == 'would_upgrade'


def test_summary_counts_per_status_and_wave():
    outcomes = rollout.plan(check_result(), [1, '100%'], 0)['outcomes']
    outcomes = rollout.record(outcomes, [dict(device('c', 'succeeded'), current_version='2.0.0')], [], 1)
    outcomes = rollout.finish(rollout.record(outcomes, [device('a', 'failed')], [], 2), 'stop')
    summary = rollout.summary(outcomes, policy(0), 'stop', 2)
    assert summary['devices'] == 6
    assert summary['by_status'] == {'already_current': 1, 'failed': 2, 'not_started': 1, 'skipped': 1, 'succeeded': 1}
    assert summary['by_wave'] == {'wave 1': {'succeeded': 1}, 'wave 2': {'failed': 1, 'not_started': 1}}
    assert summary['failures'] == 1 and summary['stopped'] == 'stop'


def test_by_host_maps_every_host_once_and_tolerates_hosts_without_ids():
    outcomes = rollout.plan(check_result(), [], 0)['outcomes']
    mapped = rollout.by_host(outcomes, {'host-a': 'a', 'host-b': 'b', 'no-id': '', 'gone': 'zz'})
    assert list(mapped) == ['host-a', 'host-b', 'no-id', 'gone']
    assert mapped['host-a']['id'] == 'a' and mapped['host-b']['status'] == 'already_current'
    assert mapped['no-id'] is None and mapped['gone'] is None


# --- The failure policy by kind, the wave limit, min_finished, offline devices, the stop's cancel (issue 19) ---

def wave_result(device_id, status, failure=None, attempts=1):
    entry = dict(device(device_id, status), failure=failure, attempts=attempts)
    if status == 'succeeded':
        entry['current_version'] = '2.0.0'
    return entry


def planned(count, waves, max_failures, wave=None, min_finished=0, extra=()):
    devices = [device('d%02d' % n, 'would_upgrade') for n in range(count)] + list(extra)
    return rollout.plan(devices, waves, max_failures, wave, min_finished)


def test_a_scalar_budget_is_the_total_and_a_dict_sets_limits_by_kind():
    assert policy(3)['limits'] == {'total': {'spec': '3', 'percent': False, 'amount': 3, 'limit': 3}}
    assert policy('10%', total=55)['limits']['total']['limit'] == 5
    mixed = policy({'failed': 1, 'timed_out': '10%', 'offline': '2', 'refused': 0, 'total': '20%'}, total=40)['limits']
    assert dict((key, limit['limit']) for key, limit in mixed.items()) == {'failed': 1, 'timed_out': 4, 'offline': 2, 'refused': 0, 'total': 8}
    assert policy({'failed': 1})['limits'].keys() == {'failed'}   # no total limit unless given


@pytest.mark.parametrize('bad, named', [
    ({'bricked': 1}, "has the unknown key(s) 'bricked': expected a count, a percent, or a dict with one or more of the keys "
                     "failed, timed_out, offline, refused, total"),
    ({'failed': 1, 'Total': 2}, "unknown key(s) 'Total'"),
    ({}, 'is an empty dict'),
    ({'timed_out': '150%'}, "firmware_rollout_max_failures.timed_out is '150%'"),
    ({'failed': -1}, 'firmware_rollout_max_failures.failed is -1'),
    ({'total': None}, 'firmware_rollout_max_failures.total is None'),
])
def test_a_bad_policy_is_refused_naming_the_key_and_the_valid_ones(bad, named):
    with pytest.raises(ConfigError) as error:
        policy(bad)
    assert named in str(error.value)


@pytest.mark.parametrize('name, kwargs, named', [
    ('wave', {'wave': 'half'}, "firmware_rollout_wave_max_failures is 'half'"),
    ('wave', {'wave': '-1'}, "firmware_rollout_wave_max_failures is '-1'"),
    ('min', {'min_finished': -1}, 'firmware_rollout_min_finished is -1: expected a count of devices, 0 or more'),
    ('min', {'min_finished': 'some'}, "firmware_rollout_min_finished is 'some'"),
    ('min', {'min_finished': True}, 'firmware_rollout_min_finished is True'),
    ('min', {'min_finished': 1.5}, 'firmware_rollout_min_finished is 1.5'),
])
def test_a_bad_wave_limit_or_min_finished_is_refused_by_name(name, kwargs, named):
    with pytest.raises(ConfigError) as error:
        policy(0, **kwargs)
    assert named in str(error.value), name


def test_the_total_counts_failed_timed_out_and_offline_kinds_but_not_refused():
    outcomes = planned(10, [4, '100%'], 2)['outcomes']
    outcomes = rollout.record(outcomes, [wave_result('d00', 'failed', 'failed'), wave_result('d01', 'timed_out', 'timed_out'),
                                         wave_result('d02', 'failed', 'refused'), wave_result('d03', 'succeeded')], [], 1)
    assert rollout.failures(outcomes) == ['d00', 'd01']
    assert rollout.stop_reason(outcomes, policy(2, total=10), 1, 2) == ''          # 2 counted, 2 tolerated
    outcomes = rollout.record(outcomes, [wave_result('d04', 'failed', 'offline')], [], 1)  # offline: fail, refused as offline
    reason = rollout.stop_reason(outcomes, policy(2, total=10), 1, 2)
    assert reason == 'the failure budget (2) was exceeded after wave 1: 3 device(s) failed, timed out or offline (d00, d01, d04)'
    assert rollout.failures_by_kind(outcomes) == {'failed': ['d00'], 'timed_out': ['d01'], 'offline': ['d04'], 'refused': ['d02']}


def test_a_failure_without_a_kind_takes_it_from_its_status():
    outcomes = rollout.record(planned(2, [], 0)['outcomes'], [device('d00', 'timed_out'), device('d01', 'failed')], [], 1)
    assert rollout.failures_by_kind(outcomes)['timed_out'] == ['d00'] and rollout.failures_by_kind(outcomes)['failed'] == ['d01']


def test_refused_devices_count_only_against_their_own_limit():
    not_found = dict(device('zz', 'failed', 'none', None, None), msg='not found')  # refused at plan time
    outcomes = planned(4, [1, '100%'], 0, extra=[not_found])['outcomes']
    outcomes = rollout.record(outcomes, [wave_result('d00', 'failed', 'refused')], [], 1)
    assert rollout.stop_reason(outcomes, policy(0, total=4), 1, 2) == ''
    assert rollout.stop_reason(outcomes, policy({'refused': 2}, total=4), 1, 2) == ''
    reason = rollout.stop_reason(outcomes, policy({'refused': 1, 'total': 0}, total=4), 1, 2)
    assert reason == 'the failure budget for refused (1) was exceeded after wave 1: 2 device(s) refused (d00, zz)'


@pytest.mark.parametrize('kind, status', [('failed', 'failed'), ('timed_out', 'timed_out'), ('offline', 'failed')])
def test_each_kind_stops_at_its_own_limit_and_the_reason_names_it(kind, status):
    outcomes = planned(10, [2, '100%'], 0)['outcomes']
    outcomes = rollout.record(outcomes, [wave_result('d00', status, kind), wave_result('d01', 'succeeded')], [], 1)
    assert rollout.stop_reason(outcomes, policy({kind: 1}, total=10), 1, 2) == ''
    others = [other for other in ('failed', 'timed_out', 'offline') if other != kind]
    assert rollout.stop_reason(outcomes, policy(dict((other, 0) for other in others), total=10), 1, 2) == ''
    reason = rollout.stop_reason(outcomes, policy({kind: 0}, total=10), 1, 2)
    assert reason == 'the failure budget for %s (0) was exceeded after wave 1: 1 device(s) %s (d00)' % (kind, kind.replace('_', ' '))


def test_a_percent_of_the_run_is_of_its_devices_to_upgrade():
    outcomes = planned(20, [5, '100%'], '10%')['outcomes']          # 10% of 20 = 2
    outcomes = rollout.record(outcomes, [wave_result('d00', 'failed', 'failed'), wave_result('d01', 'failed', 'failed')], [], 1)
    assert rollout.stop_reason(outcomes, policy('10%', total=20), 1, 2) == ''
    outcomes = rollout.record(outcomes, [wave_result('d02', 'timed_out', 'timed_out')], [], 1)
    assert 'the failure budget (10%: 2 of 20 device(s)) was exceeded' in rollout.stop_reason(outcomes, policy('10%', total=20), 1, 2)


def test_the_wave_limit_is_of_the_wave_s_devices_and_stops_the_rollout():
    plan = planned(20, [10, '100%'], '50%', wave='20%')             # 20% of a wave of 10 = 2
    outcomes = rollout.record(plan['outcomes'], [wave_result('d%02d' % n, 'failed', 'failed') for n in range(2)], [], 1)
    assert rollout.stop_reason(outcomes, plan['budget'], 1, 2) == ''
    outcomes = rollout.record(outcomes, [wave_result('d02', 'timed_out', 'timed_out')], [], 1)
    reason = rollout.stop_reason(outcomes, plan['budget'], 1, 2)
    assert reason == ('the wave limit (20%: 2 of 10 device(s)) was exceeded in wave 1: 3 device(s) failed, timed out or offline '
                      '(d00, d01, d02)')
    # a count per wave, too; and failures of an earlier wave do not count against a later wave's limit
    counted = planned(20, [10, '100%'], '50%', wave=2)
    assert rollout.stop_reason(outcomes, counted['budget'], 1, 2).startswith('the wave limit (2) was exceeded in wave 1')
    later = rollout.record(outcomes, [wave_result('d10', 'failed', 'failed')], [], 2)
    assert 'wave limit' not in rollout.stop_reason(later, counted['budget'], 2, 3)


def test_each_wave_gets_the_smallest_remaining_allowance():
    plan = planned(20, [2, 8, '100%'], 3, wave='25%')
    waves = plan['waves']
    assert rollout.wave_max_failures(plan['outcomes'], plan['budget'], waves[0]) == 0      # 25% of 2 = 0 < 3
    assert rollout.wave_max_failures(plan['outcomes'], plan['budget'], waves[1]) == 2      # 25% of 8 = 2 < 3
    outcomes = rollout.record(plan['outcomes'], [wave_result('d00', 'failed', 'failed'), wave_result('d01', 'failed', 'refused')], [], 1)
    assert rollout.wave_max_failures(outcomes, plan['budget'], waves[1]) == 2              # 3 - 1 = 2 (refused not counted)
    outcomes = rollout.record(outcomes, [wave_result('d02', 'timed_out', 'timed_out'), wave_result('d03', 'failed', 'offline')], [], 2)
    assert rollout.wave_max_failures(outcomes, plan['budget'], waves[2]) == 0              # 3 - 3
    assert rollout.wave_max_failures(outcomes, planned(20, [], {'failed': 1})['budget'], waves[2]) is None   # no total, no wave limit
    assert rollout.wave_max_failures(plan['outcomes'], planned(20, [], '10%')['budget'], waves[1]) == 2
    over = rollout.record(outcomes, [wave_result('d04', 'failed', 'failed')] * 1, [], 2)
    assert rollout.wave_max_failures(over, plan['budget'], waves[2]) == 0                  # never negative


def test_a_percent_is_not_judged_until_min_finished_devices_have_finished():
    # A 1-device canary that fails: 10% of its wave would mean "any"; with min_finished 5 it is not judged yet.
    plan = planned(50, [1, 9, '100%'], '10%', wave='10%', min_finished=5)
    assert rollout.wave_max_failures(plan['outcomes'], plan['budget'], plan['waves'][0]) is None
    outcomes = rollout.record(plan['outcomes'], [wave_result('d00', 'failed', 'failed')], [], 1)
    assert rollout.stop_reason(outcomes, plan['budget'], 1, 3) == ''
    assert rollout.wave_max_failures(outcomes, plan['budget'], plan['waves'][1]) is None    # 1 finished, 5 needed
    without = planned(50, [1, 9, '100%'], '10%', wave='10%')
    assert rollout.stop_reason(outcomes, without['budget'], 1, 3).startswith('the wave limit (10%: 0 of 1 device(s)) was exceeded in wave 1')
    # wave 2: 9 more finish (one fails): 10 finished, the percents are judged
    second = [wave_result('d%02d' % n, 'succeeded') for n in range(1, 9)] + [wave_result('d09', 'timed_out', 'timed_out')]
    outcomes = rollout.record(outcomes, second, [], 2)
    assert rollout.finished_count(outcomes) == 10
    assert rollout.wave_max_failures(outcomes, plan['budget'], plan['waves'][2]) == 3     # 10% of 50 = 5 - 2 = 3; wave 10% of 40 = 4
    # judged now: the run's 2 of 5 pass, the wave's 1 of 10% of 9 (0) does not
    assert rollout.stop_reason(outcomes, plan['budget'], 2, 3) == ('the wave limit (10%: 0 of 9 device(s)) was exceeded in wave 2: '
                                                                   '1 device(s) failed, timed out or offline (d09)')
    # a count is judged at once, min_finished or not
    counted = planned(50, [1, 9, '100%'], 0, min_finished=5)
    assert rollout.wave_max_failures(counted['outcomes'], counted['budget'], counted['waves'][0]) == 0
    first = rollout.record(counted['outcomes'], [wave_result('d00', 'failed', 'failed')], [], 1)
    assert rollout.stop_reason(first, counted['budget'], 1, 3).startswith('the failure budget (0) was exceeded after wave 1')


def test_a_wave_aborted_by_firmware_upgrade_stops_the_rollout_even_after_the_last_wave():
    plan = planned(4, [], 5)
    outcomes = rollout.record(plan['outcomes'], [wave_result('d00', 'failed', 'failed'), wave_result('d01', 'canceled', None, 0)], [], 1)
    assert rollout.stop_reason(outcomes, plan['budget'], 1, 1) == ''
    reason = rollout.stop_reason(outcomes, plan['budget'], 1, 1, aborted='max_failures (0) passed: 1 device(s) failed')
    assert reason == 'wave 1 was aborted: max_failures (0) passed: 1 device(s) failed'
    assert rollout.failures(outcomes) == ['d00']   # a device canceled by the abort is no failure


def test_offline_devices_deferred_are_in_no_wave_queued_ones_go_last():
    devices = [device('off', 'deferred_offline'), device('q1', 'queued'), device('a', 'would_upgrade'), device('c', 'in_progress'),
               device('q2', 'queued'), device('b', 'would_upgrade')]
    plan = rollout.plan(devices, [1, '100%'], '50%')
    assert plan['waves'] == [['c'], ['a', 'b', 'q1', 'q2']]                  # a canary installs now; queued devices last
    assert plan['outcomes']['off']['wave'] is None
    assert plan['budget']['limits']['total']['limit'] == 2                  # 50% of the 5 devices to upgrade
    outcomes = rollout.record(plan['outcomes'], [wave_result('c', 'succeeded')], [], 1)
    outcomes = rollout.record(outcomes, [wave_result('a', 'succeeded'), wave_result('b', 'deferred_offline', None, 0),
                                         wave_result('q1', 'queued'), wave_result('q2', 'queued')], [], 2)
    assert rollout.failures(outcomes) == [] and rollout.stop_reason(outcomes, plan['budget'], 1, 2) == ''
    for status in ('deferred_offline', 'queued'):
        assert status not in rollout.CHANGED and status not in rollout.HOST_FAILED   # their hosts are ok
    done = rollout.finish(outcomes, 'stopped by the health gate')
    assert [done[d]['status'] for d in ('off', 'b', 'q1')] == ['deferred_offline', 'deferred_offline', 'queued']
    summary = rollout.summary(done, plan['budget'], '', 2)
    assert summary['deferred_offline'] == 2 and summary['by_status']['queued'] == 2 and summary['failures'] == 0


def test_record_keeps_the_failure_kind_and_attempts_and_a_failed_verification_is_a_failed_kind():
    outcomes = rollout.record(planned(3, [], 0)['outcomes'], [wave_result('d00', 'failed', 'failed', attempts=3),
                                                              wave_result('d01', 'succeeded', attempts=2)],
                              [{'id': 'd01', 'current_version': '1.0.0'}], 1)
    assert (outcomes['d00']['failure'], outcomes['d00']['attempts']) == ('failed', 3)
    assert (outcomes['d01']['status'], outcomes['d01']['failure'], outcomes['d01']['attempts']) == ('failed', 'failed', 2)
    assert outcomes['d02']['failure'] is None


def test_the_stop_cancels_what_the_run_sent_that_did_not_finish():
    devices = [device('p', 'in_progress')] + [device(name, 'would_upgrade') for name in ('s', 'f', 't', 'i', 'x', 'n')] + [device('q', 'queued')]
    plan = rollout.plan(devices, [7, '100%'], 0)
    wave = [wave_result('p', 'succeeded'), wave_result('s', 'started'), wave_result('f', 'failed', 'failed'),
            wave_result('t', 'timed_out', 'timed_out'), wave_result('i', 'in_progress'), wave_result('x', 'canceled', None, 0),
            wave_result('n', 'deferred_offline', None, 0)]
    outcomes = rollout.finish(rollout.record(plan['outcomes'], wave, [], 1), 'stop')
    assert outcomes['q']['status'] == rollout.NOT_STARTED     # never sent: nothing to cancel
    assert rollout.cancel_candidates(outcomes) == ['i', 's', 't', 'x']
    # a device upgrading at plan time whose wave never ran was not sent anything by this run
    resumed = rollout.finish(rollout.plan([device('p', 'in_progress'), device('a', 'would_upgrade')], [1, 1], 0)['outcomes'], 'stop')
    assert rollout.cancel_candidates(resumed) == []
    results = [{'id': 't', 'status': 'canceled', 'msg': 'task 7 canceled', 'job': 'j1'},
               {'id': 's', 'status': 'not_cancelable', 'msg': 'already upgrading', 'job': 'j1'},
               {'id': 'i', 'status': 'nothing_pending', 'msg': 'no pending task', 'job': None},
               {'id': 'x', 'status': 'nothing_pending', 'msg': 'no pending task', 'job': None},
               {'id': 'unknown', 'status': 'canceled', 'msg': '?', 'job': None}]
    merged = rollout.canceled(outcomes, results)
    assert merged['t']['status'] == 'canceled' and merged['t']['msg'] == 'canceled when the rollout stopped (was timed_out): task 7 canceled'
    assert merged['s']['status'] == 'started' and merged['s']['msg'].endswith('; not canceled when the rollout stopped: already upgrading')
    assert merged['i'] == outcomes['i'] and 'unknown' not in merged
    assert rollout.failures(merged) == ['f', 't']            # the timed-out device still counts as what it was
    summary = rollout.summary(merged, plan['budget'], 'stop', 2)
    assert summary['canceled'] == {'count': 2, 'ids': ['t', 'x']}
    assert summary['failures_by_kind'] == {'failed': 1, 'timed_out': 1, 'offline': 0, 'refused': 0}
    assert 'canceled' in rollout.HOST_FAILED


def test_the_summary_lists_at_most_a_hundred_canceled_devices_and_counts_them_all():
    plan = planned(10000, [], 0)
    outcomes = rollout.record(plan['outcomes'], [wave_result('d%02d' % n, 'canceled', None, 0) for n in range(10000)], [], 1)
    summary = rollout.summary(outcomes, plan['budget'], 'stop', 1)
    assert summary['canceled']['count'] == 10000 and len(summary['canceled']['ids']) == rollout.SUMMARY_IDS
    assert summary['failure_budget'] == {'total': 0} and summary['wave_max_failures'] is None and summary['min_finished'] == 0


def test_the_plan_describes_the_policy():
    lines = planned(50, [1, '100%'], {'timed_out': '10%', 'total': 3}, wave='20%', min_finished=5)['lines']
    assert ('failure budget: 10% = 5 of 50 timed out device(s) tolerated; 3 failed, timed out or offline device(s) tolerated; '
            '20% failed device(s) per wave, then the wave is aborted; percents judged once 5 device(s) have finished; '
            'one more and no further wave starts') in lines
