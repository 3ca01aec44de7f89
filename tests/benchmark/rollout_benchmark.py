#!/usr/bin/env python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Fleet-scale benchmark: inventory, the firmware_rollout role, the floor, and the naive way.

Run on demand (never as a timed test), with the project's venv active (eval "$(scripts/setup.sh)"):

    python tests/benchmark/rollout_benchmark.py                       # 1,000 magewell devices
    python tests/benchmark/rollout_benchmark.py --devices 10000 --naive-devices 0
    python tests/benchmark/rollout_benchmark.py --devices 30 --naive-devices 5 --json out.json   # smoke (CI)

It starts the emulator (a separate process) with N devices per platform, about half of them
outdated, and measures with real ansible-inventory / ansible-playbook runs:

- inventory: `ansible-inventory --list` through the plugin (cold, then cached: its API calls)
  against the same hosts from a static YAML file; and cold with `firmware_versions: false`
  against its own hosts from a static file;
- floor: a play over the same hosts with one per-host set_fact;
- rollout: the collection's rollout playbook (the role: plan, waves, verify, per-host outcome),
  wall time and API calls by endpoint from the emulator's counters;
- the role as users write it: a `roles:` play with the connection in play-level module_defaults and no
  FLEETOTA_* environment, on the fleet reset to its seed, and its re-run; ansible-core's per-host
  argument validation (which `roles:` cannot turn off) timed apart, and measured whole by running the
  same play with `import_role` and `rolespec_validate: false` (the one difference) on the fleet reset again;
- naive: firmware_upgrade once per host, over every host (at most 1,000; with --naive-devices, an evenly
  spaced sample, scaled to every host).

