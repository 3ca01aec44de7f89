# -*- coding: utf-8 -*-
# Copyright (c) fleetota.cloud developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Report one device's rollout outcome on its own host: ok, changed or failed in the recap.

It runs on the controller only (no module is sent anywhere), so the role's one per-host
task costs as little as a set_fact. Registered, the result is the host's outcome.
"""

from ansible.plugins.action import ActionBase

from ansible_collections.fleetota.cloud.plugins.module_utils._rollout import CHANGED, HOST_FAILED

FIELDS = ('id', 'previous_version', 'target_version', 'current_version', 'action', 'status', 'msg', 'wave')


class ActionModule(ActionBase):
    _supports_check_mode = True
    _requires_connection = False
    _VALID_ARGS = frozenset(('outcome', 'device_id', 'device_id_var'))

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        dummy, args = self.validate_argument_spec(argument_spec={
            'outcome': {'type': 'dict'},
            'device_id': {'type': 'str'},
            'device_id_var': {'type': 'str', 'default': 'fleetota_device_id'},
        })
        outcome = args['outcome']
        if not outcome and args['device_id']:
            result.update(failed=True, status=None, msg='no outcome for device %s: the rollout stopped before it got this far; '
                          'see the task that failed before this one' % args['device_id'])
            return result
        if not outcome:
            result.update(failed=True, status=None, msg='this host has no device id: set the host variable %s, or name the variable that holds '
                          'it with firmware_rollout_device_id_var' % args['device_id_var'])
            return result
        for field in FIELDS:
            result[field] = outcome.get(field)
        status = outcome.get('status')
        result['changed'] = status in CHANGED
        result['failed'] = status in HOST_FAILED
        result['msg'] = outcome.get('msg') or status
        return result
