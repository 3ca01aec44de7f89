# -*- coding: utf-8 -*-
# Copyright (c) fleetota.cloud developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

DOCUMENTATION = r'''
name: rollout_record
version_added: 1.0.0
author:
  - fleetota.cloud developers (@fleetota)
short_description: Merge one wave's upgrade and verification results into the rollout outcomes
description:
  - A device reported V(succeeded) that the verification read does not show at its target becomes V(failed).
  - A device that was V(in_progress) in the plan (upgrading when a resumed rollout started) and reported V(already_current)
    by its wave finished that upgrade, so it becomes V(succeeded), with the version it was upgrading from as C(previous_version).
  - Used by the P(fleetota.cloud.firmware_rollout#role) role.
options:
  _input:
    description: The outcomes so far (device id to outcome).
    type: dict
    required: true
  upgraded:
    description: The RV(fleetota.cloud.firmware_upgrade#module:devices) of the wave.
    type: list
    elements: dict
    required: true
  verified:
    description: The RV(fleetota.cloud.firmware_info#module:devices) read after the wave (may be empty).
    type: list
    elements: dict
    required: true
  wave:
    description: The wave number, 1 for the first.
    type: int
    required: true
'''

EXAMPLES = r'''
- name: Use rollout_record
  ansible.builtin.set_fact:
    outcomes: "{{ outcomes | fleetota.cloud.rollout_record(upgrade.devices, info.devices, 2) }}"
'''

RETURN = r'''
_value:
  description: The outcomes, device id to outcome.
  type: dict
'''

from ansible_collections.fleetota.cloud.plugins.plugin_utils import _rollout
from ansible_collections.fleetota.cloud.plugins.plugin_utils.filters import filter_errors


@filter_errors
def rollout_record(outcomes, upgraded, verified, wave):
    return _rollout.record(outcomes, upgraded, verified, wave)


class FilterModule:
    def filters(self):
        return {'rollout_record': rollout_record}