Prints a table and writes the figures as JSON. Exits non-zero only when a run fails, never on a
figure: targets are reported (yes/no), not enforced.
"""

import argparse
import json
import os
import pathlib
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request

REPO = pathlib.Path(__file__).resolve().parents[2]
SECRET = 'bench-secret-5d0b'

# What each platform needs from the emulator and in the environment. A platform that lands adds one entry.
PLATFORMS = {
    'magewell': {
        'emulator_args': ['--magewell-password', SECRET],
        'env': {'FLEETOTA_USERNAME': 'Admin', 'FLEETOTA_PASSWORD': SECRET},
    },
    'enos': {
        'emulator_args': ['--enos-app-key', 'bench-app', '--enos-app-secret', SECRET, '--enos-org-id', 'o-bench'],
        'env': {'FLEETOTA_ACCESS_KEY': 'bench-app', 'FLEETOTA_SECRET_KEY': SECRET, 'FLEETOTA_ORG_ID': 'o-bench'},
    },
    'tuya_iotcore': {
        # Alibaba's per-action QPS limits stay on: the client must live with them.
        'emulator_args': ['--tuya-iotcore-access-key', 'bench-ak', '--tuya-iotcore-secret-key', SECRET],
        'env': {'FLEETOTA_ACCESS_KEY': 'bench-ak', 'FLEETOTA_SECRET_KEY': SECRET},
    },
    'tuya': {
        # Tuya checks firmware per device under its (assumed) 10 requests/s per API; see the README.
        'emulator_args': ['--tuya-client-id', 'benchaccessid0000001', '--tuya-secret', SECRET],
        'env': {'FLEETOTA_ACCESS_KEY': 'benchaccessid0000001', 'FLEETOTA_SECRET_KEY': SECRET,
                'FLEETOTA_TOKEN_CACHE': 'off'},
    },
}


class Emulator:
    def __init__(self, workdir, devices, upgrade_seconds, platform, extra_args=()):
        self.port_file = workdir / 'emulator.url'
        command = [sys.executable, str(REPO / 'tests' / 'emulator'), '--devices', str(devices), '--seed', '5', '--offline-ratio', '0',
                   '--upgrade-seconds', str(upgrade_seconds), '--port-file', str(self.port_file), '--lifetime', '14400', '--quiet']
        command += PLATFORMS[platform]['emulator_args'] + list(extra_args)   # later flags win (argparse)
        self.proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.time() + 120
        while not (self.port_file.exists() and self.port_file.read_text().strip()):
            if self.proc.poll() is not None or time.time() > deadline:
                raise SystemExit('the emulator did not start')
            time.sleep(0.1)
        self.url = self.port_file.read_text().strip()

    def control(self, method, path, body=None):
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(self.url + '/_emulator' + path, data=data, method=method, headers={'Content-Type': 'application/json'})
        with urllib.request.urlopen(request, timeout=120) as response:
            return json.loads(response.read() or b'null')

    def reset_stats(self):
        self.control('POST', '/stats/reset')

    def stats(self):
        return self.control('GET', '/stats')

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()


def by_endpoint(requests, actions=None):
    """Counts per endpoint, device ids in paths folded into {id} (Tuya has one path per device); an RPC API (IoT Core,
    one path for everything) counted per Action instead."""
    folded = dict(('%s (RPC Action)' % action, count) for action, count in (actions or {}).items())
    for key, count in requests.items():
        method, path = key.split(' ', 1)
        if actions and path == '/':
            continue
        path = '/'.join('{id}' if len(part) >= 12 and any(c.isdigit() for c in part) else part for part in path.split('/'))
        folded['%s %s' % (method, path)] = folded.get('%s %s' % (method, path), 0) + count
    return folded


def timed(command, env, cwd, what):
    start = time.monotonic()
    proc = subprocess.run(command, env=env, cwd=str(cwd), capture_output=True, text=True, check=False)
    elapsed = time.monotonic() - start
    return proc, elapsed


def must(proc, what):
    if proc.returncode != 0:
        # the per-host ok lines and the recap of a large play say nothing: show the rest
        lines = [line for line in (proc.stdout + proc.stderr).splitlines()
                 if line.strip() and not line.startswith('ok: [') and ' failed=0 ' not in line]
        sys.stderr.write('\n'.join(lines[-200:]) + '\n')
        raise SystemExit('%s failed (exit %d)' % (what, proc.returncode))


# The role's per-host tasks: the argument validation ansible-core inserts before a role with meta/argument_specs.yml,
# and the role's outcome report. Everything else of the role runs once for the whole group.
PER_HOST_TASKS = ('Validating arguments against arg spec', "Report each device's outcome on its host")


def task_times(workdir, name):
    """The environment that makes a play write its task times, and a reader for them (see callback_plugins/task_times.py)."""
    path = workdir / ('task-times-%s.json' % name)
    env = {'ANSIBLE_CALLBACK_PLUGINS': str(REPO / 'tests' / 'benchmark' / 'callback_plugins'), 'ANSIBLE_CALLBACKS_ENABLED': 'task_times',
           'FLEETOTA_BENCH_TASK_TIMES': str(path)}
    return env, lambda: json.loads(path.read_text()) if path.exists() else []


def breakdown(times):
    """Seconds in the role's per-host tasks, by task, and in the rest (the batched rollout, run once); the
    controller's memory (MB) when each per-host task started; the CPU seconds (controller and workers) of each
    per-host task, which other load on a shared machine disturbs far less than the wall time."""
    per_host, memory, cpu = {}, {}, {}
    rest = 0.0
    for name, seconds, rss, cpu_seconds in (list(entry) + [None] * (4 - len(entry)) for entry in times):
        kind = next((task for task in PER_HOST_TASKS if task in name), None)
        if kind:
            per_host[kind] = round(per_host.get(kind, 0.0) + seconds, 2)
            memory[kind] = rss
            if cpu_seconds is not None:
                cpu[kind] = round(cpu.get(kind, 0.0) + cpu_seconds, 2)
        else:
            rest += seconds
    return {'per_host_tasks': per_host, 'once_for_the_group': round(rest, 2), 'controller_mb_at_per_host_tasks': memory,
            'per_host_tasks_cpu_seconds': cpu}


def write_yaml_json(path, data):
    path.write_text(json.dumps(data, indent=1))  # JSON is YAML; ansible reads both
    return path


def benchmark(args, workdir):
    platform = args.platform
    emulator = Emulator(workdir, args.devices, args.upgrade_seconds, platform)
    figures = {'platform': platform, 'devices': args.devices, 'upgrade_seconds': args.upgrade_seconds, 'poll_interval': args.poll_interval}
    try:
        env = dict(os.environ)
        env.update({'FLEETOTA_PLATFORM': platform, 'FLEETOTA_ENDPOINT': emulator.url, 'ANSIBLE_NOCOLOR': '1', 'ANSIBLE_HOST_KEY_CHECKING': 'False',
                    'ANSIBLE_RETRY_FILES_ENABLED': 'False', 'ANSIBLE_LOCALHOST_WARNING': 'False'})
        env.update(PLATFORMS[platform]['env'])
        # The clients' own caches (IoT Core's device directory) live in the work directory, and are
        # emptied before the rollout and the naive play, so that each measures its own listing.
        client_caches = workdir / 'client-caches'

        def upgraded_devices():
            return [device['id'] for device in emulator.control('GET', '/devices?platform=%s' % platform) if device['upgrade_count']]

        env['XDG_CACHE_HOME'] = str(client_caches)
        cache_dir = workdir / 'inventory-cache'
        # A day: the re-run after a long rollout (Tuya at 10,000 devices: over an hour) must still
        # find the cache, so that it measures the role, not a second cold inventory.
        plugin_options = {'plugin': 'fleetota.cloud.devices', 'cache': True, 'cache_plugin': 'ansible.builtin.jsonfile',
                          'cache_connection': str(cache_dir), 'cache_timeout': 86400}
        plugin_file = write_yaml_json(workdir / 'bench.fleetota.yml', plugin_options)
        lean_file = write_yaml_json(workdir / 'lean.fleetota.yml', dict(plugin_options, firmware_versions=False))

        # -- inventory --------------------------------------------------------------------
        emulator.reset_stats()
        proc, cold = timed(['ansible-inventory', '-i', str(plugin_file), '--list', '--output', str(workdir / 'inventory.json')], env, workdir, 'inventory')
        must(proc, 'ansible-inventory through the plugin')
        cold_calls = emulator.stats()['total']
        emulator.reset_stats()
        proc, cached = timed(['ansible-inventory', '-i', str(plugin_file), '--list'], env, workdir, 'inventory')
        must(proc, 'ansible-inventory from the cache')
        cached_calls = emulator.stats()['total']
        listed = json.loads((workdir / 'inventory.json').read_text())
        hostvars = listed['_meta']['hostvars']
        static_file = write_yaml_json(workdir / 'static.yml', {'all': {'hosts': hostvars}})
        proc, static = timed(['ansible-inventory', '-i', str(static_file), '--list'], env, workdir, 'inventory')
        must(proc, 'ansible-inventory from the static file')
        # Without firmware versions (its own cache entry, so cold), against a static file of what it lists.
        emulator.reset_stats()
        proc, lean = timed(['ansible-inventory', '-i', str(lean_file), '--list', '--output', str(workdir / 'lean.json')], env, workdir, 'inventory')
        must(proc, 'ansible-inventory through the plugin without firmware versions')
        lean_calls = emulator.stats()['total']
        lean_hostvars = json.loads((workdir / 'lean.json').read_text())['_meta']['hostvars']
        lean_static_file = write_yaml_json(workdir / 'lean-static.yml', {'all': {'hosts': lean_hostvars}})
        proc, lean_static = timed(['ansible-inventory', '-i', str(lean_static_file), '--list'], env, workdir, 'inventory')
        must(proc, 'ansible-inventory from the static file without firmware versions')
        figures['inventory'] = {'hosts': len(hostvars), 'plugin_seconds': round(cold, 2), 'plugin_api_calls': cold_calls,
                                'cached_seconds': round(cached, 2), 'cached_api_calls': cached_calls, 'static_seconds': round(static, 2),
                                'plugin_vs_static': round(cold / static, 2),
                                'without_versions_seconds': round(lean, 2), 'without_versions_api_calls': lean_calls,
                                'without_versions_static_seconds': round(lean_static, 2), 'without_versions_vs_static': round(lean / lean_static, 2)}

        outdated = set(emulator.control('GET', '/scenarios?platform=%s' % platform)['outdated_online_devices'])
        figures['outdated'] = len(outdated)

        # -- floor ------------------------------------------------------------------------
        floor_play = write_yaml_json(workdir / 'floor.yml', [{
            'name': 'floor', 'hosts': 'all', 'gather_facts': False,
            'tasks': [{'name': 'one task per host', 'ansible.builtin.set_fact': {'bench_seen': True}}]}])
        times_env, floor_times = task_times(workdir, 'floor')
        proc, floor = timed(['ansible-playbook', '-i', str(plugin_file), str(floor_play)], dict(env, **times_env), workdir, 'floor')
        must(proc, 'the floor play')
        figures['floor_seconds'] = round(floor, 2)
        floor_tasks = floor_times()
        figures['floor_task_seconds'] = round(sum(entry[1] for entry in floor_tasks), 2)
        figures['floor_controller_mb'] = floor_tasks[0][2] if floor_tasks else None
        figures['floor_task_cpu_seconds'] = round(sum(entry[3] for entry in floor_tasks if len(entry) > 3), 2)

        # -- rollout with the role ----------------------------------------------------------
        shutil.rmtree(str(client_caches), ignore_errors=True)
        emulator.reset_stats()
        times_env, rollout_times = task_times(workdir, 'rollout')
        proc, rollout = timed(['ansible-playbook', '-i', str(plugin_file), 'fleetota.cloud.rollout', '-e',
                               json.dumps({'firmware_rollout_poll_interval': args.poll_interval, 'firmware_rollout_waves': args.waves})],
                              dict(env, **times_env), workdir, 'rollout')
        # Exit 2 = some hosts failed: devices the vendor refuses (e.g. Tuya's low battery) fail their hosts.
        if proc.returncode != 2:
            must(proc, 'the rollout')
        failed_hosts = sum(1 for line in proc.stdout.splitlines() if ' failed=' in line and ' failed=0 ' not in line)
        stats = emulator.stats()
        upgraded = upgraded_devices()
        figures['rollout'] = {'seconds': round(rollout, 2), 'api_calls': stats['total'],
                              'api_calls_by_endpoint': by_endpoint(stats['requests'], stats.get('actions')),
                              'devices_upgraded': len(upgraded), 'failed_hosts': failed_hosts,
                              'all_outdated_upgraded': set(upgraded) == outdated,
                              'vs_floor': round(rollout / floor, 2), 'tasks': breakdown(rollout_times())}
        proc, rerun = timed(['ansible-playbook', '-i', str(plugin_file), 'fleetota.cloud.rollout'], env, workdir, 'rerun')
        if proc.returncode != 2:
            must(proc, 'the re-run')
        figures['rollout']['rerun_seconds'] = round(rerun, 2)
        figures['rollout']['rerun_changed_hosts'] = changed_hosts(proc)

        # -- the role as a user writes it: roles:, connection in play-level module_defaults ----------
        # The same fleet again (the emulator reset to its seed), no FLEETOTA_* in the environment, the
        # role under roles: (so ansible-core's own per-host argument validation runs, timed apart).
        user_env = dict((key, value) for key, value in env.items() if not key.startswith('FLEETOTA_'))
        # Its inventory names the connection in the file, as a user's does; filled once, untimed, so that
        # both forms start from a cached inventory.
        user_inventory = write_yaml_json(workdir / 'user.fleetota.yml', dict(plugin_options, **connection_options(platform, emulator.url)))
        role_vars = {'firmware_rollout_poll_interval': args.poll_interval, 'firmware_rollout_waves': args.waves}

        def user_play(label, body):
            """A user's play over every host, the connection in play-level module_defaults; body: its roles or tasks."""
            return write_yaml_json(workdir / ('%s.yml' % label), [dict({
                'name': 'Roll the newest firmware out', 'hosts': 'all', 'gather_facts': False,
                'module_defaults': {'group/fleetota.cloud.firmware': connection_options(platform, emulator.url)}}, **body)])

        def run_user_play(play, label):
            """One run of a user's play: its process, seconds and task times, and the devices upgraded so far."""
            times_env, times = task_times(workdir, label)
            proc, seconds = timed(['ansible-playbook', '-i', str(user_inventory), str(play)], dict(user_env, **times_env), workdir, label)
            return proc, seconds, breakdown(times()), upgraded_devices()

        def first_user_run(play, label):
            """A user's play on the fleet reset to its seed; exit 2 with hosts the vendor refuses, as for the playbook, but it
            must have upgraded something."""
            emulator.control('POST', '/reset')
            shutil.rmtree(str(client_caches), ignore_errors=True)
            emulator.reset_stats()
            proc, seconds, tasks, upgraded = run_user_play(play, label)
            if proc.returncode not in (0, 2) or (outdated and not upgraded):
                must(subprocess.CompletedProcess(proc.args, proc.returncode or 1, proc.stdout, proc.stderr), 'the %s play' % label)
            return seconds, tasks, upgraded

        emulator.control('POST', '/reset')
        must(subprocess.run(['ansible-inventory', '-i', str(user_inventory), '--list', '--output', os.devnull], env=user_env, cwd=str(workdir),
                            capture_output=True, text=True, check=False), 'ansible-inventory of the roles: play')
        roles_play = user_play('user-roles', {'roles': [{'role': 'fleetota.cloud.firmware_rollout', 'vars': role_vars}]})
        user, user_tasks, upgraded = first_user_run(roles_play, 'user-roles')
        validation = user_tasks['per_host_tasks'].get(PER_HOST_TASKS[0], 0.0)
        api_calls = emulator.stats()['total']
        rerun_proc, user_rerun, rerun_tasks, _upgraded = run_user_play(roles_play, 'user-roles-rerun')
        if rerun_proc.returncode != 2:
            must(rerun_proc, 'the roles: play re-run')
        rerun_validation = rerun_tasks['per_host_tasks'].get(PER_HOST_TASKS[0], 0.0)

        # -- the same play with that validation off: what the validation costs, all of it ----------
        # The validation's own task is not its whole cost: ansible-core holds every host's result of a task
        # (each carrying the role's argument spec) until the task ends, and the controller keeps that memory,
        # which makes every later fork dearer. Apart from where the role's vars sit (role vars there, the
        # import's vars here, the same values), roles: and an import_role with rolespec_validate: false differ
        # only by that validation, so the difference of the two runs is its whole cost.
        import_play = user_play('user-import', {'tasks': [{
            'name': 'Roll out', 'vars': role_vars,
            'ansible.builtin.import_role': {'name': 'fleetota.cloud.firmware_rollout', 'rolespec_validate': False}}]})
        unvalidated, unvalidated_tasks, unvalidated_upgraded = first_user_run(import_play, 'user-import')
        figures['user_roles_form'] = {
            'seconds': round(user, 2), 'vs_floor': round(user / floor, 2), 'argument_validation_seconds': validation,
            'vs_floor_without_validation': round((user - validation) / floor, 2), 'api_calls': api_calls,
            'devices_upgraded': len(upgraded), 'all_outdated_upgraded': set(upgraded) == outdated, 'tasks': user_tasks,
            'rerun_seconds': round(user_rerun, 2), 'rerun_vs_floor': round(user_rerun / floor, 2),
            'rerun_argument_validation_seconds': rerun_validation,
            'rerun_vs_floor_without_validation': round((user_rerun - rerun_validation) / floor, 2),
            'rerun_changed_hosts': changed_hosts(rerun_proc),
            'unvalidated_seconds': round(unvalidated, 2), 'unvalidated_vs_floor': round(unvalidated / floor, 2),
            'unvalidated_devices_upgraded': len(unvalidated_upgraded), 'unvalidated_tasks': unvalidated_tasks,
            'validation_cost_seconds': round(user - unvalidated, 2)}

        # -- naive: one firmware_upgrade per host --------------------------------------------
        # Over every host of the play, as a user without the role would run it: the outdated
        # devices upgrade and wait, the others cost a module run that finds nothing to do. With
        # fewer --naive-devices than hosts, an evenly spaced sample, scaled to all hosts.
        hosts = min(len(hostvars), 1000)
        naive_count = min(args.naive_devices, hosts)
        if naive_count:
            emulator.control('POST', '/reset')
            shutil.rmtree(str(client_caches), ignore_errors=True)
            sample = naive_sample(sorted(hostvars), naive_count)
            naive_inventory = write_yaml_json(workdir / 'naive.yml', {'all': {'hosts': dict((host, hostvars[host]) for host in sample)}})
            naive_play = write_yaml_json(workdir / 'naive-play.yml', [{
                'name': 'naive', 'hosts': 'all', 'gather_facts': False,
                'vars': {'ansible_python_interpreter': '{{ ansible_playbook_python }}'},
                'tasks': [{'name': 'upgrade this device', 'ignore_errors': True, 'fleetota.cloud.firmware_upgrade': {
                    'devices': ['{{ fleetota_device_id }}'], 'version': 'latest', 'poll_interval': args.poll_interval}}]}])
            emulator.reset_stats()
            proc, naive = timed(['ansible-playbook', '-i', str(naive_inventory), str(naive_play)], env, workdir, 'naive')
            must(proc, 'the naive play')
            per_host = naive / naive_count
            figures['naive'] = {'hosts': naive_count, 'outdated_hosts': len(outdated.intersection(sample)), 'seconds': round(naive, 2),
                                'api_calls': emulator.stats()['total'], 'seconds_per_host': round(per_host, 3),
                                'seconds_for_all_hosts': round(per_host * len(hostvars), 1), 'scaled': naive_count < len(hostvars)}
            figures['rollout']['speedup_vs_naive'] = round(per_host * len(hostvars) / rollout, 1)
    finally:
        emulator.stop()
    figures['targets'] = targets(figures)
    return figures


