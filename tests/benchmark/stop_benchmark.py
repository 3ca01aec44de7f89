#!/usr/bin/env python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Stop means stop: a rollout of a bad image, per platform, and what the fleet received after it stopped.

Run on demand (never as a timed test), with the project's venv active (eval "$(scripts/setup.sh)"):

    python tests/benchmark/stop_benchmark.py                          # 1,000 devices, every platform
    python tests/benchmark/stop_benchmark.py --devices 60 --platform enos --json out.json   # smoke
    python tests/benchmark/stop_benchmark.py --waves 100% --platform enos --platform tuya_iotcore   # one wave: the abort inside it

For each platform it starts the emulator with N devices (5% of them offline), makes the target image fail on 30% of
the devices that need it (emulator behaviour ``fail``), and runs the firmware_rollout role as a user writes it
(``roles:``, the connection in play-level module_defaults) with waves 1, 10%, 50%, 100% (or --waves), a budget of 5% and
the offline devices queued where the vendor queues (``firmware_rollout_offline: queue``). It reports:

- the wave in which the rollout stopped, and why;
- how many devices received the image (an upgrade started on them), in all and per wave;
- what the stop canceled;
- then it moves the emulator's clock an hour forward and brings every device online: how many devices received
  firmware after the stop (the emulator's count of upgrades started, before and after). The figure that matters is 0.

Prints a table and writes the figures as JSON. Exits non-zero only when a run could not be made, never on a figure.
"""

import argparse
import json
import os
import pathlib
import random
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))

# pylint: disable=wrong-import-position
from rollout_benchmark import PLATFORMS, Emulator, connection_options, provenance, write_yaml_json  # noqa: E402

FAILING_SHARE = 0.3
OFFLINE_RATIO = 0.05
BUDGET = '5%'
WAVES = [1, '10%', '50%', '100%']
HOUR = 3600


def devices(emulator, platform):
    return dict((device['id'], device) for device in emulator.control('GET', '/devices?platform=%s' % platform))


def received(before, after):
    """Device ids on which an upgrade started between two reads of the emulator's devices."""
    return sorted(device_id for device_id, device in after.items() if device['upgrade_count'] > before[device_id]['upgrade_count'])


def measure(platform, args, workdir):
    emulator = Emulator(workdir, args.devices, args.upgrade_seconds, platform,
                        extra_args=['--offline-ratio', str(OFFLINE_RATIO), '--seed', '7'])
    try:
        facts = emulator.control('GET', '/scenarios?platform=%s' % platform)
        outdated = list(facts['outdated_online_devices'])
        offline = list(facts['offline_devices'])
        failing = sorted(random.Random(platform).sample(outdated, int(round(len(outdated) * FAILING_SHARE))))
        emulator.control('POST', '/devices/%s' % platform, {'ids': failing, 'behaviour': 'fail'})
        env = dict((key, value) for key, value in os.environ.items() if not key.startswith(('FLEETOTA_', 'ANSIBLE_')))
        env.update({'ANSIBLE_COLLECTIONS_PATH': os.environ.get('ANSIBLE_COLLECTIONS_PATH', ''), 'ANSIBLE_NOCOLOR': '1',
                    'XDG_CACHE_HOME': str(workdir / 'cache')})
        options = connection_options(platform, emulator.url)
        inventory = write_yaml_json(workdir / ('%s.fleetota.yml' % platform), dict(options, plugin='fleetota.cloud.devices'))
        play = write_yaml_json(workdir / ('%s-rollout.yml' % platform), [{
            'name': 'Roll a bad image out', 'hosts': 'all', 'gather_facts': False,
            'module_defaults': {'group/fleetota.cloud.firmware': options},
            'roles': [{'role': 'fleetota.cloud.firmware_rollout', 'vars': {
                'firmware_rollout_waves': args.waves, 'firmware_rollout_max_failures': BUDGET, 'firmware_rollout_offline': 'queue',
                'firmware_rollout_poll_interval': args.poll_interval, 'firmware_rollout_wait_timeout': args.wait_timeout}}]}])
        before = devices(emulator, platform)
        proc = subprocess.run(['ansible-playbook', '-i', str(inventory), str(play)], env=env, cwd=str(workdir),
                              capture_output=True, text=True, check=False)
        summary = _summary(proc.stdout)
        if summary is None:
            sys.stderr.write((proc.stdout + proc.stderr)[-4000:] + '\n')
            raise SystemExit('%s: the rollout did not report its summary (exit %d)' % (platform, proc.returncode))
        at_stop = devices(emulator, platform)
        got = received(before, at_stop)
        emulator.control('POST', '/clock', {'advance': HOUR})
        emulator.control('POST', '/devices/%s' % platform, {'ids': sorted(at_stop), 'online': True})
        emulator.control('POST', '/clock', {'advance': HOUR})
        later = devices(emulator, platform)
        after_stop = received(at_stop, later)
        waves_of = summary.get('by_wave') or {}
        # a wave that never started holds only devices not_started
        ran = dict((wave, counts) for wave, counts in waves_of.items() if set(counts) - {'not_started'})
        canceled = summary.get('canceled') or {}
        return {
            'devices': args.devices, 'outdated_online': len(outdated), 'offline': len(offline), 'failing_image_on': len(failing),
            'exit_code': proc.returncode, 'stopped': summary.get('stopped'), 'failures': summary.get('failures'),
            'failure_budget': summary.get('failure_budget'), 'waves_planned': summary.get('waves'),
            'waves_run': len(ran), 'by_wave': waves_of, 'canceled': canceled.get('count', 0), 'canceled_ids': canceled.get('ids', [])[:20],
            'received_image': len(got), 'received_image_failing_devices': len(set(got) & set(failing)),
            'received_after_stop_hour_later': len(after_stop), 'received_after_stop_ids': after_stop[:20],
        }
    finally:
        emulator.stop()


def _summary(stdout):
    """The run summary the role prints (debug var firmware_rollout_summary), parsed from the play's output."""
    marker = '"firmware_rollout_summary": '
    start = stdout.rfind(marker)
    if start < 0:
        return None
    text = stdout[start + len(marker):]
    depth, end = 0, None
    for index, char in enumerate(text):
        if char == '{':
            depth += 1
        elif char == '}':
            depth -= 1
            if depth == 0:
                end = index + 1
                break
    return json.loads(text[:end]) if end else None


def show(results):
    print('\n%-13s %8s %8s %7s %9s %9s %16s' % ('platform', 'outdated', 'failing', 'waves', 'received', 'canceled', 'after stop (1h)'))
    for platform, figures in results.items():
        print('%-13s %8d %8d %3d/%-3s %9d %9d %16d' % (
            platform, figures['outdated_online'], figures['failing_image_on'], figures['waves_run'], figures['waves_planned'],
            figures['received_image'], figures['canceled'], figures['received_after_stop_hour_later']))
        print('  stopped: %s' % (figures['stopped'] or 'did not stop'))
        for wave, counts in figures['by_wave'].items():
            print('  %s: %s' % (wave, ', '.join('%d %s' % (count, status) for status, count in sorted(counts.items()))))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n', maxsplit=1)[0])
    parser.add_argument('--devices', type=int, default=1000, help='devices in the emulator (default: %(default)s)')
    parser.add_argument('--platform', action='append', choices=sorted(PLATFORMS), help='a platform (repeatable; default: all)')
    parser.add_argument('--upgrade-seconds', type=float, default=2.0, help='how long one emulated upgrade takes (default: %(default)s)')
    parser.add_argument('--poll-interval', type=float, default=1.0, help='firmware_rollout_poll_interval (default: %(default)s)')
    parser.add_argument('--wait-timeout', type=float, default=600.0, help='firmware_rollout_wait_timeout (default: %(default)s)')
    parser.add_argument('--waves', default=','.join(str(wave) for wave in WAVES), help='firmware_rollout_waves (default: %(default)s)')
    parser.add_argument('--json', help='write the figures here (default: stop-<devices>.json in the current directory)')
    args = parser.parse_args()
    args.waves = [int(wave) if wave.isdigit() else wave for wave in args.waves.replace(' ', '').split(',') if wave]
    if args.devices < 20:
        parser.error('--devices must be at least 20, got %d' % args.devices)
    results = {}
    for platform in args.platform or sorted(PLATFORMS):
        workdir = pathlib.Path(tempfile.mkdtemp(prefix='fleetota-stop-'))
        try:
            results[platform] = measure(platform, args, workdir)
        finally:
            shutil.rmtree(workdir, ignore_errors=True)
    figures = dict(provenance(script='tests/benchmark/stop_benchmark.py'), failing_share=FAILING_SHARE, offline_ratio=OFFLINE_RATIO,
                   budget=BUDGET, waves=args.waves, platforms=results)
    show(results)
    out = pathlib.Path(args.json or 'stop-%d.json' % args.devices)
    out.write_text(json.dumps(figures, indent=1, sort_keys=True))
    print('\nfigures written to %s' % out)


if __name__ == '__main__':
    main()
