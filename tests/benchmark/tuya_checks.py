#!/usr/bin/env python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Tuya fleet check throughput against the emulator on loopback (run on demand, not a test).

    eval "$(scripts/setup.sh)"; python tests/benchmark/tuya_checks.py --devices 1000

Starts the emulator as its own process (so that client and server do not share one GIL),
then runs the same read path as firmware_info with `devices` (batch query, one firmware
read per device, per-device catalog and latest version) for every device, and reports
device checks per second and API calls per device from the emulator's /_emulator/stats.

Two settings are measured: the emulator's and the client's default per-API limit (10
requests/s, the vendors file's assumption for Tuya's unpublished firmware API quota), which
bounds a check at ~10 devices/s by design; and both limits lifted, which measures what the
client itself can do (the figure a project with a raised quota would see).
"""

import argparse
import os
import pathlib
import subprocess
import sys
import tempfile
import time

import requests

ROOT = pathlib.Path(__file__).resolve().parents[2]
ACCESS = 'benchmarkaccessid001'
SECRET = 'benchmark-secret-not-real'


def _collection_loader():
    from ansible.utils.collection_loader import AnsibleCollectionConfig
    if AnsibleCollectionConfig.collection_finder is None:
        from ansible.plugins.loader import init_plugin_loader
        init_plugin_loader([p for p in os.environ.get('ANSIBLE_COLLECTIONS_PATH', '').split(os.pathsep) if p])


def start_emulator(devices, rate_limit, workdir):
    port_file = os.path.join(workdir, 'port')
    env = dict(os.environ, FLEETOTA_EMULATOR_TUYA_SECRET=SECRET)
    proc = subprocess.Popen([sys.executable, str(ROOT / 'tests' / 'emulator'), '--devices', str(devices), '--offline-ratio', '0',
                             '--quiet', '--port-file', port_file, '--lifetime', '900', '--tuya-client-id', ACCESS,
                             '--tuya-rate-limit', str(rate_limit)], env=env, stdout=subprocess.DEVNULL)
    deadline = time.time() + 30
    while not os.path.exists(port_file):
        if time.time() > deadline or proc.poll() is not None:
            proc.kill()
            raise SystemExit('the emulator did not start')
        time.sleep(0.1)
    with open(port_file) as handle:
        return proc, handle.read().strip()


def measure(url, ids, concurrency, rate_limit, workdir):
    from ansible_collections.fleetota.cloud.plugins.module_utils._connection import create_client
    from ansible_collections.fleetota.cloud.plugins.module_utils._engine import run_info
    requests.post(url + '/_emulator/stats/reset', timeout=10).raise_for_status()
    client = create_client({'platform': 'tuya', 'endpoint': url, 'access_key': ACCESS, 'secret_key': SECRET,
                            'max_concurrency': concurrency, 'rate_limit': rate_limit,
                            'token_cache': os.path.join(workdir, 'tokens-%d-%s.json' % (concurrency, rate_limit))})
    started = time.monotonic()
    result = run_info(client, devices=ids)
    elapsed = time.monotonic() - started
    client.close()
    stats = requests.get(url + '/_emulator/stats', timeout=10).json()
    assert len(result['devices']) == len(ids) and all(d['current_version'] for d in result['devices'])
    return elapsed, stats['total'], client.api_calls


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--devices', type=int, default=1000)
    parser.add_argument('--concurrency', type=int, nargs='+', default=[8, 16])
    parser.add_argument('--skip-default-limit', action='store_true', help='skip the (slow, ~100 s) run at the default 10/s limit')
    args = parser.parse_args()
    _collection_loader()
    settings = [] if args.skip_default_limit else [('default limit 10/s per API', 10, None, [8])]
    settings.append(('limits lifted', 0, 100000, args.concurrency))
    print('devices=%d python=%s' % (args.devices, sys.version.split()[0]))
    for label, emulator_rate, client_rate, concurrencies in settings:
        workdir = tempfile.mkdtemp(prefix='tuya-bench-')
        proc, url = start_emulator(args.devices, emulator_rate, workdir)
        try:
            ids = [d['id'] for d in requests.get(url + '/_emulator/devices?platform=tuya', timeout=30).json()]
            for concurrency in concurrencies:
                elapsed, total, client_calls = measure(url, ids, concurrency, client_rate, workdir)
                print('%-28s max_concurrency=%-3d %6.1f s  %7.1f device checks/s  %5d API calls (%.3f per device; client counted %d)'
                      % (label, concurrency, elapsed, len(ids) / elapsed, total, total / float(len(ids)), client_calls))
        finally:
            proc.terminate()
            proc.wait(timeout=10)


if __name__ == '__main__':
    main()
