#!/usr/bin/env python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""AWX job slicing, measured: the rollout as K parallel ansible-runner jobs against one emulator.

Run on demand with the project's venv active (eval "$(scripts/setup.sh)"):

    python tests/benchmark/sliced_benchmark.py --devices 2000 --slices 1 4

For each K it restores the seeded fleet, then runs K runner processes at once, each with every
K-th host (as AWX slices), with only the environment the credential type injects, and prints the
wall time, whether every outdated device was upgraded exactly once, and the API calls.
"""

import argparse
import json
import os
import pathlib
import sys
import tempfile
import time

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / 'integration'))
sys.path.insert(0, str(HERE))

import awx_runner  # noqa: E402  pylint: disable=wrong-import-position,import-error
from rollout_benchmark import Emulator  # noqa: E402  pylint: disable=wrong-import-position,import-error


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n', maxsplit=1)[0])
    parser.add_argument('--devices', type=int, default=2000)
    parser.add_argument('--slices', type=int, nargs='+', default=[1, 4])
    parser.add_argument('--upgrade-seconds', type=float, default=2.0)
    parser.add_argument('--poll-interval', type=float, default=1.0)
    parser.add_argument('--json', help='write the figures here')
    args = parser.parse_args()
    collections = os.environ.get('ANSIBLE_COLLECTIONS_PATH')
    if not collections:
        raise SystemExit('run with the project environment: eval "$(scripts/setup.sh)"')
    workdir = pathlib.Path(tempfile.mkdtemp(prefix='fleetota-slices-'))
    emulator = Emulator(workdir, args.devices, args.upgrade_seconds, 'magewell')
    figures = {'devices': args.devices, 'upgrade_seconds': args.upgrade_seconds, 'runs': []}
    try:
        credential_env = awx_runner.injected_env('magewell', {'endpoint': emulator.url, 'username': 'Admin', 'password': 'bench-secret-5d0b'})
        hostvars = awx_runner.inventory_update(workdir, collections, credential_env)
        extravars = {'firmware_rollout_poll_interval': args.poll_interval}
        for count in args.slices:
            emulator.control('POST', '/reset')
            outdated = set(emulator.control('GET', '/scenarios?platform=magewell')['outdated_online_devices'])
            emulator.reset_stats()
            jobs = [awx_runner.Job(workdir / ('k%d-%d' % (count, number)), collections, credential_env, hosts, extravars, 'slice%d' % number,
                                   hostvars.groups)
                    for number, hosts in enumerate(awx_runner.slices(hostvars, count))]
            start = time.monotonic()
            for job in jobs:
                job.start()
            for job in jobs:
                job.wait(7200)
            seconds = time.monotonic() - start
            devices = emulator.control('GET', '/devices?platform=magewell')
            once = all(device['upgrade_count'] == (1 if device['id'] in outdated else 0) for device in devices)
            stats = emulator.stats()
            run = {'slices': count, 'seconds': round(seconds, 1), 'outdated': len(outdated), 'upgraded_exactly_once': once,
                   'statuses': [job.status for job in jobs], 'api_calls': stats['total'],
                   'upgrade_requests': stats['requests'].get('POST /sc_cloud/upgrade/start', 0)}
            figures['runs'].append(run)
            print('K=%d: %.1f s for %d devices (%d outdated), every outdated device upgraded exactly once: %s, jobs %s, %d API calls' % (
                count, seconds, len(hostvars), len(outdated), once, ', '.join(run['statuses']), run['api_calls']))
    finally:
        emulator.stop()
    if args.json:
        pathlib.Path(args.json).write_text(json.dumps(figures, indent=1))


if __name__ == '__main__':
    main()
