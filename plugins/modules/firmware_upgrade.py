#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) fleetota.cloud developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

DOCUMENTATION = r'''
module: firmware_upgrade
short_description: Upgrade device firmware through a vendor cloud, planned, batched and waited for
version_added: 1.0.0
description:
  - Plans first (for each device, its current version, the target, and the action), then acts on the plan with
    as few vendor requests as the vendor allows (Magewell, one C(upgrade/start) per product family, model and
    hardware version; EnOS, one OTA job per firmware; IoT Core, one C(CreateOTAStaticUpgradeJob) per firmware and 200 devices),
    and waits until every device reports the target version.
  - With EnOS, a device already in a started job for the same firmware, with its task not finished, is waited for in that job;
    no second job is created. The job's C(upgradeTimeout) is O(wait_timeout), clamped to the documented 300 to 172800 seconds.
    Job creation is never repeated blindly; after an unknown outcome (a timeout, a lost answer, a 5xx, an unreadable answer) the
    jobs are read again first, for up to twice O(timeout) plus 4 seconds; a job the lost request makes later is deleted, and both
    ids are returned in RV(jobs).
  - A device already at the target is not touched. A device already upgrading is waited for, not restarted.
    Re-running after success changes nothing.
  - An upgrade request whose answer is lost, late or unreadable is never sent again, on any platform; the devices are read
    again instead. One upgrading or at the target is waited for; one still idle at its old version is waited for too (the
    request may still land), and if it never starts before O(wait_timeout) (at once with O(wait=false)) it ends V(failed)
    with a message saying the request's outcome is unknown and nothing was re-sent.
  - While waiting, a progress read that fails (an answer that is not JSON, 5xx, no answer) is retried every O(poll_interval)
    until O(wait_timeout); only a device's own state decides its outcome. A device whose state could not be read by the
    deadline ends V(timed_out) with the last read error. Credentials refused on three reads in a row end the wait early,
    the devices still pending V(timed_out).
  - A device running a newer version than the target is left alone and reported (V(downgrade_refused), V(skipped)),
    unless O(allow_downgrade=true), whether or not the vendor still offers the target. A device already running the target
    is V(already_current) even when the catalog no longer lists it.
    A device the target firmware does not fit is reported as incompatible and skipped.
  - The task fails only after every device has been reported, when any device ended V(failed) or V(timed_out),
    or before any write when the input is wrong (unknown device ids, a version not in the catalog that some device would need).
    Every V(failed) or V(timed_out) device says the kind of its failure in RV(devices[].failure).
  - Devices offline when the task starts (the vendor reports them offline) follow O(offline). Magewell and Tuya refuse an upgrade for an
    offline device and keep nothing for later; EnOS and IoT Core accept it and keep it queued until the device reconnects, maybe hours later.
  - Stopping. Once more devices than O(max_failures) have ended V(failed) or V(timed_out) with their retries spent, the task cancels, where the
    vendor has a cancel (EnOS C(cancelTask), IoT Core C(CancelOTATaskByDevice)), the upgrades still pending that no device has started,
    queued ones included, and reports them V(canceled); devices already upgrading get the firmware anyway and are still waited for.
    Magewell and Tuya have no cancel and queue nothing, so there the devices already started are waited for. RV(aborted) says why and what.
  - A SIGTERM or SIGINT while the task waits (an AWX / Automation Controller job canceled, Ctrl-C) takes the same stop path. What is pending
    and has not started is canceled where the vendor can, then the task fails at once with every device reported and a message starting
    C(interrupted by SIGTERM) (or C(SIGINT)). A signal that comes while a request is under way is acted on once its answer is in, so no
    answer is lost. A signal before anything was sent sends nothing.
  - The same stop path runs when the C(ansible-playbook) that started the task is gone, for example killed with SIGKILL, which is how
    ansible-runner (hence AWX / Automation Controller) cancels a job and which reaches neither ansible-core's workers nor their modules.
    The task checks every 2 seconds and acts at once, its sleep until the next poll cut short; RV(aborted) and the message then say
    that C(ansible-playbook) is gone, with its pid. Nobody receives that result any more; the cancel requests are what matters.
    Linux only (it reads C(/proc)), and only for a module run by C(ansible-playbook) (or another ansible program) on the controller,
    as a local connection or C(delegate_to=localhost) runs it; not for a module run over SSH on another host.
author:
  - fleetota.cloud developers (@fleetota)
extends_documentation_fragment:
  - fleetota.cloud.connection
attributes:
  check_mode:
    support: full
    description: Returns the plan, with RV(devices[].status=would_upgrade) for the devices that would be upgraded, and sends no write request.
  diff_mode:
    support: full
    description: The diff lists, per device to upgrade, the version before and after.
options:
  devices:
    description:
      - Device ids to upgrade (Magewell serial numbers, EnOS device keys, Tuya device ids, IoT Core C(DeviceName)). May be long (thousands);
        duplicates are ignored.
      - With O(platform=tuya) the main firmware channel of each device is upgraded (channel 0, else the lowest reported),
        one start request per device; Tuya only installs the version it offers for a device, so an older version is
        not in that device's catalog (the device is reported V(downgrade_refused); O(allow_downgrade) cannot install it),
        and O(force) cannot re-install the running version.
    type: list
    elements: str
    required: true
  version:
    description:
      - The target version, or V(latest) for the newest released firmware that fits each device.
      - Exactly one of O(version) and O(firmware_id).
    type: str
  firmware_id:
    description:
      - The catalog id of the firmware to install (RV(fleetota.cloud.firmware_info#module:firmwares[].id)).
      - Exactly one of O(version) and O(firmware_id).
    type: str
  allow_downgrade:
    description:
      - Install the target on devices that run a newer version.
    type: bool
    default: false
  force:
    description:
      - Re-send the upgrade to devices already at the target version.
    type: bool
    default: false
  include_unreleased:
    description:
      - Allow a test or unverified firmware as the target (Magewell test versions; EnOS firmware with C(isVerified=false);
        IoT Core, C(Status) 0; a package that failed verification is never used).
      - EnOS refuses upgrade jobs for a firmware that requires verification (C(enableVerification)) until it is verified.
    type: bool
    default: false
  wait:
    description:
      - Wait until every upgraded device reports the target version, has failed, or O(wait_timeout) passes.
      - When false, the task returns once the vendor accepted the requests, with RV(devices[].status=started).
    type: bool
    default: true
  wait_timeout:
    description:
      - Seconds to wait in all. Devices not done by then end V(timed_out), which fails the task; their upgrade may still finish.
      - For O(platform=enos) it is also the OTA job's C(upgradeTimeout), clamped to 300..172800 seconds (the range EnOS accepts).
      - A positive, finite number; NaN and infinity are refused before any request is sent.
    type: float
    default: 3600
  poll_interval:
    description:
      - Seconds between two progress reads. Each read costs one request per product family (or per device, for a few devices);
        for EnOS, one C(searchTask) per job and 200 devices still upgrading.
      - A positive, finite number; NaN and infinity are refused before any request is sent.
    type: float
    default: 10
  max_failures:
    description:
      - Stop once more devices than this have ended V(failed) or V(timed_out), each with its O(retries) spent. What is pending
        and has not started is then canceled where the vendor can; the rest is waited for and reported (see the description).
      - A count of devices (V(0) stops at the first failure), or a percent of this task's devices as a string (V('10%'), rounded down, so
        V('10%') of 25 devices is 2).
      - Judged while waiting. Not set, there is no limit. A bad value is refused, naming it, before any request is sent.
    type: raw
  retries:
    description:
      - How many times a device whose upgrade ended V(failed) or V(timed_out) is started again. Only devices whose upgrade ran (seen upgrading,
        or reported failed by the vendor) are retried; one the vendor refused, or whose request's outcome is unknown, is not.
      - With O(platform=tuya_iotcore), IoT Core retries by itself (the job's C(RetryCount) and C(RetryInterval)) when O(retries) is 1, 2 or 5
        and O(retry_delay) 0, 10, 30, 60 or 1440 minutes. Otherwise the task does it. After O(retry_delay) it reads the device again and, if
        it is idle and not at the target, starts it again (one request for all the devices that failed together, and with O(platform=enos)
        C(retryTask) in the run's own job). One upgrading again is waited for, one at the target has succeeded.
      - A retry is sent only if it fits in O(wait_timeout); a device left without its retry says so. RV(devices[].attempts) counts the upgrade
        requests sent for each device, the vendor's own retries included where it reports them.
      - Only with O(wait=true).
    type: int
    default: 0
  retry_delay:
    description:
      - Seconds between the end of a failed attempt and its retry. A finite number, 0 or more.
    type: float
    default: 60
  offline:
    description:
      - What to do with a device the vendor reports offline when the task plans (a device whose online state is unknown counts as online).
      - V(skip), send nothing for it; it ends V(deferred_offline), which does not fail the task, and a later run upgrades it once it is online.
      - V(queue), send it where the vendor queues upgrades for offline devices (EnOS, IoT Core); it ends V(queued), not waited for, and the
        vendor installs it when the device reconnects (cancel it with M(fleetota.cloud.firmware_cancel)). Magewell and Tuya queue nothing,
        so there it ends V(deferred_offline), saying so.
      - V(fail), it ends V(failed), RV(devices[].failure=offline). Magewell and Tuya are sent the upgrade and refuse it; EnOS and IoT Core
        are sent nothing, since they would keep it queued and install it whenever the device reconnects, long after the task.
      - A device the vendor refuses as offline when the upgrade is sent (it went offline after the plan) ends V(failed) with V(fail), else
        V(deferred_offline).
    type: str
    choices: [skip, queue, fail]
    default: fail
notes:
  - Two runs on one controller (forks, parallel C(ansible-playbook), AWX slices on one node) never both start the same device.
    Starting is done under a per-account lock, an exclusive C(flock) on C(fleetota/start-<hash>.lock) under E(XDG_CACHE_HOME)
    (or C(~/.cache)), the hash of O(platform), O(endpoint) and the account (O(username) or O(access_key), and O(org_id); never a secret).
    Under the lock the run reads again the devices another run sent since its plan (C(start-<hash>.json) next to the lock lists them);
    one now upgrading is waited for (V(in_progress)), one now at the target is V(already_current); then it starts the rest and releases the lock.
  - The lock is held only while starting, and released by the system if the run dies. A run waits for it up to 10 times O(timeout),
    then fails naming the lock file, having sent nothing. Where the lock file cannot be created (a read-only cache folder), the run
    goes on without the lock and returns a warning saying so.
  - Runs on different controllers do not share the lock. With O(platform=enos), a run also reads the devices' tasks after starting
    its job, and where another job already upgrades a device (or got there first), cancels its own task for it and waits on that job.
seealso:
  - module: fleetota.cloud.firmware_info
  - module: fleetota.cloud.firmware_cancel
  - plugin: fleetota.cloud.devices
    plugin_type: inventory
'''

