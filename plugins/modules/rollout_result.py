#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) fleetota.cloud developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

DOCUMENTATION = r'''
module: rollout_result
short_description: Report one device's firmware rollout outcome on its host
version_added: 1.0.0
description:
  - Used by the P(fleetota.cloud.firmware_rollout#role) role as its one per-host task, so that every device host ends
    the play V(ok), V(changed) or V(failed), as its device did, and AWX / Automation Controller host summaries are truthful.
  - V(changed) when the device was upgraded (or would be, in check mode); V(failed) when its upgrade failed, timed out,
    or was not started because the rollout stopped; V(ok) otherwise.
  - Runs on the controller; sends nothing to the device or the cloud.
author:
  - fleetota.cloud developers (@fleetota)
attributes:
  check_mode:
    support: full
    description: Reports the same way in check mode.
  diff_mode:
    support: none
    description: Nothing to compare.
  platform:
    support: full
    platforms: all
    description: Runs on the controller only (an action plugin); the device is reached through the vendor cloud, never directly.
options:
  outcome:
    description:
      - The device's outcome, one entry of the role's outcomes (as the P(fleetota.cloud.firmware_rollout#role) role builds it).
      - When missing, the host fails. The message names O(device_id_var) when the host has no device id, or says that the
        rollout stopped before it had an outcome for this device.
      - Mutually exclusive with O(outcomes_var).
    type: dict
  outcomes_var:
    description:
      - The name of a variable that maps host names to outcomes (as the P(fleetota.cloud.firmware_rollout#role) role
        builds it); this host's entry is its outcome.
      - The variable is read by name and only this host's entry is templated. Passing the whole mapping as
        O(outcome) through a template would template every host's outcome for every host, a cost that grows with the
        square of the fleet.
      - A dotted name (V(report.by_host)) reads the mapping from inside a dict variable. At fleet scale, keep the mapping
        one level down like this, because ansible-core copies every top-level variable for every host and task (into
        the C(vars) variable); a top-level mapping of 10,000 hosts costs 10,000 copies of itself in every per-host task.
      - A null entry means the host has no device id; a missing entry (or variable, or key on the dotted path) means the
        rollout never got to this host. Either fails the host with a message that says so.
    type: str
  device_id:
    description:
      - The host's device id, for the error message when O(outcome) is missing because the rollout stopped early.
    type: str
  device_id_var:
    description:
      - The host variable that should hold the device id, for the error message.
      - When not set, the C(device_id_var) entry of the dict that holds the mapping of a dotted O(outcomes_var)
        (C(report.device_id_var) for V(report.by_host)), else V(fleetota_device_id). The role sets that entry once for the
        group, so that its per-host task has no template to compile for every host.
    type: str
'''

EXAMPLES = r'''
- name: Upgrade the play's devices in one call
  fleetota.cloud.firmware_upgrade:
    devices: "{{ ansible_play_hosts | map('extract', hostvars, 'fleetota_device_id') | list }}"
    version: latest
  run_once: true
  register: upgrade

- name: Map every host to its outcome, once for the play (run_once shares one object with every host)
  ansible.builtin.set_fact:
    rollout_report:
      by_host: >-
        {{ dict(ansible_play_hosts | zip(ansible_play_hosts | map('extract', hostvars, 'fleetota_device_id')
                                         | map('extract', dict(upgrade.devices | map(attribute='id') | zip(upgrade.devices))))) }}
  run_once: true

- name: Report each device host's outcome (as the role does)
  fleetota.cloud.rollout_result:
    outcomes_var: rollout_report.by_host
  register: firmware_rollout_result

- name: Report one outcome given directly
  fleetota.cloud.rollout_result:
    outcome: "{{ rollout_report.by_host[inventory_hostname] }}"
'''

RETURN = r'''
id:
  description: The device id.
  returned: when the host has a device id
  type: str
previous_version:
  description: The version the device ran when the rollout planned.
  returned: when the host has a device id
  type: str
target_version:
  description: The version the rollout aimed at for this device (null when none fits).
  returned: when the host has a device id
  type: str
current_version:
  description: The version the device reported last.
  returned: when the host has a device id
  type: str
action:
  description: The planned action (V(upgrade), V(none), V(downgrade_refused), V(incompatible)).
  returned: when the host has a device id
  type: str
status:
  description:
    - The device's final status, one of those of M(fleetota.cloud.firmware_upgrade), or V(not_started) when the rollout stopped
      before the device's wave.
  returned: always
  type: str
wave:
  description: The wave the device was in (1 is the first); null for devices that needed no upgrade.
  returned: when the host has a device id
  type: int
msg:
  description: What happened, in words.
  returned: always
  type: str
'''
