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
    assert plan['budget'] == 1
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


def test_budget_counts_upgrade_failures_only_and_stops_before_the_next_wave():
    refused = dict(device('g', 'failed'), msg='the vendor refuses: battery low')  # refused at plan time, in no wave
    outcomes = rollout.plan(check_result() + [refused], [1, 1, 1], 0)['outcomes']
    assert rollout.stop_reason(outcomes, 0, 1, 3) == ''  # neither 'f' (not found) nor 'g' (refused) counts
    outcomes = rollout.record(outcomes, [device('c', 'timed_out')], [], 1)
    reason = rollout.stop_reason(outcomes, 0, 1, 3)
    assert 'failure budget (0) was exceeded after wave 1' in reason and '(c)' in reason
    assert rollout.stop_reason(outcomes, 1, 1, 3) == ''
    assert rollout.stop_reason(outcomes, 0, 3, 3) == ''  # nothing left to stop


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
    summary = rollout.summary(outcomes, 0, 'stop', 2)
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
