# -*- coding: utf-8 -*-
# Copyright (c) fleetota.cloud developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

DOCUMENTATION = r'''
name: fleet_report
version_added: 1.0.0
author:
  - fleetota.cloud developers (@fleetota)
short_description: Shape firmware_info's devices into a fleet report (rows, text table, CSV, summary)
description:
  - Takes the RV(fleetota.cloud.firmware_info#module:devices) list and returns what every device runs against the newest
    version that fits it, with one word per device for its state (V(current), V(outdated), V(offline), V(upgrading), V(no_firmware)).
  - Used by the C(fleetota.cloud.inventory_report) playbook.
options:
  _input:
    description: The RV(fleetota.cloud.firmware_info#module:devices) list.
    type: list
    elements: dict
    required: true
  form:
    description:
      - V(rows), a list of dicts, sorted by product, hardware and id.
      - V(table), a summary line, then the lines of a fixed-width text table, devices needing attention first.
      - V(csv), the rows as CSV text with a header line.
      - V(summary), counts per state, the share of devices on the newest version (compliance), per product and hardware.
    type: str
    default: rows
    choices: [rows, table, csv, summary]
  limit:
    description: At most this many rows in the V(table) form.
    type: int
    default: 50
'''

EXAMPLES = r'''
- name: Print the fleet as a table
  ansible.builtin.debug:
    msg: "{{ info.devices | fleetota.cloud.fleet_report('table') }}"

- name: Write it as CSV
  ansible.builtin.copy:
    content: "{{ info.devices | fleetota.cloud.fleet_report('csv') }}"
    dest: fleet.csv
    mode: "0644"
'''

RETURN = r'''
_value:
  description: The report in the form asked for.
  type: raw
'''

from ansible.errors import AnsibleFilterError

from ansible_collections.fleetota.cloud.plugins.module_utils._report import report


def fleet_report(devices, form='rows', limit=50):
    try:
        return report(devices, form, int(limit))
    except (ValueError, TypeError) as exc:
        raise AnsibleFilterError('fleet_report: %s' % exc)


class FilterModule:
    def filters(self):
        return {'fleet_report': fleet_report}
