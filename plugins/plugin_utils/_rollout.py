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

# Plan statuses of devices that still need work: sent to a wave. `queued` (check mode with firmware_rollout_offline: queue)
# is an offline device the vendor will queue: it goes into the waves too, after every online device.
TODO = ('in_progress', 'would_upgrade', 'queued')
# Statuses of a device whose upgrade went wrong.
FAILED = ('failed', 'timed_out')
# The kinds of failure (firmware_upgrade's `failure`), and those the `total` of the budget counts. `refused` devices (refused
# before anything ran on them) count only against a limit of their own, when one is given.
KINDS = ('failed', 'timed_out', 'offline', 'refused')
TOTAL_KINDS = ('failed', 'timed_out', 'offline')
POLICY_KEYS = KINDS + ('total',)
# Statuses of a device that finished (for firmware_rollout_min_finished).
FINISHED = ('succeeded', 'failed', 'timed_out')
# Statuses of a device sent an upgrade by this run that did not finish: what the stop cancels.
CANCEL_CANDIDATES = ('started', 'in_progress', 'timed_out', 'queued', 'canceled')
# How many canceled device ids the summary lists (the count is always complete).
SUMMARY_IDS = 100
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


def _limit(value, name, total):
    """One limit of the policy: its spec as given, whether it is a percent, and the count it allows of `total` devices."""
    kind, amount = _parse_share(value, name, allow_zero=True)
    spec = '%s%%' % ('%g' % amount) if kind == 'percent' else str(amount)
    return {'spec': spec, 'percent': kind == 'percent', 'amount': amount,
            'limit': amount if kind == 'count' else int(math.floor(total * amount / 100.0 + 1e-9))}


def _share_of(limit, total):
    """The count a limit allows of `total` devices."""
    if not limit['percent']:
        return limit['amount']
    return int(math.floor(total * limit['amount'] / 100.0 + 1e-9))


def failure_policy(total, max_failures, wave_max_failures=None, min_finished=0):
    """The failure policy of a run of `total` devices to upgrade, as plain data.

    `max_failures`: a count or percent (the limit of the `total` kind), or a dict by kind (failed, timed_out, offline,
    refused, total), each a count or a percent of the run's devices to upgrade. `wave_max_failures`: a count or a percent
    of each wave's devices, or None. `min_finished`: a percent limit is not judged until that many devices of the run
    have finished (succeeded, failed or timed out).
    """
    name = 'firmware_rollout_max_failures'
    if isinstance(max_failures, dict):
        unknown = sorted(str(key) for key in max_failures if key not in POLICY_KEYS)
        if unknown or not max_failures:
            raise ConfigError('%s %s: expected a count, a percent, or a dict with one or more of the keys %s, each a count or a percent' % (
                name, 'has the unknown key(s) %s' % ', '.join(repr(key) for key in unknown) if unknown else 'is an empty dict',
                ', '.join(POLICY_KEYS)))
        given = max_failures
    else:
        given = {'total': max_failures}
    limits = {}
    for key in POLICY_KEYS:
        if key in given:
            label = name if not isinstance(max_failures, dict) else '%s.%s' % (name, key)
            limits[key] = _limit(given[key], label, total)
    wave = None
    if wave_max_failures is not None and wave_max_failures != '':
        wave = _limit(wave_max_failures, 'firmware_rollout_wave_max_failures', 0)
    least = min_finished
    if isinstance(least, str) and least.strip().isdigit():
        least = int(least)
    if isinstance(least, bool) or not isinstance(least, int) or least < 0:
        raise ConfigError('firmware_rollout_min_finished is %r: expected a count of devices, 0 or more' % (min_finished,))
    return {'devices': total, 'limits': limits, 'wave': wave, 'min_finished': least}


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
        'failure': device.get('failure'),
        'attempts': device.get('attempts'),
    }