EXAMPLES = r'''
- name: Plan only (check mode) the upgrade of two encoders to 1.6.201
  fleetota.cloud.firmware_upgrade:
    platform: magewell
    endpoint: https://cloud.example.com
    username: Admin
    password: "{{ vault_magewell_password }}"
    devices: [A302190900001, A302190900003]
    version: 1.6.201
  check_mode: true
  diff: true
  register: plan

- name: Upgrade every Magewell device of the inventory to the newest released firmware, in one task
  fleetota.cloud.firmware_upgrade:
    devices: "{{ groups['fleetota_magewell'] | map('extract', hostvars, 'fleetota_device_id') | list }}"
    version: latest
    wait_timeout: 1800
    poll_interval: 15
  run_once: true
  register: upgrade

- name: Upgrade EnOS devices (one OTA job per firmware), giving the job up to two hours
  fleetota.cloud.firmware_upgrade:
    platform: enos
    endpoint: https://apim-ppe1.envisioniot.com
    access_key: "{{ enos_app_key }}"
    secret_key: "{{ vault_enos_app_secret }}"
    org_id: o15700000000001
    devices: [DK00001, DK00002]
    version: latest
    wait_timeout: 7200
  register: enos_upgrade

- name: Upgrade Tuya devices to the version their cloud offers, 8 devices at a time
  fleetota.cloud.firmware_upgrade:
    platform: tuya
    endpoint: https://openapi.tuyaeu.com
    access_key: your-access-id
    secret_key: "{{ vault_tuya_secret }}"
    devices: "{{ groups['fleetota_tuya'] | map('extract', hostvars, 'fleetota_device_id') | list }}"
    version: latest
    max_concurrency: 8
  run_once: true

- name: Install one catalog entry by id, without waiting
  fleetota.cloud.firmware_upgrade:
    devices: [A302190900003]
    firmware_id: "10"
    wait: false

- name: Upgrade Tuya IoT Core devices to the newest verified firmware that fits each of them
  fleetota.cloud.firmware_upgrade:
    platform: tuya_iotcore
    endpoint: https://si-0123456789abcdef.tuyacloud.com:8686
    access_key: "{{ iotcore_access_key_id }}"
    secret_key: "{{ vault_iotcore_access_key_secret }}"
    devices: "{{ groups['fleetota_tuya_iotcore'] | map('extract', hostvars, 'fleetota_device_id') | list }}"
    version: latest
  run_once: true
  register: iotcore_upgrade

- name: Upgrade the online Magewell devices, leave the offline ones for a later run, retry a failure once, stop after 10 % failed
  fleetota.cloud.firmware_upgrade:
    devices: "{{ groups['fleetota_magewell'] | map('extract', hostvars, 'fleetota_device_id') | list }}"
    version: latest
    offline: skip
    retries: 1
    retry_delay: 120
    max_failures: 10%
  run_once: true
  register: guarded

- name: Upgrade EnOS devices, queueing the offline ones with EnOS until they reconnect, stopping at the second failure
  fleetota.cloud.firmware_upgrade:
    platform: enos
    endpoint: https://apim-ppe1.envisioniot.com
    access_key: "{{ enos_app_key }}"
    secret_key: "{{ vault_enos_app_secret }}"
    org_id: o15700000000001
    devices: "{{ groups['fleetota_enos'] | map('extract', hostvars, 'fleetota_device_id') | list }}"
    version: latest
    offline: queue
    max_failures: 1
    retries: 2
    retry_delay: 600
  run_once: true
'''

