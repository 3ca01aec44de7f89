# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The rollout_plan filter refuses the role's durations that are not positive, finite numbers, by name."""

import pytest

from ansible.errors import AnsibleFilterError

from ansible_collections.fleetota.cloud.plugins.filter.rollout_plan import rollout_plan

PLAN = [{'id': 'SN1', 'status': 'would_upgrade', 'target_version': '2.0'}, {'id': 'SN2', 'status': 'already_current'}]


@pytest.mark.parametrize('name', ['wait_timeout', 'poll_interval'])
@pytest.mark.parametrize('value', [float('nan'), float('inf'), float('-inf'), 'nan', 'NaN', 'inf', 'Infinity', '1e999', 0, -5, 'soon', True])
def test_durations_that_are_not_positive_finite_numbers_are_refused_by_name(name, value):
    with pytest.raises(AnsibleFilterError) as exc:
        rollout_plan(PLAN, ['100%'], 0, **{name: value})
    assert 'firmware_rollout_%s is %r: expected a positive, finite number of seconds' % (name, value) in str(exc.value)


@pytest.mark.parametrize('value', [3600, 0.3, '10', '2.5'])
def test_good_durations_pass_and_the_plan_is_made(value):
    planned = rollout_plan(PLAN, ['100%'], 0, wait_timeout=value, poll_interval=value)
    assert planned['waves'] == [['SN1']]
    assert rollout_plan(PLAN, ['100%'], 0)['waves'] == [['SN1']]   # not given: not checked
