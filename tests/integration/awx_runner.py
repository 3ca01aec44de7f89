# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Run the collection the way AWX / Automation Controller does, without a controller.

- The credential's injector, rendered from the shipped credential type file, is the only source
  of FLEETOTA_* variables (AWX renders injectors with a sandboxed Jinja2).
- An inventory update runs the inventory source (ansible-inventory on the *.fleetota.yml file) and
  the job gets the resulting hosts as a static inventory, as AWX stores them.
- The job runs through ansible-runner, AWX's engine; its artifacts and job events are the result.
- Job slicing gives slice i of K every K-th host (i, i + K, ...), each slice its own runner process.

Used by test_awx_runner.py and by tests/benchmark/sliced_benchmark.py.
"""

import json
import os
import pathlib
import shutil
import signal
import stat
import subprocess
import tempfile
import threading
import time
import types

import ansible_runner
import yaml
from jinja2.sandbox import ImmutableSandboxedEnvironment

from userland import copy_tree_from_git  # pylint: disable=import-error

REPO = pathlib.Path(__file__).resolve().parents[2]
CREDENTIAL_TYPES = REPO / 'playbooks' / 'files' / 'awx' / 'credential_types'
PROJECT = REPO / 'extensions' / 'awx' / 'project'
OUTCOME_TASK = "Report each device's outcome on its host"


def credential_type(platform):
    return yaml.safe_load((CREDENTIAL_TYPES / ('%s.yml' % platform)).read_text())


def injected_env(platform, inputs, files_dir=None):
    """The environment AWX's injector would set for a credential of this type with these inputs.

    As AWX does: empty inputs are left out (undefined in the templates), a boolean input not given is false, and every
    `file` injector is rendered into a new file (mode 0600, under files_dir) whose path is tower.filename.
    """
    kind = credential_type(platform)
    missing = [name for name in kind['inputs'].get('required', []) if not inputs.get(name)]
    if missing:
        raise ValueError('credential inputs missing: %s' % ', '.join(missing))
    namespace = {}
    for field in kind['inputs']['fields']:
        value = inputs.get(field['id'])
        if field.get('type') == 'boolean':
            namespace[field['id']] = bool(value)
        elif value:
            namespace[field['id']] = value
    sandbox = ImmutableSandboxedEnvironment()
    files = {}
    for label, template in kind['injectors'].get('file', {}).items():
        handle, path = tempfile.mkstemp(dir=str(files_dir) if files_dir else None, prefix='awx-credential-')
        with os.fdopen(handle, 'w', encoding='utf-8') as stream:
            stream.write(sandbox.from_string(str(template)).render(**namespace))
        os.chmod(path, stat.S_IRUSR | stat.S_IWUSR)
        files[label] = path
    filename = files.get('template') or types.SimpleNamespace(**dict((label.split('.', 1)[1], path) for label, path in files.items()))
    namespace['tower'] = types.SimpleNamespace(filename=filename)
    return dict((name, sandbox.from_string(str(template)).render(**namespace)) for name, template in kind['injectors']['env'].items())


def base_env(collections_path):
    """What the execution environment provides besides the credential: no FLEETOTA_* at all."""
    env = dict((key, value) for key, value in os.environ.items() if not key.startswith('FLEETOTA_'))
    env.update({'ANSIBLE_COLLECTIONS_PATH': collections_path, 'ANSIBLE_NOCOLOR': '1', 'ANSIBLE_LOCALHOST_WARNING': 'False',
                'ANSIBLE_INVENTORY_UNPARSED_WARNING': 'False'})
    return env


class Inventory(dict):
    """What an inventory update stores: host -> its own vars, and `groups`: group -> {'vars', 'hosts'}."""

    def __init__(self, hostvars, groups):
        super().__init__(hostvars)
        self.groups = groups


def inventory_update(workdir, collections_path, credential_env):
    """Run the project's inventory source once, as AWX does (ansible-inventory --list --export: group vars stay on
    their groups); returns the hosts with their vars and the groups with theirs, as AWX stores them."""
    source = workdir / 'fleet.fleetota.yml'
    shutil.copy(PROJECT / 'inventories' / 'fleet.fleetota.yml', source)
    env = base_env(collections_path)
    env['ANSIBLE_INVENTORY_UNPARSED_FAILED'] = 'True'  # as AWX runs inventory updates: a source that fails fails the update
    env.update(credential_env)
    proc = subprocess.run(['ansible-inventory', '-i', str(source), '--list', '--export'], capture_output=True, text=True, env=env, timeout=600,
                          check=False)
    if proc.returncode != 0:
        raise RuntimeError('inventory update failed: %s' % (proc.stdout + proc.stderr))
    data = json.loads(proc.stdout)
    groups = dict((name, {'vars': entry.get('vars') or {}, 'hosts': entry.get('hosts') or []})
                  for name, entry in data.items() if name not in ('_meta', 'all', 'ungrouped'))
    return Inventory(data['_meta']['hostvars'], groups)


def slices(hostvars, count):
    """AWX job slicing: slice i holds every count-th host starting at i."""
    names = sorted(hostvars)
    return [dict((name, hostvars[name]) for name in names[index::count]) for index in range(count)]


class Job:
    """One ansible-runner job (one AWX job, or one slice of a sliced job)."""

    def __init__(self, root, collections_path, credential_env, hosts, extravars, ident='job', groups=None, envvars=None, playbook='rollout.yml'):
        """`hosts`: host -> vars; `groups`: the inventory's groups (Inventory.groups), of which the job gets the hosts it has.
        The project is what a project sync gets: the files git holds under extensions/awx/project."""
        self.root = pathlib.Path(root)
        self.ident = ident
        (self.root / 'inventory').mkdir(parents=True, exist_ok=True)
        (self.root / 'env').mkdir(exist_ok=True)
        copy_tree_from_git('extensions/awx/project', self.root / 'project')
        children = dict((name, {'vars': group['vars'], 'hosts': dict((host, {}) for host in group['hosts'] if host in hosts)})
                        for name, group in (groups or {}).items())
        (self.root / 'inventory' / 'hosts.json').write_text(json.dumps({'all': {'hosts': hosts, 'children': children}}))
        self.envvars = dict(credential_env, ANSIBLE_COLLECTIONS_PATH=collections_path, ANSIBLE_NOCOLOR='1', ANSIBLE_LOCALHOST_WARNING='False')
        self.envvars.update(envvars or {})
        self.extravars = extravars
        self.hosts = hosts
        self.playbook = playbook
        self.runner = None
        self.thread = None
        self.seconds = None
        self._start = None
        self._cancel = threading.Event()

    def start(self, check=False):
        cmdline = '--check' if check else None
        self._start = time.monotonic()
        self.thread, self.runner = ansible_runner.run_async(
            private_data_dir=str(self.root), playbook=self.playbook, ident=self.ident, envvars=self.envvars, extravars=self.extravars,
            cmdline=cmdline, quiet=True, settings={'suppress_ansible_output': True}, cancel_callback=self._cancel.is_set)
        return self

    def wait(self, timeout=1800):
        self.thread.join(timeout)
        self.seconds = time.monotonic() - self._start
        return self

    def run(self, check=False):
        return self.start(check).wait()

    @property
    def status(self):
        return self.runner.status

    @property
    def rc(self):
        return self.runner.rc

    def events(self):
        return list(self.runner.events)

    def host_outcomes(self):
        """host -> (event name, changed, the outcome) from the per-host outcome task's job events."""
        outcomes = {}
        for event in self.events():
            data = event.get('event_data') or {}
            if event.get('event') in ('runner_on_ok', 'runner_on_failed') and data.get('task') == OUTCOME_TASK:
                result = data.get('res') or {}
                outcomes[data['host']] = (event['event'], bool(result.get('changed')), result)
        return outcomes

    def changed_hosts(self):
        """Every host a job event reports as changed, whatever the task."""
        hosts = set()
        for event in self.events():
            data = event.get('event_data') or {}
            if event.get('event') == 'runner_on_ok' and (data.get('res') or {}).get('changed'):
                hosts.add(data.get('host'))
        return hosts

    def stdout(self):
        return self.runner.stdout.read()

    def playbook_pid(self, timeout=120):
        """The pid of ansible-playbook, from its job events (AWX's callback puts it in every event), once it has started."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for event in self.runner.events if self.runner else []:
                if event.get('pid'):
                    return event['pid']
            time.sleep(0.2)
        raise RuntimeError('ansible-playbook sent no job event within %s s' % timeout)

    def cancel(self):
        """Cancel the job as AWX does through ansible-runner: its cancel_callback answers true, and ansible-runner sends SIGKILL
        to the process group of ansible-playbook (within its pexpect timeout, 5 s)."""
        self._cancel.set()

    def terminate(self, signum=signal.SIGTERM):
        """Cancel the job the graceful way: SIGTERM to ansible-playbook (ansible-runner's own cancel is a SIGKILL of its
        process group, which no program can handle; see docs/awx.md)."""
        os.kill(self.playbook_pid(), signum)
