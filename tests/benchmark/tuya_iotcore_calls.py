# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""API calls of a 1,000-device tuya_iotcore upgrade against the emulator, by Action (on demand, not a test).

    eval "$(scripts/setup.sh)"; python tests/benchmark/tuya_iotcore_calls.py [--devices 1000] [--qps-scale 1]

Runs the same engine as firmware_upgrade (plan, start, wait) in-process against an in-process
emulator whose every device is set to its product's oldest release, so that all of them need
the newest one; then a re-run (nothing to do) and a run started while the jobs are in flight.
Counts come from the emulator's /_emulator/stats counters.
"""

import argparse
import os
import pathlib
import sys
import time

import requests

HERE = pathlib.Path(__file__).resolve()
sys.path.insert(0, str(HERE.parents[1]))
for entry in os.environ.get('ANSIBLE_COLLECTIONS_PATH', '').split(os.pathsep):
    if entry:
        sys.path.insert(0, entry)

from emulator import EmulatorServer  # noqa: E402  pylint: disable=wrong-import-position
from emulator.tuya_iotcore import PRODUCTS  # noqa: E402  pylint: disable=wrong-import-position
from ansible_collections.fleetota.cloud.plugins.module_utils._connection import create_client  # noqa: E402  pylint: disable=wrong-import-position
from ansible_collections.fleetota.cloud.plugins.module_utils._engine import UpgradeRun  # noqa: E402  pylint: disable=wrong-import-position

SECRET = 'bench-secret'


def stats(url):
    return requests.get(url + '/_emulator/stats', timeout=30).json()


def reset_stats(url):
    requests.post(url + '/_emulator/stats/reset', timeout=30).raise_for_status()


def run(url, ids, **kwargs):
    client = create_client(dict(platform='tuya_iotcore', endpoint=url, access_key='fleetota-iotcore-ak', secret_key=SECRET))
    started = time.monotonic()
    try:
        result, failure = UpgradeRun(client, ids, version='latest', **kwargs).run()
    finally:
        client.close()
    return result, failure, time.monotonic() - started


def report(title, url, result, failure, seconds):
    counts = stats(url)
    print('\n## %s (%.1f s)' % (title, seconds))
    print('summary: %s; jobs: %d%s' % (dict((k, v) for k, v in result['summary'].items() if v), len(result['jobs']),
                                       '; FAILURE: ' + failure if failure else ''))
    print('| Action | calls |')
    print('|---|---|')
    for action, count in counts['actions'].items():
        print('| %s | %d |' % (action, count))
    print('| **total** | **%d** |' % counts['total'])
    reset_stats(url)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--devices', type=int, default=1000)
    parser.add_argument('--upgrade-seconds', type=float, default=6.0)
    parser.add_argument('--poll-interval', type=float, default=2.0)
    parser.add_argument('--qps-scale', type=float, default=1.0, help='emulator QPS limits multiplier (0 = off)')
    args = parser.parse_args()
    with EmulatorServer(devices=args.devices, seed=1, upgrade_seconds=args.upgrade_seconds, offline_ratio=0.0, quiet=True,
                        tuya_iotcore_secret_key=SECRET, tuya_iotcore_qps_scale=args.qps_scale) as emu:
        url = emu.url
        devices = requests.get(url + '/_emulator/devices?platform=tuya_iotcore', timeout=30).json()
        oldest = dict((product[0], product[3][0]) for product in PRODUCTS)
        for product, version in oldest.items():
            ids = [d['id'] for d in devices if d['product'] == product]
            requests.post(url + '/_emulator/devices/tuya_iotcore', json={'ids': ids, 'firmware_version': version}, timeout=60).raise_for_status()
        ids = [d['id'] for d in devices]

        def set_oldest():
            for product, version in oldest.items():
                chosen = [d['id'] for d in devices if d['product'] == product]
                requests.post(url + '/_emulator/devices/tuya_iotcore', json={'ids': chosen, 'firmware_version': version},
                              timeout=60).raise_for_status()
            reset_stats(url)

        set_oldest()
        print('# tuya_iotcore: API calls to upgrade %d devices (%d products, upgrade %.0f s, poll every %.0f s, QPS limits x%g)'
              % (len(ids), len(oldest), args.upgrade_seconds, args.poll_interval, args.qps_scale))
        report('1. upgrade every device to its newest release and wait', url, *run(url, ids, poll_interval=args.poll_interval, wait_timeout=600))
        report('2. re-run after success (nothing to do)', url, *run(url, ids, poll_interval=args.poll_interval, wait_timeout=600))
        set_oldest()
        report('3. the same upgrade with wait=false', url, *run(url, ids, wait=False))
        report('4. re-run while those jobs are in flight (waits, creates nothing)', url,
               *run(url, ids, poll_interval=args.poll_interval, wait_timeout=600))


if __name__ == '__main__':
    main()