def plan(plan_devices, waves, max_failures, wave_max_failures=None, min_finished=0):
    """From the check-mode result of firmware_upgrade: the waves, the failure policy, and every device's outcome so far.

    Devices already upgrading come first: they cost nothing to wait for, and a resumed run
    finishes what it left before it starts anything new. Offline devices the vendor will queue
    come last: a canary must be a device that installs now. Devices deferred because they are
    offline are in no wave.
    """
    plan_devices = list(plan_devices or [])
    todo = []
    for status in TODO:
        todo += [d['id'] for d in plan_devices if d.get('status') == status]
    split = split_waves(todo, waves)
    policy = failure_policy(len(todo), max_failures, wave_max_failures, min_finished)
    wave_of = {}
    for number, members in enumerate(split, 1):
        for device_id in members:
            wave_of[device_id] = number
    outcomes = {}
    for device in plan_devices:
        outcomes[device['id']] = _outcome(device, wave_of.get(device['id']))
    return {'waves': split, 'budget': policy, 'outcomes': outcomes, 'lines': describe(outcomes, split, policy)}


def describe_policy(policy):
    """The failure policy in words."""
    parts = []
    for key in POLICY_KEYS:
        limit = policy['limits'].get(key)
        if limit is None:
            continue
        what = 'failed, timed out or offline device(s)' if key == 'total' else '%s device(s)' % key.replace('_', ' ')
        shown = limit['spec'] if not limit['percent'] else '%s = %d of %d' % (limit['spec'], limit['limit'], policy['devices'])
        parts.append('%s %s tolerated' % (shown, what))
    wave = policy.get('wave')
    if wave:
        parts.append('%s failed device(s) per wave, then the wave is aborted' % wave['spec'])
    if policy.get('min_finished') and any(limit['percent'] for limit in list(policy['limits'].values()) + [wave] if limit):
        parts.append('percents judged once %d device(s) have finished' % policy['min_finished'])
    return 'failure budget: %s; one more and no further wave starts' % '; '.join(parts or ['none'])


def describe(outcomes, waves, policy, shown=10):
    """The plan in words, wave by wave: what check mode shows and what a real run will do."""
    counts = {}
    for entry in outcomes.values():
        counts[entry['status']] = counts.get(entry['status'], 0) + 1
    lines = ['%d device(s): %s' % (len(outcomes), ', '.join('%d %s' % (n, status.replace('_', ' ')) for status, n in sorted(counts.items())))]
    for number, members in enumerate(waves, 1):
        targets = sorted(set(str(outcomes[device_id]['target_version']) for device_id in members))
        more = ' and %d more' % (len(members) - shown) if len(members) > shown else ''
        lines.append('wave %d: %d device(s) to %s: %s%s' % (number, len(members), ', '.join(targets), ', '.join(members[:shown]), more))
    lines.append(describe_policy(policy))
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
                entry['status'], entry['failure'] = 'failed', 'failed'
                entry['msg'] = 'verification: the device reports %s, not the target %s' % (check.get('current_version'), entry['target_version'])
        entry['reached'] = True  # its wave ran: `finish` leaves it alone, and the stop may cancel it
        merged[entry['id']] = entry
    return merged


def failure_kind(entry):
    """The kind of failure of one outcome, or None.

    A device refused before any wave (not found, or the vendor says it cannot upgrade it now, e.g. a
    low battery) is `refused`, as is one the vendor refused in its wave before anything ran on it.
    Otherwise the kind firmware_upgrade reported (`failure`), or what its status says. A device
    canceled when the rollout stopped keeps the kind it had before (it timed out, then was canceled).
    """
    status, kind = entry.get('status'), entry.get('failure')
    if status == 'canceled':
        return kind if kind in KINDS else None
    if status not in FAILED:
        return None
    if entry.get('wave') is None or entry.get('action') != 'upgrade':
        return 'refused'
    if kind in KINDS:
        return kind
    return 'timed_out' if status == 'timed_out' else 'failed'


