# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The per-host report: how each outcome shows in the recap, and the messages when there is none."""

from unittest.mock import MagicMock

import pytest

from ansible.errors import AnsibleActionFail
from ansible.parsing.dataloader import DataLoader
from ansible.template import Templar

from ansible_collections.fleetota.cloud.plugins.action.rollout_result import ActionModule

OUTCOMES = {
    'enc-1': {'id': 'SN1', 'previous_version': '1.0', 'target_version': '2.0', 'current_version': '2.0',
              'action': 'upgrade', 'status': 'succeeded', 'wave': 1, 'msg': None},
    'enc-2': {'id': 'SN2', 'previous_version': '2.0', 'target_version': '2.0', 'current_version': '2.0',
              'action': 'none', 'status': 'already_current', 'wave': None, 'msg': None},
    'enc-3': {'id': 'SN3', 'status': 'timed_out', 'msg': 'no answer in 3600 s', 'wave': 2},
    'enc-4': {'id': 'SN4', 'status': 'not_started', 'wave': 3},
    'no-id': None,
}


def run(args, host='enc-1', **task_vars):
    task = MagicMock()
    task.args = args
    task.check_mode = False
    task.async_val = 0
    loader = DataLoader()
    action = ActionModule(task, MagicMock(), MagicMock(check_mode=False), loader, Templar(loader=loader), None)
    return action.run(task_vars=dict(task_vars, inventory_hostname=host))


@pytest.mark.parametrize('host, changed, failed', [
    ('enc-1', True, False), ('enc-2', False, False), ('enc-3', False, True), ('enc-4', False, True)])
def test_each_status_shows_in_the_recap_as_its_device_did(host, changed, failed):
    result = run({'outcomes_var': 'by_host'}, host=host, by_host=OUTCOMES)
    assert (result['changed'], result['failed']) == (changed, failed)
    assert result['id'] == OUTCOMES[host]['id'] and result['status'] == OUTCOMES[host]['status']


def test_an_outcome_given_directly_is_reported_the_same_way():
    result = run({'outcome': OUTCOMES['enc-3']})
    assert result['failed'] and result['msg'] == 'no answer in 3600 s'


def test_a_host_without_device_id_fails_naming_the_variable():
    result = run({'outcomes_var': 'by_host', 'device_id_var': 'serial'}, host='no-id', by_host=OUTCOMES)
    assert result['failed'] and 'has no device id: set the host variable serial' in result['msg']


def test_a_host_the_rollout_never_reached_fails_with_a_reason():
    result = run({'outcomes_var': 'by_host'}, host='late-host', by_host=OUTCOMES)
    assert result['failed'] and 'no outcome for this host in by_host' in result['msg']
    result = run({'outcomes_var': 'by_host'}, host='enc-1')
    assert result['failed'] and 'no outcome for this host in by_host' in result['msg']


def test_an_outcomes_variable_that_is_no_mapping_is_refused_by_name():
    with pytest.raises(AnsibleActionFail, match='by_host must map host names to outcomes, but it holds a list'):
        run({'outcomes_var': 'by_host'}, by_host=['enc-1'])


def test_a_dotted_outcomes_var_reads_the_map_inside_a_variable():
    report = {'run': {'by_host': OUTCOMES}}
    result = run({'outcomes_var': 'report.run.by_host'}, host='enc-3', report=report)
    assert (result['status'], result['failed'], result['msg']) == ('timed_out', True, 'no answer in 3600 s')
    result = run({'outcomes_var': 'report.run.by_host'}, host='no-id', report=report)
    assert result['failed'] and 'has no device id' in result['msg']


@pytest.mark.parametrize('report', [{}, {'run': {}}, {'other': {'by_host': OUTCOMES}}])
def test_a_dotted_outcomes_var_with_a_missing_key_means_the_rollout_never_got_here(report):
    result = run({'outcomes_var': 'report.run.by_host'}, report=report)
    assert result['failed'] and 'no outcome for this host in report.run.by_host' in result['msg']
    result = run({'outcomes_var': 'report.run.by_host'})
    assert result['failed'] and 'no outcome for this host in report.run.by_host' in result['msg']


def test_a_dotted_outcomes_var_through_a_non_dict_is_refused_by_name():
    with pytest.raises(AnsibleActionFail, match='outcomes_var: report.run.by_host: report.run must be a dict, but it holds a list'):
        run({'outcomes_var': 'report.run.by_host'}, report={'run': ['enc-1']})


def test_outcome_and_outcomes_var_are_exclusive():
    with pytest.raises(AnsibleActionFail, match='mutually exclusive: outcome[|]outcomes_var'):
        run({'outcome': OUTCOMES['enc-1'], 'outcomes_var': 'by_host'}, by_host=OUTCOMES)


def test_without_device_id_var_the_name_comes_from_next_to_the_dotted_mapping():
    # The role keeps its per-host task free of templates: the name sits beside the map, set once for the group.
    report = {'run': {'by_host': OUTCOMES, 'device_id_var': 'serial'}}
    result = run({'outcomes_var': 'report.run.by_host'}, host='no-id', report=report)
    assert result['failed'] and 'has no device id: set the host variable serial,' in result['msg']
    result = run({'outcomes_var': 'report.run.by_host', 'device_id_var': 'asset'}, host='no-id', report=report)
    assert 'set the host variable asset,' in result['msg']
    result = run({'outcomes_var': 'by_host'}, host='no-id', by_host=OUTCOMES)
    assert 'set the host variable fleetota_device_id,' in result['msg']


def test_bad_arguments_are_refused_by_name():
    with pytest.raises(AnsibleActionFail, match='Invalid options for .*: outcomes$'):
        run({'outcomes': 'by_host'}, by_host=OUTCOMES)
    with pytest.raises(AnsibleActionFail, match='outcome must be a dict, but it is a list'):
        run({'outcome': ['enc-1']})
    with pytest.raises(AnsibleActionFail, match='outcomes_var must be a string, but it is a list'):
        run({'outcomes_var': ['by_host']}, by_host=OUTCOMES)


def test_a_numeric_device_id_is_named_as_text():
    result = run({'outcome': None, 'device_id': 1234})
    assert result['failed'] and 'no outcome for device 1234:' in result['msg']
