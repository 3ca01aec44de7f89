# -*- coding: utf-8 -*-
# Copyright (c) fleetota.cloud developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

DOCUMENTATION = r'''
name: rollout_plan
version_added: 1.0.0
author:
  - fleetota.cloud developers (@fleetota)
short_description: Split the devices of a firmware_upgrade plan into waves, with the failure budget
description:
  - Takes the RV(fleetota.cloud.firmware_upgrade#module:devices) of a check-mode run and returns the waves
    (device ids, devices already upgrading first), the failure budget as a count, every device's outcome so far,
    and the plan in words.
  - Used by the P(fleetota.cloud.firmware_rollout#role) role.
options:
  _input:
    description: The RV(fleetota.cloud.firmware_upgrade#module:devices) of a check-mode run.
    type: list
    elements: dict
    required: true
  waves:
    description: Wave sizes, counts or percents, like the role variable C(firmware_rollout_waves) (a list, or a comma-separated string).
    type: raw
    required: true
  max_failures:
    description: The failure budget, a count or a percent of the devices to upgrade.
    type: raw
    required: true
  wait_timeout:
    description:
      - The role's C(firmware_rollout_wait_timeout), checked here before the first wave writes anything - a positive,
        finite number of seconds (NaN and infinity are refused). Not checked when omitted.
    type: raw
  poll_interval:
    description:
      - The role's C(firmware_rollout_poll_interval), checked the same way.
    type: raw
'''

EXAMPLES = r'''
- name: Use rollout_plan
  ansible.builtin.set_fact:
    plan: "{{ check.devices | fleetota.cloud.rollout_plan([1, '10%', '100%'], '2%') }}"
'''

RETURN = r'''
_value:
  description: C(waves) (list of lists of ids), C(budget) (int), C(outcomes) (dict id to outcome), C(lines) (list of str).
  type: dict
'''

import math

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


@filter_errors
def rollout_plan(plan_devices, waves, max_failures, wait_timeout=None, poll_interval=None):
    if wait_timeout is not None:
        check_seconds('firmware_rollout_wait_timeout', wait_timeout)
    if poll_interval is not None:
        check_seconds('firmware_rollout_poll_interval', poll_interval)
    return _rollout.plan(plan_devices, waves, max_failures)


class FilterModule:
    def filters(self):
        return {'rollout_plan': rollout_plan}
