# -*- coding: utf-8 -*-
# Copyright (c) fleetota.cloud developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

DOCUMENTATION = r'''
name: rollout_stop_reason
version_added: 1.0.0
author:
  - fleetota.cloud developers (@fleetota)
short_description: Decide whether the next rollout wave may start
description:
  - Returns why no further wave may start (the failure budget exceeded) or an empty string to go on.
  - Devices whose upgrade failed or timed out count; unknown device ids do not.
options:
  _input:
    description: The outcomes so far.
    type: dict
    required: true
  budget:
    description: The failure budget as a count.
    type: int
    required: true
  wave:
    description: The wave just done (1 for the first).
    type: int
    required: true
  waves_total:
    description: How many waves the rollout has.
    type: int
    required: true
'''

EXAMPLES = r'''
- name: Use rollout_stop_reason
  ansible.builtin.set_fact:
    stopped: "{{ outcomes | fleetota.cloud.rollout_stop_reason(3, 1, 4) }}"
'''

RETURN = r'''
_value:
  description: The reason, or an empty string.
  type: str
'''

from ansible_collections.fleetota.cloud.plugins.plugin_utils import _rollout
from ansible_collections.fleetota.cloud.plugins.plugin_utils.filters import filter_errors


@filter_errors
def rollout_stop_reason(outcomes, budget, wave, waves_total):
    return _rollout.stop_reason(outcomes, budget, wave, waves_total)


class FilterModule:
    def filters(self):
        return {'rollout_stop_reason': rollout_stop_reason}
