# -*- coding: utf-8 -*-
# Copyright (c) fleetota.cloud developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

DOCUMENTATION = r'''
name: rollout_finish
version_added: 1.0.0
author:
  - fleetota.cloud developers (@fleetota)
short_description: Close the rollout outcomes, devices never reached end not_started
description:
  - When the rollout stopped, devices that were still waiting for their wave get status V(not_started) and the reason.
options:
  _input:
    description: The outcomes so far.
    type: dict
    required: true
  stopped:
    description: Why the rollout stopped, or an empty string.
    type: str
    required: true
  check_mode:
    description: In check mode nothing changes.
    type: bool
    default: false
'''

EXAMPLES = r'''
- name: Use rollout_finish
  ansible.builtin.set_fact:
    outcomes: "{{ outcomes | fleetota.cloud.rollout_finish(stopped, ansible_check_mode) }}"
'''

RETURN = r'''
_value:
  description: The outcomes, device id to outcome.
  type: dict
'''

from ansible_collections.fleetota.cloud.plugins.plugin_utils import _rollout
from ansible_collections.fleetota.cloud.plugins.plugin_utils.filters import filter_errors


@filter_errors
def rollout_finish(outcomes, stopped, check_mode=False):
    return _rollout.finish(outcomes, stopped, check_mode)


class FilterModule:
    def filters(self):
        return {'rollout_finish': rollout_finish}