def failures_by_kind(outcomes, wave=None):
    """Kind -> the sorted ids of the devices that failed with it (of one wave when `wave` is given)."""
    kinds = dict((kind, []) for kind in KINDS)
    for device_id, entry in outcomes.items():
        if wave is not None and entry.get('wave') != wave:
            continue
        kind = failure_kind(entry)
        if kind is not None:
            kinds[kind].append(device_id)
    for ids in kinds.values():
        ids.sort()
    return kinds


def failures(outcomes):
    """Devices that count against the budget's total: their upgrade failed, timed out, or the vendor refused it because
    the device was offline (firmware_rollout_offline: fail).

    Devices refused before anything ran on them fail their hosts but count only against a `refused` limit of their own:
    the budget is there to catch a bad firmware.
    """
    kinds = failures_by_kind(outcomes)
    return sorted(device_id for kind in TOTAL_KINDS for device_id in kinds[kind])


def finished_count(outcomes):
    """Devices of the run's waves that finished: succeeded, failed or timed out."""
    return sum(1 for entry in outcomes.values() if entry.get('wave') is not None and entry.get('status') in FINISHED)


def _judged(limit, policy, finished):
    return not limit['percent'] or finished >= policy.get('min_finished', 0)


def _ids(ids, shown=5):
    return ', '.join(ids[:shown]) + (' and %d more' % (len(ids) - shown) if len(ids) > shown else '')


def _shown(limit, total):
    return limit['spec'] if not limit['percent'] else '%s: %d of %d device(s)' % (limit['spec'], _share_of(limit, total), total)


def wave_max_failures(outcomes, policy, wave_devices):
    """The max_failures of a wave's firmware_upgrade call, so the wave aborts inside itself: the smallest remaining
    allowance of the run's total and of the wave limit, of those judged already; None when neither applies."""
    finished = finished_count(outcomes)
    allowances = []
    total = policy['limits'].get('total')
    if total is not None and _judged(total, policy, finished):
        allowances.append(max(0, total['limit'] - len(failures(outcomes))))
    wave = policy.get('wave')
    if wave is not None and _judged(wave, policy, finished):
        allowances.append(_share_of(wave, len(wave_devices or [])))
    return min(allowances) if allowances else None


def stop_reason(outcomes, policy, wave, waves_total, aborted=None):
    """Why no further wave may start after `wave`, or '' to go on. Only a wave that was aborted (firmware_upgrade's
    `aborted`) stops the last wave: after it, there is nothing left to stop."""
    finished = finished_count(outcomes)
    reasons = []
    wave_limit = policy.get('wave')
    if wave_limit is not None and _judged(wave_limit, policy, finished):
        members = [entry for entry in outcomes.values() if entry.get('wave') == wave]
        kinds = failures_by_kind(outcomes, wave)
        failed = sorted(device_id for kind in TOTAL_KINDS for device_id in kinds[kind])
        if len(failed) > _share_of(wave_limit, len(members)):
            reasons.append('the wave limit (%s) was exceeded in wave %d: %d device(s) failed, timed out or offline (%s)' % (
                _shown(wave_limit, len(members)), wave, len(failed), _ids(failed)))
    kinds = failures_by_kind(outcomes)
    for key in POLICY_KEYS:
        limit = policy['limits'].get(key)
        if limit is None or not _judged(limit, policy, finished):
            continue
        if key == 'total':
            failed = failures(outcomes)
            if len(failed) > limit['limit']:
                reasons.append('the failure budget (%s) was exceeded after wave %d: %d device(s) failed, timed out or offline (%s)' % (
                    _shown(limit, policy['devices']), wave, len(failed), _ids(failed)))
        elif len(kinds[key]) > limit['limit']:
            reasons.append('the failure budget for %s (%s) was exceeded after wave %d: %d device(s) %s (%s)' % (
                key, _shown(limit, policy['devices']), wave, len(kinds[key]), key.replace('_', ' '), _ids(kinds[key])))
    if aborted:
        reasons.append('wave %d was aborted: %s' % (wave, aborted))
    if not reasons or (wave >= waves_total and not aborted):
        return ''
    return '; '.join(reasons)


