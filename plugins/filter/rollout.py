# -*- coding: utf-8 -*-
# Copyright (c) fleetota.cloud developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Filters behind the firmware_rollout role; the logic lives in module_utils/_rollout.py."""

from ansible.errors import AnsibleFilterError

from ansible_collections.fleetota.cloud.plugins.module_utils import _rollout
from ansible_collections.fleetota.cloud.plugins.module_utils._errors import ConfigError


def _filter(function):
    def wrapper(*args, **kwargs):
        try:
            return function(*args, **kwargs)
        except ConfigError as exc:
            raise AnsibleFilterError(str(exc))
    wrapper.__name__ = function.__name__
    wrapper.__doc__ = function.__doc__
    return wrapper


def rollout_plan(plan_devices, waves, max_failures):
    return _rollout.plan(plan_devices, waves, max_failures)


def rollout_record(outcomes, upgraded, verified, wave):
    return _rollout.record(outcomes, upgraded, verified, wave)


def rollout_stop_reason(outcomes, budget, wave, waves_total):
    return _rollout.stop_reason(outcomes, budget, wave, waves_total)


def rollout_finish(outcomes, stopped, check_mode=False):
    return _rollout.finish(outcomes, stopped, check_mode)


def rollout_summary(outcomes, budget, stopped, waves_total):
    return _rollout.summary(outcomes, budget, stopped, waves_total)


class FilterModule:
    def filters(self):
        return dict((function.__name__, _filter(function)) for function in (
            rollout_plan, rollout_record, rollout_stop_reason, rollout_finish, rollout_summary))
