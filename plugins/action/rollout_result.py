# -*- coding: utf-8 -*-
# Copyright (c) fleetota.cloud developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Report one device's rollout outcome on its own host: ok, changed or failed in the recap.

It runs on the controller only (no module is sent anywhere). The role runs it once per host, so
its cost is what matters at fleet scale: with O(outcomes_var) it takes the host's entry straight
from the host's variables, without templating the whole fleet's outcomes for every host.

O(outcomes_var) may be a dotted path into a dict variable (C(report.by_host)); the module's
documentation says why the role keeps its map one level down.
"""

from collections.abc import Mapping

from ansible.errors import AnsibleActionFail
from ansible.plugins.action import ActionBase

from ansible_collections.fleetota.cloud.plugins.plugin_utils._rollout import CHANGED, HOST_FAILED

FIELDS = ('id', 'previous_version', 'target_version', 'current_version', 'action', 'status', 'msg', 'wave')
MISSING = object()


class ActionModule(ActionBase):
    _supports_check_mode = True
    _requires_connection = False
    _VALID_ARGS = frozenset(('outcome', 'outcomes_var', 'device_id', 'device_id_var'))

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        args = self._arguments()
        outcome = args['outcome']
        if args['outcomes_var']:
            outcome = self._outcome_from_var(args['outcomes_var'], task_vars or {})
            if outcome is MISSING:
                result.update(failed=True, status=None, msg='no outcome for this host in %s: the rollout stopped before it got this far, '
                              'or the host was not in the play when it planned; see the task that failed before this one' % args['outcomes_var'])
                return result
        if not outcome and args['device_id']:
            result.update(failed=True, status=None, msg='no outcome for device %s: the rollout stopped before it got this far; '
                          'see the task that failed before this one' % args['device_id'])
            return result
        if not outcome:
            result.update(failed=True, status=None, msg='this host has no device id: set the host variable %s, or name the variable that holds '
                          'it with firmware_rollout_device_id_var' % self._device_id_var(args, task_vars or {}))
            return result
        for field in FIELDS:
            result[field] = outcome.get(field)
        status = outcome.get('status')
        result['changed'] = status in CHANGED
        result['failed'] = status in HOST_FAILED
        result['msg'] = outcome.get('msg') or status
        return result

    def _arguments(self):
        """The task's arguments, checked by hand: ansible-core's argument spec validation costs more than the rest of
        this plugin together, and it runs once per host."""
        args = dict(self._task.args)  # names outside _VALID_ARGS are refused by ActionBase.run
        if args.get('outcome') is not None and args.get('outcomes_var') is not None:
            raise AnsibleActionFail('parameters are mutually exclusive: outcome|outcomes_var')
        for name in ('outcome', 'outcomes_var', 'device_id', 'device_id_var'):
            value = args.setdefault(name, None)
            if value is None:
                continue
            if name == 'outcome':
                if not isinstance(value, Mapping):
                    raise AnsibleActionFail('outcome must be a dict, but it is a %s' % type(value).__name__)
            elif isinstance(value, (int, float)) and not isinstance(value, bool):
                args[name] = str(value)  # a numeric device id, as the argument spec type str would convert it
            elif not isinstance(value, str):
                raise AnsibleActionFail('%s must be a string, but it is a %s' % (name, type(value).__name__))
        return args

    def _device_id_var(self, args, task_vars):
        """The name of the host variable that should hold the device id: O(device_id_var); else the C(device_id_var) entry
        of the dict that holds the mapping of a dotted O(outcomes_var), which the role sets once for the group, so that its
        per-host task needs no template (each template is compiled anew for every host); else fleetota_device_id."""
        if args['device_id_var']:
            return args['device_id_var']
        keys = (args['outcomes_var'] or '').split('.')
        holder = task_vars.get(keys[0], MISSING) if len(keys) > 1 else MISSING
        for key in keys[1:-1]:
            holder = self._templar.template(holder) if holder is not MISSING else holder
            holder = holder.get(key, MISSING) if isinstance(holder, Mapping) else MISSING
        holder = self._templar.template(holder) if holder is not MISSING else holder
        name = holder.get('device_id_var') if isinstance(holder, Mapping) else None
        return self._templar.template(name) if name else 'fleetota_device_id'

    def _outcome_from_var(self, name, task_vars):
        """This host's entry of the mapping that C(name) names (a variable, or a dotted path into one): MISSING when
        the variable, a key on the path, or the entry is absent; None when the host has no device id. Only the
        entry is templated, never the whole mapping."""
        keys = name.split('.')
        outcomes = task_vars.get(keys[0], MISSING)
        for depth in range(1, len(keys)):
            outcomes = self._mapping(outcomes, 'outcomes_var: %s: %s must be a dict' % (name, '.'.join(keys[:depth])))
            if outcomes is MISSING:
                return MISSING
            outcomes = outcomes.get(keys[depth], MISSING)
        outcomes = self._mapping(outcomes, 'outcomes_var: the variable %s must map host names to outcomes' % name)
        if outcomes is MISSING:
            return MISSING
        outcome = outcomes.get(task_vars.get('inventory_hostname'), MISSING)
        if outcome is None or outcome is MISSING:
            return outcome
        outcome = self._templar.template(outcome)
        if not isinstance(outcome, Mapping):
            raise AnsibleActionFail('outcomes_var: the entry of %s for this host must be an outcome (a dict), but it is a %s'
                                    % (name, type(outcome).__name__))
        return outcome

    def _mapping(self, value, expectation):
        """C(value) as a mapping (templated only when it is not one already), or MISSING; else fail with C(expectation)."""
        if value is MISSING or isinstance(value, Mapping):
            return value
        value = self._templar.template(value)
        if not isinstance(value, Mapping):
            raise AnsibleActionFail('%s, but it holds a %s' % (expectation, type(value).__name__))
        return value
