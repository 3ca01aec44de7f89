#!/usr/bin/env python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Time to render the fleet report (HTML and CSV) of N devices (default 10,000): on demand, not a test.

    eval "$(scripts/setup.sh)" && python tests/benchmark/report_render.py [--devices 10000] [--repeat 3]

The devices are the synthetic fleet of the unit tests (three products, a few versions each, some
offline or with a failed last upgrade); the best of --repeat runs is printed, with the page size.
"""

import argparse
import os
import sys
import time

for entry in os.environ.get('ANSIBLE_COLLECTIONS_PATH', '').split(os.pathsep):
    if entry:
        sys.path.insert(0, entry)

# pylint: disable=wrong-import-position,import-error
from ansible_collections.fleetota.cloud.plugins.plugin_utils import _report, _report_html  # noqa: E402


def fleet(count):
    versions = {'770': ['1.4.120', '1.5.178', '1.6.201'], '780': ['2.0.3', '2.1.0'], '1100': ['3.1.2', '3.2.0', '3.3.1', '3.4.0']}
    devices = []
    for n in range(count):
        product = sorted(versions)[n % 3]
        line = versions[product]
        current = line[n % len(line)]
        devices.append({'id': 'SN%06d' % n, 'name': 'encoder %d <lobby> & "hall"' % n, 'product': product, 'hardware_version': 'AB'[n % 2],
                        'online': n % 17 != 0, 'current_version': current, 'latest_version': line[-1],
                        'upgrade_available': current != line[-1], 'upgrading': False, 'last_upgrade_failed': n % 97 == 0})
    return devices


def best_of(repeat, function, *args):
    times, result = [], None
    for _dummy in range(repeat):
        started = time.perf_counter()
        result = function(*args)
        times.append(time.perf_counter() - started)
    return min(times), result


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--devices', type=int, default=10000)
    parser.add_argument('--repeat', type=int, default=3)
    args = parser.parse_args()
    devices = fleet(args.devices)
    seconds, page = best_of(args.repeat, _report_html.to_html, devices)
    print('html: %d devices in %.3f s, %d bytes' % (args.devices, seconds, len(page.encode('utf-8'))))
    seconds, text = best_of(args.repeat, _report.to_csv, devices)
    print('csv:  %d devices in %.3f s, %d bytes' % (args.devices, seconds, len(text.encode('utf-8'))))


if __name__ == '__main__':
    main()
