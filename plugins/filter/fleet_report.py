# -*- coding: utf-8 -*-
# Copyright (c) fleetota.cloud developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

DOCUMENTATION = r'''
name: fleet_report
version_added: 1.0.0
author:
  - fleetota.cloud developers (@fleetota)
short_description: Shape firmware_info's devices into a fleet report (rows, text table, CSV, summary, HTML)
description:
  - Takes the RV(fleetota.cloud.firmware_info#module:devices) list and returns what every device runs against the newest
    version that fits it, with one word per device for its state (V(current), V(outdated), V(offline), V(upgrading), V(failed) (its
    last upgrade failed, see RV(fleetota.cloud.firmware_info#module:devices[].last_upgrade_failed)), V(no_firmware)).
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
      - V(csv), the rows as CSV text with a header line, every field quoted. A cell that starts with C(=), C(+), C(-), C(@), a tab or a
        carriage return (a device name from the cloud, or a negative number) gets a leading single quote, so that a spreadsheet
        shows it as text instead of running it as a formula (CSV injection, as OWASP recommends). The other forms are not changed.
      - V(summary), counts per state, the share of devices on the newest version (compliance), per product and hardware.
      - V(html), one self-contained HTML page (inline CSS, SVG and script, no external asset) with the compliance per product and
        hardware, a chart of the firmware versions per product, the devices needing attention (last upgrade failed, offline,
        outdated; the first 200 listed, with the count of the rest), and a sortable, filterable table of every device.
        Every value from the cloud is HTML-escaped.
    type: str
    default: rows
    choices: [rows, table, csv, summary, html]
  limit:
    description: At most this many rows in the V(table) form.
    type: int
    default: 50
  title:
    description: The title of the V(html) form.
    type: str
    default: Fleet firmware report
  generated:
    description:
      - When the data was read, shown under the title of the V(html) form, as a string or a datetime (the EXAMPLES pass the current
        time, in UTC).
    type: raw
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

- name: Write it as one HTML page
  ansible.builtin.copy:
    content: "{{ info.devices | fleetota.cloud.fleet_report('html', title='Encoders, building 4', generated=now(utc=true).strftime('%Y-%m-%d %H:%M:%S UTC')) }}"
    dest: fleet.html
    mode: "0644"
'''

RETURN = r'''
_value:
  description: The report in the form asked for.
  type: raw
'''

from ansible.errors import AnsibleFilterError

from ansible_collections.fleetota.cloud.plugins.plugin_utils._report_html import DEFAULT_TITLE, report


def fleet_report(devices, form='rows', limit=50, title=DEFAULT_TITLE, generated=None):
    try:
        return report(devices, form, limit, title, generated)
    except (ValueError, TypeError) as exc:
        raise AnsibleFilterError('fleet_report: %s' % exc)


class FilterModule:
    def filters(self):
        return {'fleet_report': fleet_report}