def changed_hosts(proc):
    return sum(1 for line in proc.stdout.splitlines() if ' changed=' in line and ' changed=0 ' not in line)


# FLEETOTA_* variable -> the connection option a user writes in module_defaults instead.
OPTION_OF_ENV = {'FLEETOTA_USERNAME': 'username', 'FLEETOTA_PASSWORD': 'password', 'FLEETOTA_ACCESS_KEY': 'access_key',
                 'FLEETOTA_SECRET_KEY': 'secret_key', 'FLEETOTA_ORG_ID': 'org_id', 'FLEETOTA_TOKEN_CACHE': 'token_cache'}


def connection_options(platform, endpoint):
    options = {'platform': platform, 'endpoint': endpoint}
    options.update((OPTION_OF_ENV[name], value) for name, value in PLATFORMS[platform]['env'].items())
    return options


def naive_sample(hosts, count):
    """count hosts evenly spaced over all of them: the emulator makes devices outdated at random, so the sample
    holds about the same share of outdated ones (the figures report how many it got)."""
    return [hosts[index * len(hosts) // count] for index in range(count)]


def targets(figures):
    result = {
        'cached inventory makes 0 API calls': figures['inventory']['cached_api_calls'] == 0,
        'inventory through the plugin <= 1.5x the static file': figures['inventory']['plugin_vs_static'] <= 1.5,
        'inventory with firmware_versions: false <= 1.5x its static file': figures['inventory']['without_versions_vs_static'] <= 1.5,
        'rollout <= 2x the floor (the target is set at 10,000 devices)': figures['rollout']['vs_floor'] <= 2.0,
        'roles: form without ansible-core\'s per-host argument validation <= 2x the floor':
            figures['user_roles_form']['unvalidated_vs_floor'] <= 2.0,
        'roles: form re-changes nothing': figures['user_roles_form']['rerun_changed_hosts'] == 0,
        'every outdated device the vendor accepts upgraded once, re-run changes nothing':
            figures['rollout']['devices_upgraded'] + figures['rollout']['failed_hosts'] >= figures['outdated']
            and figures['rollout']['rerun_changed_hosts'] == 0,
    }
    if 'naive' in figures:
        result['rollout >= 20x faster than the naive way (target set at 1,000)'] = figures['rollout']['speedup_vs_naive'] >= 20
    return result


def show(figures):
    inv, roll, user = figures['inventory'], figures['rollout'], figures['user_roles_form']
    rows = [
        ('platform / devices / outdated', '%s / %d / %d' % (figures['platform'], figures['devices'], figures['outdated'])),
        ('inventory: plugin (cold)', '%.2f s, %d API calls' % (inv['plugin_seconds'], inv['plugin_api_calls'])),
        ('inventory: plugin (cached)', '%.2f s, %d API calls' % (inv['cached_seconds'], inv['cached_api_calls'])),
        ('inventory: static YAML', '%.2f s (plugin = %.2fx)' % (inv['static_seconds'], inv['plugin_vs_static'])),
        ('  without firmware versions', '%.2f s, %d API calls; its static YAML %.2f s (plugin = %.2fx)' % (
            inv['without_versions_seconds'], inv['without_versions_api_calls'], inv['without_versions_static_seconds'],
            inv['without_versions_vs_static'])),
        ('floor: one set_fact per host', '%.2f s' % figures['floor_seconds']),
        ('rollout (role, waves, verify)', '%.2f s = %.2fx the floor, %d API calls, %d devices upgraded, %d hosts failed' % (
            roll['seconds'], roll['vs_floor'], roll['api_calls'], roll['devices_upgraded'], roll['failed_hosts'])),
        ('  of which per-host tasks', '%s (the floor\'s one task: %.2f s)' % (
            ', '.join('%.2f s %s' % (seconds, 'argument validation' if task.startswith('Validating') else 'outcome report')
                      for task, seconds in roll['tasks']['per_host_tasks'].items()) or 'none timed', figures['floor_task_seconds'])),
        ('  their CPU seconds', '%s (the floor\'s one task: %.2f s)' % (
            ', '.join('%.2f s' % seconds for seconds in roll['tasks']['per_host_tasks_cpu_seconds'].values()) or '?',
            figures['floor_task_cpu_seconds'])),
        ('  controller memory then', '%s (at the floor\'s task: %s)' % (
            ', '.join('%s MB' % rss for rss in roll['tasks']['controller_mb_at_per_host_tasks'].values()) or '?',
            '%s MB' % figures['floor_controller_mb'])),
        ('  and run once for the group', '%.2f s (check, plan, waves, verify)' % roll['tasks']['once_for_the_group']),
        ('rollout re-run', '%.2f s, %d hosts changed' % (roll['rerun_seconds'], roll['rerun_changed_hosts'])),
        ('roles: play, module_defaults', '%.2f s = %.2fx the floor; without the per-host argument validation (%.2f s) %.2fx' % (
            user['seconds'], user['vs_floor'], user['argument_validation_seconds'], user['vs_floor_without_validation'])),
        ('  its per-host tasks', '%s; CPU %s; controller %s' % (
            ', '.join('%.2f s %s' % (seconds, 'argument validation' if task.startswith('Validating') else 'outcome report')
                      for task, seconds in user['tasks']['per_host_tasks'].items()),
            ', '.join('%.2f s' % seconds for seconds in user['tasks']['per_host_tasks_cpu_seconds'].values()) or '?',
            ', '.join('%s MB' % rss for rss in user['tasks']['controller_mb_at_per_host_tasks'].values()) or '?')),
        ('  the same play, validation off', '%.2f s = %.2fx the floor (import_role, rolespec_validate: false); the validation '
                                            'cost %.2f s in all' % (user['unvalidated_seconds'], user['unvalidated_vs_floor'],
                                                                    user['validation_cost_seconds'])),
        ('  its re-run', '%.2f s = %.2fx the floor; without the validation (%.2f s) %.2fx; %d hosts changed' % (
            user['rerun_seconds'], user['rerun_vs_floor'], user['rerun_argument_validation_seconds'],
            user['rerun_vs_floor_without_validation'], user['rerun_changed_hosts'])),
    ]
    if 'naive' in figures:
        naive = figures['naive']
        rows.append(('naive: firmware_upgrade per host', '%.2f s for %d hosts, %d outdated (%.2f s each%s); role is %.1fx faster' % (
            naive['seconds'], naive['hosts'], naive['outdated_hosts'], naive['seconds_per_host'],
            ', %.0f s for all %d scaled' % (naive['seconds_for_all_hosts'], inv['hosts']) if naive['scaled'] else '',
            roll['speedup_vs_naive'])))
    width = max(len(label) for label, _value in rows)
    print()
    for label, value in rows:
        print('%s  %s' % (label.ljust(width), value))
    print('\nAPI calls of the rollout by endpoint:')
    for endpoint, count in sorted(roll['api_calls_by_endpoint'].items()):
        print('  %7d  %s' % (count, endpoint))
    print('\ntargets:')
    for name, met in figures['targets'].items():
        print('  [%s] %s' % ('yes' if met else 'NO ', name))


def provenance(argv=None, script='tests/benchmark/rollout_benchmark.py'):
    """What docs/performance.md names with every result: the commit measured, the machine, the command to reproduce."""
    repo = pathlib.Path(__file__).resolve().parents[2]
    try:
        commit = subprocess.run(['git', 'rev-parse', 'HEAD'], cwd=repo, capture_output=True, text=True, check=True).stdout.strip()
        dirty = subprocess.run(['git', 'status', '--porcelain', '--untracked-files=no'], cwd=repo, capture_output=True, text=True, check=True).stdout
        commit += '-dirty' if dirty.strip() else ''
    except (OSError, subprocess.CalledProcessError):
        commit = 'unknown'
    import ansible.release  # pylint: disable=import-outside-toplevel
    words, skip = [], False
    for word in (sys.argv[1:] if argv is None else argv):  # --json and --keep change where results go, not what is measured
        if skip or word in ('--json', '--keep') or word.startswith('--json='):
            skip = word == '--json'
            continue
        words.append(word)
    return {
        'commit': commit,
        'machine': {'cores': os.cpu_count(), 'ansible_core': ansible.release.__version__, 'python': '.'.join(map(str, sys.version_info[:3]))},
        'command': ' '.join(['python', script] + [shlex.quote(word) for word in words]),
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n', maxsplit=1)[0])
    parser.add_argument('--devices', type=int, default=1000, help='devices in the emulator (default: %(default)s)')
    parser.add_argument('--platform', default='magewell', choices=sorted(PLATFORMS))
    parser.add_argument('--naive-devices', type=int, default=1000, help='hosts for the naive per-host play, at most 1000; 0 skips it')
    parser.add_argument('--upgrade-seconds', type=float, default=2.0, help='how long one emulated upgrade takes (default: %(default)s)')
    parser.add_argument('--poll-interval', type=float, default=1.0, help='firmware_rollout_poll_interval (default: %(default)s)')
    parser.add_argument('--waves', default='1,10%,50%,100%', help='firmware_rollout_waves (default: %(default)s)')
    parser.add_argument('--json', help='write the figures here (default: benchmark-<platform>-<devices>.json in the current directory)')
    parser.add_argument('--keep', action='store_true', help='keep the work directory (inventories, plays)')
    args = parser.parse_args()
    if args.devices < 1:
        parser.error('--devices must be at least 1, got %d' % args.devices)
    workdir = pathlib.Path(tempfile.mkdtemp(prefix='fleetota-bench-'))
    try:
        figures = benchmark(args, workdir)
    finally:
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)
    figures.update(provenance())
    show(figures)
    out = pathlib.Path(args.json or 'benchmark-%s-%d.json' % (args.platform, args.devices))
    out.write_text(json.dumps(figures, indent=1, sort_keys=True))
    print('\nfigures written to %s' % out)


if __name__ == '__main__':
    main()
