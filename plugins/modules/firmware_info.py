#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) fleetota.cloud developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

DOCUMENTATION = r'''
module: firmware_info
short_description: List available firmware and what devices run, through a vendor cloud
version_added: 1.0.0
description:
  - Reads the firmware catalog of a vendor cloud and, for the devices asked about, the version each device runs,
    the newest version that fits it, and whether an upgrade is available.
  - Read-only; never changes anything.
author:
  - fleetota.cloud developers (@fleetota)
extends_documentation_fragment:
  - fleetota.cloud.connection
attributes:
  check_mode:
    support: full
    description: The module never changes anything, so check mode runs it as usual.
  diff_mode:
    support: none
    description: Nothing changes, so there is no diff.
options:
  devices:
    description:
      - Device ids to report on (Magewell serial numbers, EnOS device keys, Tuya device ids, IoT Core C(DeviceName)).
      - Tuya has no firmware catalog; its firmware is what each device's firmware endpoint reports, so with O(platform=tuya)
        RV(firmwares) lists the running and the offered version of every channel of these devices, and is empty without O(devices).
      - When given, the result has one entry in RV(devices) per device, in the same order. An unknown id fails the task.
    type: list
    elements: str
  product:
    description:
      - Only list firmware for this product (Magewell C(product-id), EnOS C(productKey), Tuya C(product_id), IoT Core C(ProductKey)).
    type: str
  hardware_version:
    description:
      - Only list firmware for this hardware version (Magewell C(hardware-ver)). EnOS firmware has no hardware version,
        so with O(platform=enos) this filter matches nothing.
    type: str
  include_unreleased:
    description:
      - Also list test and unverified firmware (Magewell test versions, EnOS firmware with C(isVerified=false), IoT Core packages
        whose C(Status) is not 1 verified), and count it when computing RV(devices[].latest_version).
    type: bool
    default: false
seealso:
  - module: fleetota.cloud.firmware_upgrade
  - plugin: fleetota.cloud.devices
    plugin_type: inventory
'''

EXAMPLES = r'''
- name: What firmware does the cloud offer for product 770?
  fleetota.cloud.firmware_info:
    platform: magewell
    endpoint: https://cloud.example.com
    username: Admin
    password: "{{ vault_magewell_password }}"
    product: "770"
  register: catalog

- name: What do these encoders run, and could they run something newer?
  fleetota.cloud.firmware_info:
    devices: "{{ groups['fleetota_magewell'] | map('extract', hostvars, 'fleetota_device_id') | list }}"
  run_once: true
  register: fleet
  # connection options from module_defaults: group/fleetota.cloud.firmware, or FLEETOTA_* variables

- name: Show the devices with an upgrade available
  ansible.builtin.debug:
    msg: "{{ fleet.devices | selectattr('upgrade_available') | map(attribute='id') | list }}"
'''

RETURN = r'''
firmwares:
  description: The catalog entries, filtered by O(product) and O(hardware_version); released ones only unless O(include_unreleased).
  returned: success
  type: list
  elements: dict
  contains:
    id:
      description: The vendor's catalog id, what O(fleetota.cloud.firmware_upgrade#module:firmware_id) takes.
      type: str
      sample: "21"
    version:
      description: The firmware version.
      type: str
      sample: 1.5.178
    product:
      description: The product the firmware is for.
      type: str
      sample: "770"
    hardware_version:
      description: The hardware version the firmware is for, or null when it fits any.
      type: str
      sample: A
    released:
      description: False for test or unverified firmware.
      type: bool
    name:
      description: File or display name, when the vendor has one.
      type: str
    description:
      description: Description, when the vendor has one.
      type: str
    size:
      description: Size in bytes, when the vendor reports it.
      type: int
    checksum:
      description: File checksum, when the vendor reports it.
      type: str
    checksum_algorithm:
      description: Algorithm of RV(firmwares[].checksum).
      type: str
    created:
      description: Upload or creation time, ISO 8601 UTC.
      type: str
      sample: "2021-10-25T08:47:30Z"
devices:
  description: One entry per device of O(devices), in the same order.
  returned: when O(devices) is given
  type: list
  elements: dict
  contains:
    id:
      description: The device id.
      type: str
    name:
      description: The device name.
      type: str
    product:
      description: The device's product.
      type: str
    hardware_version:
      description: The device's hardware version (null for EnOS, which has none).
      type: str
    online:
      description: Whether the device is online.
      type: bool
    current_version:
      description: The firmware version the device runs.
      type: str
    latest_version:
      description: The newest firmware that fits the device (released only unless O(include_unreleased)), or null.
      type: str
    upgrade_available:
      description: True when RV(devices[].latest_version) is newer than RV(devices[].current_version).
      type: bool
    upgrading:
      description: True while an upgrade is under way on the device.
      type: bool
    last_upgrade_failed:
      description:
        - True when the platform reports that the device's last upgrade failed, false when it reports it did not (or one is
          under way), null when the platform does not tell.
        - For V(magewell), read from the device's last upgrade result. V(enos) and V(tuya_iotcore) keep upgrade outcomes on their
          jobs, not on the device, so it is null there.
      type: bool
api_calls:
  description: HTTP requests this task made, retries included.
  returned: always
  type: int
'''

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.fleetota.cloud.plugins.module_utils._engine import run_info
from ansible_collections.fleetota.cloud.plugins.module_utils._module import connection_argument_spec, run_with_client


def main():
    argument_spec = connection_argument_spec()
    argument_spec.update(
        devices={'type': 'list', 'elements': 'str'},
        product={'type': 'str'},
        hardware_version={'type': 'str'},
        include_unreleased={'type': 'bool', 'default': False},
    )
    module = AnsibleModule(argument_spec=argument_spec, supports_check_mode=True)
    params = module.params

    def action(client):
        result = run_info(client, devices=params['devices'], product=params['product'], hardware_version=params['hardware_version'],
                          include_unreleased=params['include_unreleased'])
        return result, None

    run_with_client(module, action)


if __name__ == '__main__':
    main()
