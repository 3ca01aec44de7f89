# -*- coding: utf-8 -*-
# Copyright (c) fleetota.cloud developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

DOCUMENTATION = r'''
name: rollout_by_host
version_added: 1.0.0
author:
  - fleetota.cloud developers (@fleetota)
short_description: Map every host to its device's rollout outcome
description:
  - Returns host name to outcome, built in one pass, so that no per-host template looks the whole outcomes up again
    for every host. The outcome is null for a host without a device id, or whose device has no outcome.
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
# One level down in a dict: ansible-core copies every top-level variable for every host and task.
- name: Keep each host's outcome where its per-host report finds it by name
  ansible.builtin.set_fact:
    rollout_report:
      by_host: "{{ outcomes | fleetota.cloud.rollout_by_host(ids) }}"
  run_once: true

- name: Report each host's outcome
  fleetota.cloud.rollout_result:
    outcomes_var: rollout_report.by_host
'''

RETURN = r'''
_value:
  description: Host name to outcome (null for a host without one).
  type: dict
'''

from ansible_collections.fleetota.cloud.plugins.plugin_utils import _rollout
from ansible_collections.fleetota.cloud.plugins.plugin_utils.filters import filter_errors


@filter_errors
def rollout_by_host(outcomes, ids):
    return _rollout.by_host(outcomes, ids)


class FilterModule:
    def filters(self):
        return {'rollout_by_host': rollout_by_host}
