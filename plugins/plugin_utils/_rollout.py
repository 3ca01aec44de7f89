# -*- coding: utf-8 -*-
# Copyright (c) fleetota.cloud developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The bookkeeping of the firmware_rollout role: waves, failure budget, per-device outcomes.

Pure functions over plain data (what firmware_upgrade and firmware_info return), so the
role's YAML stays a sequence of steps and every decision here is unit-tested. The filter
plugin fleetota.cloud.rollout exposes them to the role.
"""

import math
import re

from ansible_collections.fleetota.cloud.plugins.module_utils._errors import ConfigError
from ansible_collections.fleetota.cloud.plugins.module_utils._versions import same_version

# Plan statuses of devices that still need work: sent to a wave.
TODO = ('in_progress', 'would_upgrade')
# Statuses that count against the failure budget.
FAILED = ('failed', 'timed_out')
# Set on a device that needed an upgrade but was not attempted because the rollout stopped.
NOT_STARTED = 'not_started'

_PERCENT_RE = re.compile(r'^\s*(\d+(?:\.\d+)?)\s*%\s*$')
_COUNT_RE = re.compile(r'^\s*(\d+)\s*$')


def _parse_share(value, name, allow_zero):
    """A count (int or digit string) or a percent string -> ('count', n) or ('percent', p)."""
    least = 0 if allow_zero else 1
    if isinstance(value, bool):
        value = None  # True/False are not counts
    if isinstance(value, int) and value >= least:
        return 'count', value
    if isinstance(value, str):
        match = _COUNT_RE.match(value)
        if match and int(match.group(1)) >= least:
            return 'count', int(match.group(1))
        match = _PERCENT_RE.match(value)
        if match and (allow_zero or float(match.group(1)) > 0) and float(match.group(1)) <= 100:
            return 'percent', float(match.group(1))
    raise ConfigError("%s is %r: expected a %s count like %s or a percent like '10%%' (%s to 100%%)" % (
        name, value, 'non-negative' if allow_zero else 'positive', '0 or 5' if allow_zero else '1 or 50', '0%' if allow_zero else 'above 0%'))


def split_waves(ids, waves, name='firmware_rollout_waves'):
    """Split `ids` into waves, like Ansible's `serial`: each entry is the size of one wave,
    a count or a percent of all the devices to upgrade (rounded up, at least 1), and the
    last entry repeats until every device has its wave. An empty list means one wave."""
    ids = list(ids)
    if waves is None:
        waves = []
    if isinstance(waves, str):
        waves = [part for part in waves.replace(' ', '').split(',') if part] if waves.strip() else []
    elif isinstance(waves, int) and not isinstance(waves, bool):
        waves = [waves]
    if not isinstance(waves, (list, tuple)):
        raise ConfigError("%s is %r: expected a list of wave sizes, e.g. [1, '10%%', '100%%']" % (name, waves))
    sizes = []
    for index, entry in enumerate(waves):
        kind, amount = _parse_share(entry, '%s[%d]' % (name, index), allow_zero=False)
        sizes.append(amount if kind == 'count' else max(1, int(math.ceil(len(ids) * amount / 100.0 - 1e-9))))
    if not sizes:
        sizes = [max(1, len(ids))]
    result, start, index = [], 0, 0
    while start < len(ids):
        size = sizes[min(index, len(sizes) - 1)]
        result.append(ids[start:start + size])
        start += size
        index += 1
    return result


def failure_budget(total, max_failures, name='firmware_rollout_max_failures'):
    """How many failed devices the run tolerates: a count, or a percent of `total` (rounded down)."""
    kind, amount = _parse_share(max_failures, name, allow_zero=True)
    if kind == 'count':
        return amount
    return int(math.floor(total * amount / 100.0 + 1e-9))


def _outcome(device, wave=None):
    return {
        'id': device.get('id'),
        'previous_version': device.get('previous_version'),
        'target_version': device.get('target_version'),
        'current_version': device.get('current_version'),
        'action': device.get('action'),
        'status': device.get('status'),
        'msg': device.get('msg'),
        'wave': wave,
    }


def plan(plan_devices, waves, max_failures):
    """From the check-mode result of firmware_upgrade: the waves, the budget, and every device's outcome so far.

    Devices already upgrading come first: they cost nothing to wait for, and a resumed run
    finishes what it left before it starts anything new.
    """
    plan_devices = list(plan_devices or [])
    todo = [d['id'] for d in plan_devices if d.get('status') == 'in_progress']
    todo += [d['id'] for d in plan_devices if d.get('status') == 'would_upgrade']
    split = split_waves(todo, waves)
    budget = failure_budget(len(todo), max_failures)
    wave_of = {}
    for number, members in enumerate(split, 1):
        for device_id in members:
            wave_of[device_id] = number
    outcomes = {}
    for device in plan_devices:
        outcomes[device['id']] = _outcome(device, wave_of.get(device['id']))
    return {'waves': split, 'budget': budget, 'outcomes': outcomes, 'lines': describe(outcomes, split, budget)}


def describe(outcomes, waves, budget, shown=10):
    """The plan in words, wave by wave: what check mode shows and what a real run will do."""
    counts = {}
    for entry in outcomes.values():
        counts[entry['status']] = counts.get(entry['status'], 0) + 1
    lines = ['%d device(s): %s' % (len(outcomes), ', '.join('%d %s' % (n, status.replace('_', ' ')) for status, n in sorted(counts.items())))]
    for number, members in enumerate(waves, 1):
        targets = sorted(set(str(outcomes[device_id]['target_version']) for device_id in members))
        more = ' and %d more' % (len(members) - shown) if len(members) > shown else ''
        lines.append('wave %d: %d device(s) to %s: %s%s' % (number, len(members), ', '.join(targets), ', '.join(members[:shown]), more))
    lines.append('failure budget: %d failed device(s) tolerated; one more and no further wave starts' % budget)
    for entry in sorted(outcomes.values(), key=lambda e: str(e['id'])):
        if entry['status'] in ('skipped', 'failed'):
            lines.append('%s %s: %s' % (entry['status'], entry['id'], entry['msg']))
            shown -= 1
            if shown <= 0:
                lines.append('(see firmware_rollout_result of each host for the rest)')
                break
    return lines


def record(outcomes, upgraded, verified, wave):
    """Merge one wave's firmware_upgrade result and its verification read into the outcomes.

    A device the upgrade reported done but the verification read does not show at the
    target is a failure: the wave is only done when the devices say so.

    A device that was upgrading when the rollout planned (a resumed run) and has reached the
    target by its wave finished an upgrade of this rollout: it succeeded, from the version the
    plan saw, even though the wave found nothing left to do.
    """
    merged = dict(outcomes)
    seen = dict((d.get('id'), d) for d in verified or [])
    for device in upgraded or []:
        entry = _outcome(device, wave)
        previous = merged.get(entry['id'])
        if previous is not None and previous.get('previous_version') is not None:
            entry['previous_version'] = previous['previous_version']
        if previous is not None and previous.get('status') == 'in_progress' and entry['status'] == 'already_current':
            entry['action'], entry['status'] = 'upgrade', 'succeeded'
            entry['msg'] = 'finished, before its wave, the upgrade from %s to %s that was under way when the rollout started' % (
                entry['previous_version'], entry['target_version'])
        check = seen.get(entry['id'])
        if check is not None:
            entry['current_version'] = check.get('current_version')
            if entry['status'] == 'succeeded' and not same_version(check.get('current_version'), entry['target_version']):
                entry['status'] = 'failed'
                entry['msg'] = 'verification: the device reports %s, not the target %s' % (check.get('current_version'), entry['target_version'])
        merged[entry['id']] = entry
    return merged


def failures(outcomes):
    """Devices whose upgrade failed or timed out in a wave.

    Devices refused before any wave (not found, or the vendor says it cannot upgrade them now, e.g.
    a low battery) fail their hosts but do not count: the budget is there to catch a bad firmware.
    """
    return sorted(device_id for device_id, entry in outcomes.items()
                  if entry.get('status') in FAILED and entry.get('action') == 'upgrade' and entry.get('wave') is not None)


def stop_reason(outcomes, budget, wave, waves_total):
    """Why no further wave may start after `wave`, or '' to go on."""
    failed = failures(outcomes)
    if len(failed) > budget and wave < waves_total:
        return 'the failure budget (%d) was exceeded after wave %d: %d device(s) failed (%s)' % (
            budget, wave, len(failed), ', '.join(failed[:5]) + (' and %d more' % (len(failed) - 5) if len(failed) > 5 else ''))
    return ''


def finish(outcomes, stopped, check_mode=False):
    """Devices still waiting for their wave when the rollout stopped end `not_started`, with the reason."""
    if check_mode or not stopped:
        return outcomes
    finished = dict(outcomes)
    for device_id, entry in outcomes.items():
        if entry.get('status') in TODO:
            entry = dict(entry, status=NOT_STARTED, msg='not upgraded: the rollout stopped before wave %s: %s' % (entry.get('wave'), stopped))
            finished[device_id] = entry
    return finished


def by_host(outcomes, ids):
    """Host name to its device's outcome (None when the host has no device id or its device has no outcome),
    built in one pass: looking the outcomes up once per host in a template costs hosts x devices."""
    return dict((host, outcomes.get(device_id) if device_id else None) for host, device_id in ids.items())


def summary(outcomes, budget, stopped, waves_total):
    """Counts per status, per wave, and the verdict of the run."""
    by_status, by_wave = {}, {}
    for entry in outcomes.values():
        status = entry.get('status')
        by_status[status] = by_status.get(status, 0) + 1
        if entry.get('wave') is not None:
            counts = by_wave.setdefault('wave %d' % entry['wave'], {})
            counts[status] = counts.get(status, 0) + 1
    return {
        'devices': len(outcomes),
        'by_status': dict(sorted(by_status.items())),
        'by_wave': dict(sorted(by_wave.items(), key=lambda item: int(item[0].split()[1]))),
        'waves': waves_total,
        'failures': len(failures(outcomes)),
        'failure_budget': budget,
        'stopped': stopped or None,
    }


# How each status shows in the play recap of its host.
CHANGED = ('succeeded', 'started', 'would_upgrade')
HOST_FAILED = ('failed', 'timed_out', NOT_STARTED)