def finish(outcomes, stopped, check_mode=False):
    """Devices still waiting for their wave when the rollout stopped end `not_started`, with the reason. Devices their wave
    reached keep what it reported (`queued` at the vendor, say)."""
    if check_mode or not stopped:
        return outcomes
    finished = dict(outcomes)
    for device_id, entry in outcomes.items():
        if entry.get('status') in TODO and not entry.get('reached'):
            entry = dict(entry, status=NOT_STARTED, msg='not upgraded: the rollout stopped before wave %s: %s' % (entry.get('wave'), stopped))
            finished[device_id] = entry
    return finished


def cancel_candidates(outcomes):
    """The devices the run sent an upgrade to that did not finish (started, in progress, timed out, queued at the vendor, or
    canceled by a wave's abort, to be sure): what the stop cancels with firmware_cancel. Call it after `finish`."""
    return sorted(device_id for device_id, entry in outcomes.items()
                  if entry.get('reached') and entry.get('status') in CANCEL_CANDIDATES)


def canceled(outcomes, results):
    """Merge firmware_cancel's per-device results into the outcomes: a device canceled ends `canceled` (its failure kind,
    if it had one, is kept); one the vendor could not cancel keeps its status, and its message says why."""
    merged = dict(outcomes)
    for result in results or []:
        entry = merged.get(result.get('id'))
        if entry is None:
            continue
        status = result.get('status')
        if status == 'canceled':
            merged[result['id']] = dict(entry, status='canceled', msg='canceled when the rollout stopped (was %s): %s' % (
                entry.get('status'), result.get('msg') or 'pending vendor task canceled'))
        elif status == 'not_cancelable':
            merged[result['id']] = dict(entry, msg='%s; not canceled when the rollout stopped: %s' % (entry.get('msg'), result.get('msg')))
    return merged


def by_host(outcomes, ids):
    """Host name to its device's outcome (None when the host has no device id or its device has no outcome),
    built in one pass: looking the outcomes up once per host in a template costs hosts x devices."""
    return dict((host, outcomes.get(device_id) if device_id else None) for host, device_id in ids.items())


def summary(outcomes, policy, stopped, waves_total):
    """Counts per status, per wave and per kind of failure, what was canceled, and the verdict of the run."""
    by_status, by_wave = {}, {}
    for entry in outcomes.values():
        status = entry.get('status')
        by_status[status] = by_status.get(status, 0) + 1
        if entry.get('wave') is not None:
            counts = by_wave.setdefault('wave %d' % entry['wave'], {})
            counts[status] = counts.get(status, 0) + 1
    kinds = failures_by_kind(outcomes)
    canceled_ids = sorted(device_id for device_id, entry in outcomes.items() if entry.get('status') == 'canceled')
    return {
        'devices': len(outcomes),
        'by_status': dict(sorted(by_status.items())),
        'by_wave': dict(sorted(by_wave.items(), key=lambda item: int(item[0].split()[1]))),
        'waves': waves_total,
        'failures': len(failures(outcomes)),
        'failures_by_kind': dict((kind, len(ids)) for kind, ids in kinds.items()),
        'failure_budget': dict((key, limit['limit']) for key, limit in policy['limits'].items()),
        'wave_max_failures': policy['wave']['spec'] if policy.get('wave') else None,
        'min_finished': policy.get('min_finished', 0),
        'canceled': {'count': len(canceled_ids), 'ids': canceled_ids[:SUMMARY_IDS]},
        'deferred_offline': by_status.get('deferred_offline', 0),
        'stopped': stopped or None,
    }


# How each status shows in the play recap of its host: deferred_offline and queued are ok (nothing failed, the device
# is unchanged yet); canceled and not_started fail (the device did not get the firmware it was meant to).
CHANGED = ('succeeded', 'started', 'would_upgrade')
HOST_FAILED = ('failed', 'timed_out', NOT_STARTED, 'canceled')
