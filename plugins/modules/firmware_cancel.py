#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) fleetota.cloud developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

DOCUMENTATION = r'''
module: firmware_cancel
short_description: Cancel firmware upgrades still pending for devices, where the vendor cloud can
version_added: 1.1.0
description:
  - Cancels what a vendor cloud still holds for devices and has not started on them, so that they do not receive firmware later,
    and reports each device V(canceled), V(not_cancelable) (an upgrade under way, or a vendor without cancel, with the reason)
    or V(nothing_pending).
  - With O(platform=enos), cancels the devices' tasks that are C(init) (to be pushed) or C(published) (pushed, not started) with
    C(cancelTask); given O(jobs), the pending tasks of those OTA jobs too, and stops the jobs.
  - With O(platform=tuya_iotcore), cancels the tasks that are queued, notified, or awaiting confirmation
    (C(CancelOTATaskByDevice); given O(jobs), C(CancelOTATaskByJob)).
  - Magewell and Tuya document no cancel and keep no upgrade for later (an offline device is refused, not queued), so there nothing is
    sent; each device is reported as it is, V(not_cancelable) when it is upgrading (the upgrade runs to its end), V(nothing_pending)
    otherwise, and the task reports no change.
  - A cancel request whose answer is lost is never taken for done; the tasks are read again and their state decides.
  - Idempotent, so a second run finds V(nothing_pending).
  - Unknown device ids fail the task before anything is sent.
author:
  - fleetota.cloud developers (@fleetota)
extends_documentation_fragment:
  - fleetota.cloud.connection
attributes:
  check_mode:
    support: full
    description: Reads what is pending and reports RV(devices[].status=canceled) for what would be canceled; sends no write request.
  diff_mode:
    support: none
    description: No diff; RV(devices) says what was canceled.
options:
  devices:
    description:
      - Device ids whose pending upgrades to cancel (Magewell serial numbers, EnOS device keys, Tuya device ids, IoT Core C(DeviceName)).
        Duplicates are ignored.
      - At least one of O(devices) and O(jobs). An empty list is allowed (nothing to cancel).
    type: list
    elements: str
  jobs:
    description:
      - The platform's job ids (EnOS OTA job ids, IoT Core C(JobId)), as returned by M(fleetota.cloud.firmware_upgrade) in
        RV(fleetota.cloud.firmware_upgrade#module:jobs). Their pending tasks are canceled, whatever devices they are for;
        those devices are reported too.
      - Magewell and Tuya have no jobs.
    type: list
    elements: str
seealso:
  - module: fleetota.cloud.firmware_upgrade
'''

EXAMPLES = r'''
- name: What would be canceled for two Magewell encoders (check mode)
  fleetota.cloud.firmware_cancel:
    platform: magewell
    endpoint: https://cloud.example.com
    username: Admin
    password: "{{ vault_magewell_password }}"
    devices: [A302190900001, A302190900003]
  check_mode: true
  register: magewell_pending

- name: Tuya, which queues nothing, says so per device
  fleetota.cloud.firmware_cancel:
    platform: tuya
    endpoint: https://openapi.tuyaeu.com
    access_key: your-access-id
    secret_key: "{{ vault_tuya_secret }}"
    devices: "{{ groups['fleetota_tuya'] | map('extract', hostvars, 'fleetota_device_id') | list }}"
  run_once: true

- name: Start EnOS upgrades without waiting, the offline devices queued until they reconnect
  fleetota.cloud.firmware_upgrade:
    platform: enos
    endpoint: https://apim-ppe1.envisioniot.com
    access_key: "{{ enos_app_key }}"
    secret_key: "{{ vault_enos_app_secret }}"
    org_id: o15700000000001
    devices: "{{ groups['fleetota_enos'] | map('extract', hostvars, 'fleetota_device_id') | list }}"
    version: latest
    offline: queue
    wait: false
  run_once: true
  register: enos_started

- name: Cancel what EnOS still holds for them and stop their jobs, so no device gets the firmware later
  fleetota.cloud.firmware_cancel:
    platform: enos
    endpoint: https://apim-ppe1.envisioniot.com
    access_key: "{{ enos_app_key }}"
    secret_key: "{{ vault_enos_app_secret }}"
    org_id: o15700000000001
    devices: "{{ enos_started.devices | selectattr('status', 'in', ['started', 'in_progress', 'queued']) | map(attribute='id') | list }}"
    jobs: "{{ enos_started.jobs }}"
  run_once: true
  register: enos_canceled

- name: Cancel the queued IoT Core upgrades of the devices of the inventory
  fleetota.cloud.firmware_cancel:
    platform: tuya_iotcore
    endpoint: https://si-0123456789abcdef.tuyacloud.com:8686
    access_key: "{{ iotcore_access_key_id }}"
    secret_key: "{{ vault_iotcore_access_key_secret }}"
    devices: "{{ groups['fleetota_tuya_iotcore'] | map('extract', hostvars, 'fleetota_device_id') | list }}"
  run_once: true
'''

RETURN = r'''
devices:
  description: One entry per device of O(devices), in the same order, then the other devices of O(jobs).
  returned: always, when the input was valid
  type: list
  elements: dict
  contains:
    id:
      description: The device id.
      type: str
    status:
      description:
        - V(canceled), its pending upgrade was canceled (in check mode, would be); it will not receive it.
        - V(not_cancelable), an upgrade is under way on the device (or done), or the vendor has no cancel; RV(devices[].msg) says which.
        - V(nothing_pending), nothing was waiting for this device.
      type: str
      choices: [canceled, not_cancelable, nothing_pending]
    msg:
      description: Why, in words.
      type: str
    job:
      description: The job whose task was canceled or looked at, where the platform has jobs; else null.
      type: str
summary:
  description: Number of devices per RV(devices[].status), every status present.
  returned: always, when the input was valid
  type: dict
  sample: {canceled: 12, not_cancelable: 3, nothing_pending: 40}
jobs:
  description: The job ids of O(jobs), then any other job a device's pending task was in.
  returned: always, when the input was valid
  type: list
  elements: str
api_calls:
  description: HTTP requests this task made, retries included.
  returned: always
  type: int
'''

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.fleetota.cloud.plugins.module_utils._engine import CancelRun
from ansible_collections.fleetota.cloud.plugins.module_utils._module import connection_argument_spec, run_with_client


def main():
    argument_spec = connection_argument_spec()
    argument_spec.update(
        devices={'type': 'list', 'elements': 'str'},
        jobs={'type': 'list', 'elements': 'str'},
    )
    module = AnsibleModule(
        argument_spec=argument_spec,
        required_one_of=[('devices', 'jobs')],
        supports_check_mode=True,
    )
    params = module.params

    def action(client):
        return CancelRun(client, params['devices'], jobs=params['jobs'], check_mode=module.check_mode).run()

    run_with_client(module, action)


if __name__ == '__main__':
    main()
