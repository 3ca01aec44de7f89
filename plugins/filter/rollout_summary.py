# -*- coding: utf-8 -*-
# Copyright (c) fleetota.cloud developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

DOCUMENTATION = r'''
name: rollout_summary
version_added: 1.0.0
author:
  - fleetota.cloud developers (@fleetota)
short_description: Count rollout outcomes per status and per wave
description:
  - The run summary of the P(fleetota.cloud.firmware_rollout#role) role.
options:
  _input:
    description: The final outcomes.
    type: dict
    required: true
  budget:
    description: The failure budget as a count.
    type: int
    required: true
  stopped:
    description: Why the rollout stopped, or an empty string.
    type: str
    required: true
  waves_total:
    description: How many waves the rollout had.
    type: int
    required: true
'''

EXAMPLES = r'''
- name: Use rollout_summary
  ansible.builtin.set_fact:
    summary: "{{ outcomes | fleetota.cloud.rollout_summary(budget, stopped, 4) }}"
'''

RETURN = r'''
_value:
  description: C(devices), C(by_status), C(by_wave), C(waves), C(failures), C(failure_budget), C(stopped).
  type: dict
'''

from ansible_collections.fleetota.cloud.plugins.plugin_utils import _rollout
from ansible_collections.fleetota.cloud.plugins.plugin_utils.filters import filter_errors


@filter_errors
def rollout_summary(outcomes, budget, stopped, waves_total):
    return _rollout.summary(outcomes, budget, stopped, waves_total)


class FilterModule:
    def filters(self):
        return {'rollout_summary': rollout_summary}
