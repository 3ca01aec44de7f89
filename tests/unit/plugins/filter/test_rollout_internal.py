# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The role's internal filter: each step runs its function of plugin_utils/_rollout.py, an unknown step is refused by
name, and its `plan` step refuses the role's durations that are not positive, finite numbers, by name."""

import pytest

from ansible.errors import AnsibleFilterError

from ansible_collections.fleetota.cloud.plugins.filter.rollout_internal import FilterModule, rollout_internal
from ansible_collections.fleetota.cloud.plugins.plugin_utils import _rollout

PLAN = [{'id': 'SN1', 'status': 'would_upgrade', 'target_version': '2.0'}, {'id': 'SN2', 'status': 'already_current'}]


@pytest.mark.parametrize('name', ['wait_timeout', 'poll_interval'])
@pytest.mark.parametrize('value', [float('nan'), float('inf'), float('-inf'), 'nan', 'NaN', 'inf', 'Infinity', '1e999', 0, -5, 'soon', True])
def test_durations_that_are_not_positive_finite_numbers_are_refused_by_name(name, value):
    with pytest.raises(AnsibleFilterError) as exc:
        rollout_internal(PLAN, 'plan', ['100%'], 0, **{name: value})
    assert 'firmware_rollout_%s is %r: expected a positive, finite number of seconds' % (name, value) in str(exc.value)


@pytest.mark.parametrize('value', [3600, 0.3, '10', '2.5'])
def test_good_durations_pass_and_the_plan_is_made(value):
    planned = rollout_internal(PLAN, 'plan', ['100%'], 0, wait_timeout=value, poll_interval=value)
    assert planned['waves'] == [['SN1']]
    assert rollout_internal(PLAN, 'plan', ['100%'], 0)['waves'] == [['SN1']]   # not given: not checked


def test_the_role_has_one_filter():
    assert list(FilterModule().filters()) == ['rollout_internal']


def test_a_bad_share_in_the_plan_is_refused_as_a_filter_error():
    with pytest.raises(AnsibleFilterError) as exc:
        rollout_internal(PLAN, 'plan', ['lots'], 0)
    assert 'lots' in str(exc.value)


def test_every_step_runs_its_function_of_plugin_utils():
    planned = rollout_internal(PLAN, 'plan', ['100%'], 0)
    assert planned == _rollout.plan(PLAN, ['100%'], 0)
    outcomes = planned['outcomes']
    upgraded = [{'id': 'SN1', 'action': 'upgrade', 'status': 'failed', 'target_version': '2.0', 'msg': 'bricked'}]
    recorded = rollout_internal(outcomes, 'record', upgraded, [], 1)
    assert recorded == _rollout.record(outcomes, upgraded, [], 1)
    assert recorded['SN1']['status'] == 'failed'
    policy = planned['budget']
    assert rollout_internal(outcomes, 'wave_max_failures', policy, ['SN1']) == _rollout.wave_max_failures(outcomes, policy, ['SN1']) == 0
    assert rollout_internal(recorded, 'stop_reason', policy, 1, 2) == _rollout.stop_reason(recorded, policy, 1, 2)
    assert rollout_internal(recorded, 'stop_reason', policy, 1, 2).startswith('the failure budget (0) was exceeded after wave 1')
    assert rollout_internal(recorded, 'stop_reason', policy, 2, 2, aborted='x') == _rollout.stop_reason(recorded, policy, 2, 2, aborted='x')
    timed_out = rollout_internal(outcomes, 'record', [dict(upgraded[0], status='timed_out')], [], 1)
    assert rollout_internal(timed_out, 'cancel_candidates') == _rollout.cancel_candidates(timed_out) == ['SN1']
    cancel = [{'id': 'SN1', 'status': 'canceled', 'msg': 'task canceled'}]
    assert rollout_internal(timed_out, 'canceled', cancel) == _rollout.canceled(timed_out, cancel)
    assert rollout_internal(outcomes, 'finish', 'stopped', False) == _rollout.finish(outcomes, 'stopped', False)
    assert rollout_internal(outcomes, 'finish', 'stopped', False)['SN1']['status'] == 'not_started'
    assert rollout_internal(outcomes, 'finish', 'stopped', check_mode=True) == outcomes
    assert rollout_internal(recorded, 'summary', policy, '', 1) == _rollout.summary(recorded, policy, '', 1)
    assert rollout_internal(recorded, 'summary', policy, '', 1)['failures'] == 1
    ids = {'enc-1': 'SN1', 'enc-2': 'SN2', 'enc-3': ''}
    assert rollout_internal(recorded, 'by_host', ids) == {'enc-1': recorded['SN1'], 'enc-2': recorded['SN2'], 'enc-3': None}


@pytest.mark.parametrize('step', ['rollout_plan', 'Plan', '', None, 3, 'describe', 'failures'])
def test_an_unknown_step_is_refused_by_name_with_the_steps_there_are(step):
    with pytest.raises(AnsibleFilterError) as exc:
        rollout_internal({}, step)
    steps = 'plan, record, wave_max_failures, stop_reason, finish, cancel_candidates, canceled, summary, by_host'
    assert 'unknown step %r, expected one of %s' % (step, steps) in str(exc.value)


def test_the_plan_takes_the_wave_limit_and_min_finished_and_refuses_bad_ones_by_name():
    planned = rollout_internal(PLAN, 'plan', ['100%'], {'failed': '10%'}, wave_max_failures=2, min_finished=3)
    assert planned == _rollout.plan(PLAN, ['100%'], {'failed': '10%'}, 2, 3)
    assert planned['budget']['wave']['limit'] == 2 and planned['budget']['min_finished'] == 3
    with pytest.raises(AnsibleFilterError, match='firmware_rollout_wave_max_failures'):
        rollout_internal(PLAN, 'plan', ['100%'], 0, wave_max_failures='lots')
    with pytest.raises(AnsibleFilterError, match="firmware_rollout_max_failures has the unknown key.s. 'bricked'"):
        rollout_internal(PLAN, 'plan', ['100%'], {'bricked': 1})


def test_wrong_arguments_for_a_step_name_the_step():
    with pytest.raises(AnsibleFilterError) as exc:
        rollout_internal({}, 'stop_reason', 1)
    assert "rollout_internal('stop_reason')" in str(exc.value)