RETURN = r'''
devices:
  description: One entry per device of O(devices), in the same order.
  returned: always, when the input was valid
  type: list
  elements: dict
  contains:
    id:
      description: The device id.
      type: str
    previous_version:
      description: The version the device ran when the task started.
      type: str
      sample: 1.4.120
    target_version:
      description: The version planned for the device, or null when none fits.
      type: str
      sample: 1.6.201
    current_version:
      description: The version the device reported last.
      type: str
      sample: 1.6.201
    action:
      description: What the plan decided.
      type: str
      choices: [upgrade, none, downgrade_refused, incompatible]
    status:
      description:
        - Where the device ended.
        - V(canceled), its pending upgrade was canceled when the task stopped (O(max_failures) passed, or a signal); it does not get it.
        - V(deferred_offline), offline and left alone (O(offline)); a later run picks it up. Not a failure.
        - V(queued), sent for an offline device to a vendor that keeps it queued until the device reconnects (O(offline=queue)); not waited for.
        - V(started) and V(in_progress) after an interruption, the devices no longer waited for, whose upgrade may still finish.
      type: str
      choices: [succeeded, already_current, started, in_progress, would_upgrade, skipped, failed, timed_out, canceled, deferred_offline, queued]
    msg:
      description: Why, in words.
      type: str
    attempts:
      description:
        - Upgrade requests sent for the device by this task, O(retries) included (and the vendor's own retries, where it reports them);
          0 when nothing was sent.
      type: int
      sample: 2
    failure:
      description:
        - For a V(failed) or V(timed_out) device, the kind of its failure; null otherwise.
        - V(failed), the upgrade ran and failed. V(timed_out), not confirmed at the target within O(wait_timeout).
          V(offline), the vendor refused it because the device is offline (O(offline=fail)).
          V(refused), refused before anything ran on the device (not found, a vendor's blocker, the vendor refused the request,
          or a request whose outcome stayed unknown and that never started).
      type: str
      choices: [failed, timed_out, offline, refused]
summary:
  description: Number of devices per RV(devices[].status), every status present.
  returned: always, when the input was valid
  type: dict
  sample: {succeeded: 3, already_current: 5, started: 0, in_progress: 0, would_upgrade: 0, skipped: 1, failed: 0, timed_out: 0, canceled: 0,
           deferred_offline: 2, queued: 0}
aborted:
  description:
    - Why the task stopped early, and what it canceled and still waited for; null when it did not stop.
    - Set when O(max_failures) was passed, a SIGTERM or SIGINT interrupted the task, or the C(ansible-playbook) that ran it was gone.
  returned: always, when the input was valid
  type: str
  sample: "max_failures (10% of 40 devices = 4) passed: 5 device(s) ended failed or timed_out; 12 pending upgrade(s) canceled, 3 device(s)
    still waited for (already upgrading or not cancelable)"
jobs:
  description:
    - The vendor's job or task ids of the upgrades started, for platforms that have them (empty for Magewell and Tuya, which have none).
    - EnOS, the OTA job ids created or waited on.
    - IoT Core, the C(JobId) of every C(CreateOTAStaticUpgradeJob) of this run, and of the unfinished jobs it waited on instead of creating a new one.
  returned: always, when the input was valid
  type: list
  elements: str
api_calls:
  description: HTTP requests this task made, retries included.
  returned: always
  type: int
'''

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.fleetota.cloud.plugins.module_utils._controller import ControllerWatch
from ansible_collections.fleetota.cloud.plugins.module_utils._engine import OFFLINE_CHOICES, OFFLINE_FAIL, StopOnSignals, UpgradeRun
from ansible_collections.fleetota.cloud.plugins.module_utils._module import connection_argument_spec, run_with_client


