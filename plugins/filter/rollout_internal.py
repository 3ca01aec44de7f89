# -*- coding: utf-8 -*-
# Copyright (c) fleetota.cloud developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

DOCUMENTATION = r'''
name: rollout_internal
version_added: 1.0.0
author:
  - fleetota.cloud developers (@fleetota)
short_description: Internal to the firmware_rollout role, not a public interface
description:
  - B(Internal to the firmware_rollout role, not a public interface of the collection.) Its steps, arguments and results
    may change in any release, without notice or deprecation. Do not use it in playbooks or roles of your own; it is
    documented only for reading the P(fleetota.cloud.firmware_rollout#role) role.
  - The role's bookkeeping, one step per call. The first argument names the step, the step's own arguments follow it.
  - V(plan), on the RV(fleetota.cloud.firmware_upgrade#module:devices) of a check-mode run, with the arguments C(waves),
    C(max_failures) and the keywords C(wave_max_failures), C(min_finished), C(wait_timeout), C(poll_interval) - the waves
    (device ids, devices already upgrading first, devices the vendor will queue last), the failure policy (C(budget)),
    every device's outcome so far and the plan in words. It refuses, by name, a C(wait_timeout) or C(poll_interval) that
    is not a positive, finite number of seconds, and a failure policy with an unknown kind or a bad count or percent.
  - V(record), on the outcomes, with C(upgraded), C(verified), C(wave) - one wave's upgrade and verification results
    merged into the outcomes.
  - V(wave_max_failures), on the outcomes, with C(budget), C(wave_devices) - the O(fleetota.cloud.firmware_upgrade#module:max_failures)
    of the wave's call (the smallest remaining allowance of the run's total and of the wave limit), or null.
  - V(stop_reason), on the outcomes, with C(budget), C(wave), C(waves_total) and the keyword C(aborted) (the wave's
    RV(fleetota.cloud.firmware_upgrade#module:aborted)) - why no further wave may start, or an empty string.
  - V(finish), on the outcomes, with C(stopped), C(check_mode) - devices never reached end V(not_started).
  - V(cancel_candidates), on the outcomes - the devices the run sent an upgrade to that did not finish.
  - V(canceled), on the outcomes, with C(results) (RV(fleetota.cloud.firmware_cancel#module:devices)) - the outcomes with
    the devices canceled when the rollout stopped.
  - V(summary), on the outcomes, with C(budget), C(stopped), C(waves_total) - counts per status, per wave and per kind of
    failure, what was canceled.
  - V(by_host), on the outcomes, with C(ids) (host name to device id) - host name to its device's outcome.
options:
  _input:
    description: What the step works on, the devices of the plan for V(plan), the outcomes (device id to outcome) for the others.
    type: raw
    required: true
  step:
    description: The step, followed by its own arguments.
    type: str
    required: true
    choices: [plan, record, wave_max_failures, stop_reason, finish, cancel_candidates, canceled, summary, by_host]
'''

EXAMPLES = r'''
# Internal to the firmware_rollout role: the role's own call, shown for reading the role, not for use elsewhere.
- name: Split the devices to upgrade into waves
  ansible.builtin.set_fact:
    plan: "{{ check.devices | fleetota.cloud.rollout_internal('plan', [1, '10%', '100%'], '2%') }}"
'''

RETURN = r'''
_value:
  description: What the step returns (internal, may change in any release).
  type: raw
'''

import math

from ansible.errors import AnsibleFilterError

from ansible_collections.fleetota.cloud.plugins.plugin_utils import _rollout
from ansible_collections.fleetota.cloud.plugins.module_utils._errors import ConfigError
from ansible_collections.fleetota.cloud.plugins.plugin_utils.filters import filter_errors


def check_seconds(name, value):
    """A role variable that is a number of seconds: positive and finite (NaN passes every `<=` test, so it is named)."""
    number = None
    if not isinstance(value, bool):
        try:
            number = float(value)
        except (TypeError, ValueError):
            number = None
    if number is None or not math.isfinite(number) or number <= 0:
        raise ConfigError('%s is %r: expected a positive, finite number of seconds, e.g. 3600' % (name, value))
    return number


def plan(plan_devices, waves, max_failures, wave_max_failures=None, min_finished=0, wait_timeout=None, poll_interval=None):
    if wait_timeout is not None:
        check_seconds('firmware_rollout_wait_timeout', wait_timeout)
    if poll_interval is not None:
        check_seconds('firmware_rollout_poll_interval', poll_interval)
    return _rollout.plan(plan_devices, waves, max_failures, wave_max_failures, min_finished)


STEPS = {
    'plan': plan,
    'record': _rollout.record,
    'wave_max_failures': _rollout.wave_max_failures,
    'stop_reason': _rollout.stop_reason,
    'finish': _rollout.finish,
    'cancel_candidates': _rollout.cancel_candidates,
    'canceled': _rollout.canceled,
    'summary': _rollout.summary,
    'by_host': _rollout.by_host,
}


@filter_errors
def rollout_internal(data, step, *args, **kwargs):
    function = STEPS.get(step) if isinstance(step, str) else None
    if function is None:
        raise AnsibleFilterError('rollout_internal: unknown step %r, expected one of %s' % (step, ', '.join(STEPS)))
    try:
        return function(data, *args, **kwargs)
    except TypeError as exc:
        raise AnsibleFilterError('rollout_internal(%r): %s' % (step, exc))


class FilterModule:
    def filters(self):
        return {'rollout_internal': rollout_internal}
