# -*- coding: utf-8 -*-
# Copyright (c) fleetota.cloud developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

DOCUMENTATION = r'''
name: rollout_by_host
version_added: 1.0.0
author:
  - fleetota.cloud developers (@fleetota)
short_description: Pair every host with its device's rollout outcome
description:
  - Returns one C({host, outcome}) per host, in one pass, so that a loop over hosts does not look the whole outcomes
    up again for every host. C(outcome) is null for a host without a device id.
  - Used by the P(fleetota.cloud.firmware_rollout#role) role.
options:
  _input:
    description: The outcomes, device id to outcome.
    type: dict
    required: true
  ids:
    description: Host name to device id (an empty string for a host without one).
    type: dict
    required: true
'''

EXAMPLES = r'''
- name: Hand each host its outcome
  ansible.builtin.add_host:
    name: "{{ item.host }}"
    firmware_rollout_result: "{{ item.outcome }}"
  loop: "{{ outcomes | fleetota.cloud.rollout_by_host(ids) }}"
'''

RETURN = r'''
_value:
  description: A list of C({host, outcome}).
  type: list
  elements: dict
'''

from ansible_collections.fleetota.cloud.plugins.module_utils import _rollout
from ansible_collections.fleetota.cloud.plugins.plugin_utils.filters import filter_errors


@filter_errors
def rollout_by_host(outcomes, ids):
    return _rollout.by_host(outcomes, ids)


class FilterModule:
    def filters(self):
        return {'rollout_by_host': rollout_by_host}