def main():
    argument_spec = connection_argument_spec()
    argument_spec.update(
        devices={'type': 'list', 'elements': 'str', 'required': True},
        version={'type': 'str'},
        firmware_id={'type': 'str'},
        allow_downgrade={'type': 'bool', 'default': False},
        force={'type': 'bool', 'default': False},
        include_unreleased={'type': 'bool', 'default': False},
        wait={'type': 'bool', 'default': True},
        wait_timeout={'type': 'float', 'default': 3600.0},
        poll_interval={'type': 'float', 'default': 10.0},
        max_failures={'type': 'raw'},
        retries={'type': 'int', 'default': 0},
        retry_delay={'type': 'float', 'default': 60.0},
        offline={'type': 'str', 'default': OFFLINE_FAIL, 'choices': list(OFFLINE_CHOICES)},
    )
    module = AnsibleModule(
        argument_spec=argument_spec,
        mutually_exclusive=[('version', 'firmware_id')],
        required_one_of=[('version', 'firmware_id')],
        supports_check_mode=True,
    )
    params = module.params

    def action(client):
        run = UpgradeRun(
            client,
            params['devices'],
            version=params['version'],
            firmware_id=params['firmware_id'],
            allow_downgrade=params['allow_downgrade'],
            force=params['force'],
            include_unreleased=params['include_unreleased'],
            wait=params['wait'],
            wait_timeout=params['wait_timeout'],
            poll_interval=params['poll_interval'],
            max_failures=params['max_failures'],
            retries=params['retries'],
            retry_delay=params['retry_delay'],
            offline=params['offline'],
        )
        # SIGTERM (an AWX job canceled) or SIGINT while waiting: the run cancels what is pending and reports every device.
        # So it does when ansible-playbook is gone (killed with SIGKILL, as ansible-runner cancels a job): nobody waits any more.
        with StopOnSignals(run.interrupt), ControllerWatch(run.interrupt):
            return run.run(check_mode=module.check_mode)

    run_with_client(module, action)


if __name__ == '__main__':
    main()
