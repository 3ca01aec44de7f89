# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Write docs/performance.md from the benchmark's result files, never by hand.

    python tests/benchmark/performance_page.py            # (re)writes docs/performance.md
    python tests/benchmark/performance_page.py --check    # exits 1 when docs/performance.md is not what the results give

The results are the JSON files rollout_benchmark.py writes (with its commit, machine and command), kept in
tests/benchmark/results/<platform>-<devices>.json. Figures that have no result file (older runs) are kept, as written,
in tests/benchmark/results/earlier.md and appended under their own heading.
"""

import argparse
import json
import pathlib
import sys

REPO = pathlib.Path(__file__).resolve().parents[2]
RESULTS = REPO / 'tests' / 'benchmark' / 'results'
EARLIER = RESULTS / 'earlier.md'
PAGE = REPO / 'docs' / 'performance.md'
PLATFORM_ORDER = ('magewell', 'enos', 'tuya_iotcore', 'tuya')
MISSING = 'n/a'


def load_results(folder=RESULTS):
    """Every result file, ordered by platform, then fleet size."""
    results = []
    for path in sorted(folder.glob('*.json')):
        data = json.loads(path.read_text())
        for key in ('platform', 'devices', 'commit', 'machine', 'command'):
            if key not in data:
                raise ValueError('%s: no %r; results must come from rollout_benchmark.py, which records it' % (path.name, key))
        data['_file'] = path.name
        results.append(data)
    order = dict((name, index) for index, name in enumerate(PLATFORM_ORDER))
    return sorted(results, key=lambda item: (order.get(item['platform'], len(order)), item['platform'], item['devices']))


def ratio(value):
    return MISSING if value is None else '%.2fx' % value


def seconds(value):
    return MISSING if value is None else '%.1f s' % value


def count(value):
    return MISSING if value is None else '{:,}'.format(value)


def _get(data, *keys):
    for key in keys:
        if not isinstance(data, dict) or key not in data:
            return None
        data = data[key]
    return data


def headline(result):
    """The README's headline row of one result: rollout / floor, inventory / static file, naive / role, API calls."""
    return {
        'platform': result['platform'],
        'devices': result['devices'],
        'rollout_vs_floor': _get(result, 'rollout', 'vs_floor'),
        'roles_vs_floor': _get(result, 'user_roles_form', 'unvalidated_vs_floor'),
        'inventory_vs_static': _get(result, 'inventory', 'plugin_vs_static'),
        'naive_vs_role': _get(result, 'rollout', 'speedup_vs_naive'),
        'rollout_api_calls': _get(result, 'rollout', 'api_calls'),
    }


def headline_row(result):
    row = headline(result)
    cells = (row['platform'], count(row['devices']), ratio(row['rollout_vs_floor']), ratio(row['roles_vs_floor']),
             ratio(row['inventory_vs_static']), ratio(row['naive_vs_role']), count(row['rollout_api_calls']))
    return '| %s, %s | %s | %s | %s | %s | %s |' % cells


def machine(result):
    info = result['machine']
    return '%s cores, ansible-core %s, Python %s' % (info.get('cores', MISSING), info.get('ansible_core', MISSING), info.get('python', MISSING))


