# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Integration harness: the emulator over real HTTP, and real ansible-playbook / ansible-inventory.

Each test module gets one emulator (in this process, on a free loopback port); every test
starts from the seeded fleet (POST /_emulator/reset). Playbooks write what they registered
to a JSON file, so tests assert on module results and on the emulator's own counters.
"""

import json
import os
import pathlib
import subprocess
import sys
import textwrap

import pytest
import requests

TESTS = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(TESTS))

from emulator import EmulatorServer  # noqa: E402  pylint: disable=wrong-import-position
from fault_matrix_report import FaultMatrixReport  # noqa: E402  pylint: disable=wrong-import-position,import-error


def pytest_configure(config):
    config.pluginmanager.register(FaultMatrixReport(), 'fleetota-fault-matrix')


PASSWORD = 'Em-Secret-7c1f'  # distinctive, so a leak into any output is caught
IOTCORE_SECRET = 'Iot-Secret-4d2a9e'
TUYA_ACCESS_ID = 'fleetotatestaccess01'
TUYA_SECRET = 'Tuya-Secret-4d9e2b7a61c3f0e8'

# Per platform: the connection options a test uses, and the emulator options that make the
# emulator accept them. Secrets are distinctive so that a leak into any output is caught.
ENOS_SECRET = 'En-Secret-4d2a9e'
ENOS_APP_KEY = 'enos-app-7f3e'
ENOS_ORG = 'o-fleetota-it'

CONNECTIONS = {
    'magewell': {'username': 'Admin', 'password': PASSWORD},
    'enos': {'access_key': ENOS_APP_KEY, 'secret_key': ENOS_SECRET, 'org_id': ENOS_ORG},
    'tuya_iotcore': {'access_key': 'fleetota-iotcore-ak', 'secret_key': IOTCORE_SECRET},
    'tuya': {'access_key': TUYA_ACCESS_ID, 'secret_key': TUYA_SECRET},
}
SERVER_OPTIONS = {
    'magewell_password': PASSWORD,
    'enos_app_key': ENOS_APP_KEY,
    'enos_app_secret': ENOS_SECRET,
    'enos_org_id': ENOS_ORG,
    'tuya_iotcore_secret_key': IOTCORE_SECRET,
    'tuya_client_id': TUYA_ACCESS_ID,
    'tuya_secret': TUYA_SECRET,
}


def collections_path():
    explicit = os.environ.get('FLEETOTA_TEST_COLLECTIONS_PATH')
    return explicit or os.environ['ANSIBLE_COLLECTIONS_PATH']


# Test files that drive the clients directly import them from the collection under test (the path scripts/setup.sh or
# FLEETOTA_TEST_COLLECTIONS_PATH names): conftest is imported first, so they import as any module does.
if os.environ.get('FLEETOTA_TEST_COLLECTIONS_PATH') or os.environ.get('ANSIBLE_COLLECTIONS_PATH'):
    sys.path.insert(0, collections_path())


class Emulator:
    def __init__(self, server):
        self.server = server
        self.url = server.url

    def control(self, method, path, body=None):
        response = requests.request(method, self.url + '/_emulator' + path, json=body, timeout=30)
        response.raise_for_status()
        return response.json()

    def reset(self):
        self.control('POST', '/reset')

    def stats(self):
        return self.control('GET', '/stats')['requests']

    def actions(self):
        """Requests counted by RPC Action (tuya_iotcore)."""
        return self.control('GET', '/stats')['actions']

    def count(self, method_path):
        return self.stats().get(method_path, 0)

    def writes(self):
        return dict((key, value) for key, value in self.stats().items() if key.startswith('POST') and 'login' not in key and 'logout' not in key)

    def devices(self, platform='magewell'):
        return self.control('GET', '/devices?platform=%s' % platform)

    def device(self, device_id, platform='magewell'):
        return self.control('GET', '/devices/%s/%s' % (platform, device_id))

    def set_devices(self, ids, platform='magewell', **changes):
        body = dict(changes, ids=list(ids))
        return self.control('POST', '/devices/%s' % platform, body)

    def faults(self, *rules):
        return self.control('POST', '/faults', {'rules': list(rules)})

    def config(self, **values):
        return self.control('POST', '/config', values)

    def scenarios(self, platform='magewell'):
        return self.control('GET', '/scenarios?platform=%s' % platform)

    def connection(self, platform='magewell', **overrides):
        values = dict(CONNECTIONS.get(platform, {}), platform=platform, endpoint=self.url)  # an unknown platform: bad-input tests
        values.update(overrides)
        return values


@pytest.fixture(autouse=True)
def private_cache_home(tmp_path, monkeypatch):
    """Each test gets its own XDG_CACHE_HOME: the clients' caches (Tuya tokens, IoT Core's device
    directory) never reach the user's ~/.cache, nor carry one test's state into the next."""
    monkeypatch.setenv('XDG_CACHE_HOME', str(tmp_path / 'xdg-cache'))


def own_emulator(after_reset=None, **options):
    """A test module's own emulator, for client tests that need another fleet or other credentials than the shared one:
    `server, emu = own_emulator(devices=30, ...)` at module level gives the module-scoped fixture `server` and the
    per-test fixture `emu` (the same server reset to its seed, then `after_reset(server)`)."""

    @pytest.fixture(scope='module', name='server')
    def server_fixture():
        server = EmulatorServer(quiet=True, **options).start()
        try:
            yield server
        finally:
            server.stop()

    @pytest.fixture(name='emu')
    def emu_fixture(server):
        reset(server)
        if after_reset is not None:
            after_reset(server)
        return server

    return server_fixture, emu_fixture


def reset(server):
    requests.post(server.url + '/_emulator/reset', timeout=10).raise_for_status()
    return server


@pytest.fixture(scope='module')
def emulator_server():
    server = EmulatorServer(devices=60, seed=11, upgrade_seconds=1.5, offline_ratio=0.1, **SERVER_OPTIONS).start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def emulator(emulator_server):
    em = Emulator(emulator_server)
    em.reset()
    return em


class Run:
    def __init__(self, proc, data):
        self.proc = proc
        self.rc = proc.returncode
        self.stdout = proc.stdout
        self.stderr = proc.stderr
        self.output = proc.stdout + proc.stderr
        self.data = data

    def recap(self, host='localhost'):
        for line in self.stdout.splitlines():
            parts = line.split()
            if parts and parts[0] == host and ':' in line and 'ok=' in line:
                return dict(part.split('=') for part in parts[2:] if '=' in part)
        raise AssertionError('no recap line for %s in:\n%s' % (host, self.stdout))


def ansible_env(extra=None):
    env = dict(os.environ)
    env.update({
        'ANSIBLE_COLLECTIONS_PATH': collections_path(),
        'ANSIBLE_NOCOLOR': '1',
        'ANSIBLE_FORCE_COLOR': '0',
        'ANSIBLE_HOST_KEY_CHECKING': 'False',
        'ANSIBLE_RETRY_FILES_ENABLED': 'False',
        'ANSIBLE_LOCALHOST_WARNING': 'False',
        'ANSIBLE_INVENTORY_UNPARSED_WARNING': 'False',
    })
    for key in list(env):
        if key.startswith('FLEETOTA_') and key not in ('FLEETOTA_WORK', 'FLEETOTA_TEST_COLLECTIONS_PATH'):
            del env[key]
    env.update(extra or {})
    return env


@pytest.fixture
def playbook(tmp_path):
    """Run tasks in a play on localhost; every registered name listed in `keep` comes back in run.data."""

    def run(tasks, keep=('out',), connection=None, args=(), env=None, check=False, extra_vars=None, timeout=600):
        result_file = tmp_path / 'results.json'
        defaults = {'group/fleetota.cloud.firmware': connection} if connection else {}
        play = [{
            'name': 'test play',
            'hosts': 'localhost',
            'gather_facts': False,
            'connection': 'local',
            'vars': {'ansible_python_interpreter': '{{ ansible_playbook_python }}'},
            'module_defaults': defaults,
            'tasks': list(tasks) + [{
                'name': 'save results',
                'ansible.builtin.copy': {
                    'dest': str(result_file),
                    'content': '{{ {%s} | to_json }}' % ', '.join("'%s': (%s | default(None))" % (name, name) for name in keep),
                    'mode': '0600',
                },
                'check_mode': False,
                'changed_when': False,
            }],
        }]
        path = tmp_path / 'play.yml'
        path.write_text(json.dumps(play, indent=1))
        command = ['ansible-playbook', '-i', 'localhost,', str(path)] + list(args)
        if check:
            command.append('--check')
        if extra_vars:
            command += ['-e', json.dumps(extra_vars)]
        if result_file.exists():
            result_file.unlink()
        proc = subprocess.run(command, capture_output=True, text=True, env=ansible_env(env), timeout=timeout, cwd=str(tmp_path), check=False)
        data = json.loads(result_file.read_text()) if result_file.exists() else None
        return Run(proc, data)

    return run


def task(module, register='out', ignore_errors=True, **params):
    entry = {'name': 'call %s' % module, module: params, 'register': register}
    if ignore_errors:
        entry['ignore_errors'] = True
    return entry


def run_bad_input(playbook, table, connection, device_id):
    """Run every row of a bad-input table, (label, module, connection overrides, params, message), as its own task of one
    play, and check that each failed with its message. connection(**overrides) gives the connection options (None drops
    one); '@0' in devices stands for device_id. Returns the run, for the caller to check that nothing was written."""
    tasks, names = [], []
    for index, (_label, module, overrides, params, _message) in enumerate(table):
        args = dict((key, value) for key, value in connection(**overrides).items() if value is not None)
        args.update(params)
        if args.get('devices'):
            args['devices'] = [device_id if item == '@0' else item for item in args['devices']]
        names.append('bad%d' % index)
        tasks.append(task('fleetota.cloud.' + module, register=names[-1], **args))
    run = playbook(tasks, keep=names)
    assert run.data is not None, run.output
    for index, (label, _module, _overrides, _params, message) in enumerate(table):
        result = run.data['bad%d' % index]
        assert result['failed'] is True, label
        assert message in result['msg'], '%s: %s' % (label, result['msg'])
    return run


def inventory_file(tmp_path, name='emulator.fleetota.yml', **options):
    path = tmp_path / name
    path.write_text(json.dumps(dict({'plugin': 'fleetota.cloud.devices'}, **options), indent=1))
    return path


def run_inventory(path, env=None, args=('--list',), cwd=None):
    proc = subprocess.run(['ansible-inventory', '-i', str(path)] + list(args), capture_output=True, text=True, env=ansible_env(env),
                          timeout=300, cwd=str(cwd or path.parent), check=False)
    return proc


def list_inventory(tmp_path, secret_env, raw=False, **options):
    """ansible-inventory --list through the plugin configured with options, the secret given only in the environment
    (secret_env: {variable: secret}). Checks that it succeeded and that the secret shows nowhere in its output; returns the
    listing, its strings unwrapped from the unsafe markers unless raw."""
    proc = run_inventory(inventory_file(tmp_path, **options), env=secret_env)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    for secret in secret_env.values():
        assert secret not in proc.stdout + proc.stderr
    data = json.loads(proc.stdout)
    return data if raw else plain(data)


def plain(value):
    """ansible-inventory marks strings that came from the cloud as unsafe (never templated): unwrap them."""
    if isinstance(value, dict):
        if set(value) == {'__ansible_unsafe'}:
            return value['__ansible_unsafe']
        return dict((key, plain(item)) for key, item in value.items())
    if isinstance(value, list):
        return [plain(item) for item in value]
    return value


def dedent(text):
    return textwrap.dedent(text).lstrip()
