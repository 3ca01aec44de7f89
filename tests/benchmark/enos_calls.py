# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""API calls of an EnOS upgrade of N devices (default 1,000) against the emulator, by endpoint and action.

On demand, not part of the test suite:

    eval "$(scripts/setup.sh)" && python tests/benchmark/enos_calls.py [--devices 1000] [--poll-interval 1]

Every device is first set to the oldest release of its product, so every one of them needs the
upgrade. The run is the engine behind fleetota.cloud.firmware_upgrade (plan, one job per
firmware, wait), then a second, idempotent run. Counts come from the emulator's
/_emulator/stats (by endpoint) and /_emulator/log (which also has the query, hence the action).
"""

import argparse
import collections
import os
import sys
import time
from urllib.parse import parse_qs

import requests

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))                                    # tests/: the emulator package
for entry in os.environ.get('ANSIBLE_COLLECTIONS_PATH', '').split(os.pathsep):
    if entry:
        sys.path.insert(0, entry)

# pylint: disable=wrong-import-position,import-error
from emulator import EmulatorServer  # noqa: E402
from emulator.enos import PRODUCTS  # noqa: E402
from ansible_collections.fleetota.cloud.plugins.module_utils._connection import create_client  # noqa: E402
from ansible_collections.fleetota.cloud.plugins.module_utils._engine import UpgradeRun  # noqa: E402

SECRET = 'bench-secret'
OPTIONS = {'enos_app_key': 'bench-app', 'enos_app_secret': SECRET, 'enos_org_id': 'o-bench'}


def control(url, method, path, body=None):
    response = requests.request(method, url + '/_emulator' + path, json=body, timeout=60)
    response.raise_for_status()
    return response.json()


def by_action(url):
    entries = control(url, 'GET', '/log?limit=1000')
    counts = collections.Counter()
    for entry in entries:
        action = parse_qs(entry['query']).get('action', [''])[0]
        counts[(entry['method'], entry['path'], action)] += 1
    return counts, len(entries)


def measure(url, label, run):
    control(url, 'POST', '/stats/reset')
    started = time.monotonic()
    result, failure = run()
    elapsed = time.monotonic() - started
    stats = control(url, 'GET', '/stats')
    counts, logged = by_action(url)
    assert logged == stats['total'], 'the log holds 1000 entries: lower --devices or raise --poll-interval'
    print('\n## %s: %d API calls in %.1f s (%s)\n' % (label, stats['total'], elapsed, failure or 'ok'))
    print('| method | endpoint | action | calls |\n|---|---|---|---|')
    for (method, path, action), count in sorted(counts.items()):
        print('| %s | %s | %s | %d |' % (method, path, action or '-', count))
    print('\nsummary: %s; jobs: %s' % (dict((k, v) for k, v in result['summary'].items() if v), result['jobs']))
    return stats['total']


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n', maxsplit=1)[0])
    parser.add_argument('--devices', type=int, default=1000)
    parser.add_argument('--poll-interval', type=float, default=1.0)
    parser.add_argument('--upgrade-seconds', type=float, default=3.0)
    args = parser.parse_args()
    with EmulatorServer(devices=args.devices, seed=7, upgrade_seconds=args.upgrade_seconds, offline_ratio=0.0, quiet=True, **OPTIONS) as emu:
        oldest = dict((product[0], product[3][0]) for product in PRODUCTS)
        devices = control(emu.url, 'GET', '/devices?platform=enos')
        for product, version in oldest.items():
            ids = [d['id'] for d in devices if d['product'] == product]
            control(emu.url, 'POST', '/devices/enos', {'ids': ids, 'firmware_version': version})
        ids = [d['id'] for d in devices]
        connection = {'platform': 'enos', 'endpoint': emu.url, 'access_key': OPTIONS['enos_app_key'], 'secret_key': SECRET,
                      'org_id': OPTIONS['enos_org_id']}
        print('# EnOS upgrade of %d devices (%d products, every device outdated), poll_interval %s s, upgrades take %s s'
              % (len(ids), len(oldest), args.poll_interval, args.upgrade_seconds))

        def upgrade(check_mode=False):
            client = create_client(connection)
            try:
                return UpgradeRun(client, ids, version='latest', poll_interval=args.poll_interval, wait_timeout=600).run(check_mode=check_mode)
            finally:
                client.close()

        measure(emu.url, 'check mode (plan only)', lambda: upgrade(check_mode=True))
        measure(emu.url, 'upgrade and wait', upgrade)
        measure(emu.url, 'second run (nothing to do)', upgrade)
    return 0


if __name__ == '__main__':
    sys.exit(main())