def section(result):
    inv, roll, naive, roles = (result.get(key) or {} for key in ('inventory', 'rollout', 'naive', 'user_roles_form'))
    lines = [
        '## %s, %s devices' % (result['platform'], count(result['devices'])),
        '',
        '- commit `%s`; machine: %s' % (result['commit'], machine(result)),
        '- command: `%s`' % result['command'],
        '- fleet: %s devices, %s outdated; emulated upgrades of %s s, poll interval %s s' % (
            count(result['devices']), count(result.get('outdated')), result.get('upgrade_seconds', MISSING), result.get('poll_interval', MISSING)),
        '',
        '| measure | ratio | figures |',
        '|---|---|---|',
        '| rollout with the role / floor (one `set_fact` per host) | %s | %s against %s; %s devices upgraded, %s hosts failed |' % (
            ratio(roll.get('vs_floor')), seconds(roll.get('seconds')), seconds(result.get('floor_seconds')),
            count(roll.get('devices_upgraded')), count(roll.get('failed_hosts'))),
        '| inventory through the plugin / static file | %s | %s (%s API calls) against %s; cached: %s, %s calls |' % (
            ratio(inv.get('plugin_vs_static')), seconds(inv.get('plugin_seconds')), count(inv.get('plugin_api_calls')),
            seconds(inv.get('static_seconds')), seconds(inv.get('cached_seconds')), count(inv.get('cached_api_calls'))),
        '| inventory without firmware versions / its static file | %s | %s (%s API calls) against %s |' % (
            ratio(inv.get('without_versions_vs_static')), seconds(inv.get('without_versions_seconds')),
            count(inv.get('without_versions_api_calls')), seconds(inv.get('without_versions_static_seconds'))),
        '| naive (`firmware_upgrade` once per host) / role | %s | %s a host over %s hosts%s: %s for all |' % (
            ratio(roll.get('speedup_vs_naive')), seconds(naive.get('seconds_per_host')), count(naive.get('hosts')),
            ' (scaled)' if naive.get('scaled') else '', seconds(naive.get('seconds_for_all_hosts'))),
        '| `roles:` form / floor, with ansible-core\'s per-host argument validation | %s | %s |' % (
            ratio(roles.get('vs_floor')), seconds(roles.get('seconds'))),
        '| `roles:` form / floor, minus the validation\'s own task | %s | that task %s |' % (
            ratio(roles.get('vs_floor_without_validation')), seconds(roles.get('argument_validation_seconds'))),
    ]
    if 'unvalidated_vs_floor' in roles:
        cells = (ratio(roles['unvalidated_vs_floor']), seconds(roles.get('unvalidated_seconds')), seconds(roles.get('validation_cost_seconds')))
        lines.append('| the same play with the validation off (`import_role`, `rolespec_validate: false`) / floor | %s | %s; '
                     'the validation cost %s in all |' % cells)
    lines += [
        '| re-run after success | | %s, %s hosts changed |' % (seconds(roll.get('rerun_seconds')), count(roll.get('rerun_changed_hosts'))),
        '',
        'API calls of the rollout: %s' % count(roll.get('api_calls')),
        '',
    ]
    for endpoint, calls in sorted((roll.get('api_calls_by_endpoint') or {}).items()):
        lines.append('- `%s`: %s' % (endpoint, count(calls)))
    targets = result.get('targets') or {}
    if targets:
        lines += ['', 'Targets:', '']
        lines += ['- %s: %s' % (name, 'met' if met else 'not met') for name, met in sorted(targets.items())]
    lines.append('')
    return lines


def render(results, earlier=None):
    lines = [
        '<!-- Written by tests/benchmark/performance_page.py from tests/benchmark/results/*.json: do not edit. -->',
        '# Performance',
        '',
        '`tests/benchmark/rollout_benchmark.py` starts the emulator with N devices, about half of them outdated, and',
        'measures the inventory plugin (cold, cached, and without firmware versions) against a static inventory file of the',
        'same hosts, the rollout through the `rollout` playbook against the floor (one `set_fact` per host: the least any',
        'per-host play costs), the role as users list it under `roles:`, and the naive way (`firmware_upgrade` once per',
        'host), with the API calls by endpoint from the emulator\'s counters. Ratios carry over from one machine to another',
        'far better than seconds; compare seconds only within one result.',
        '',
        'The `roles:` play is the role as users write it (`roles:`, the connection in play-level `module_defaults`). Its',
        'ratio here leaves out ansible-core\'s per-host argument validation, measured whole by running the same play again',
        'with `import_role` and `rolespec_validate: false`; each result below gives both, and what the validation cost.',
        'The rollout waits for the emulated upgrades wave by wave, a time that does not grow with the hosts: at 1,000',
        'devices it weighs on the ratio as much as the per-host work.',
        '',
        '| platform, devices | rollout / floor | `roles:` play / floor, validation apart | inventory / static file | naive / role | '
        'API calls of the rollout |',
        '|---|---|---|---|---|---|',
    ]
    lines += [headline_row(result) for result in results]
    lines.append('')
    for result in results:
        lines += section(result)
    lines += [
        '## Reproduce',
        '',
        'From a checkout, `eval "$(scripts/setup.sh)"`, then the command of a result above; it writes',
        '`benchmark-<platform>-<devices>.json`. Keep it as `tests/benchmark/results/<platform>-<devices>.json` and run',
        '`python tests/benchmark/performance_page.py` to rewrite this page.',
        '',
    ]
    if earlier:
        lines += [earlier.rstrip('\n'), '']
    return '\n'.join(lines)


def page_text(folder=RESULTS):
    earlier = folder / 'earlier.md'
    return render(load_results(folder), earlier.read_text() if earlier.exists() else None)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n', maxsplit=1)[0])
    parser.add_argument('--check', action='store_true', help='only check that docs/performance.md is up to date')
    args = parser.parse_args(argv)
    text = page_text()
    if args.check:
        if not PAGE.exists() or PAGE.read_text() != text:
            print('%s is not what %s gives: run python tests/benchmark/performance_page.py' % (PAGE, RESULTS), file=sys.stderr)
            return 1
        return 0
    PAGE.write_text(text)
    print('wrote %s from %d result files' % (PAGE, len(load_results())))
    return 0


if __name__ == '__main__':
    sys.exit(main())
