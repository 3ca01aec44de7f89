# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Every example the collection publishes runs, against the emulator, the way a user runs it (see userland.py).

The examples are extracted from the READMEs, docs/ and the plugins' EXAMPLES (published_examples.py), never copied.
Only what a user changes is substituted: the endpoint and the credentials (literal values replaced; `{{ var }}`
values given as extra vars; values the example says come from FLEETOTA_* variables given in those variables).
- an inventory configuration: written to its file name, `ansible-inventory --list` lists the emulator's devices;
- a playbook: run with an inventory of the emulator for its platform;
- a task list: run in plays the way the docs say (module_defaults for the connection; a task with run_once over its
  platform's device group, a module call without it on localhost); a module's EXAMPLES run as one playbook, each
  task its own test case;
- play keywords (a `module_defaults:` block): a play with them that reads the play's devices.
Upgrades run for real (the emulator's upgrades take a second); a small poll interval comes only through what a user
sets: the role's extra var, or the play's module_defaults for tasks that do not set their own.
"""

import json
import re

import pytest
import yaml

import published_examples as published  # pylint: disable=import-error
import userland  # pylint: disable=import-error
from conftest import CONNECTIONS, SERVER_OPTIONS, plain  # pylint: disable=import-error

from emulator import EmulatorServer  # pylint: disable=import-error,wrong-import-order

MARKDOWN = dict((source, published.doc_examples(source)) for source in published.doc_sources())
MODULES = dict((source, published.module_examples(source)) for source in published.module_sources())
INVENTORY = published.inventory_examples()

# Sources that publish no runnable YAML, and why. Keep this short and true.
NO_YAML = {
    'extensions/awx/project/README.md': 'prose only: the project files it describes run in test_awx_runner.py',
    'docs/awx.md': 'a pointer to the AWX guide, docs/docsite/rst/guide_awx.rst',
    'docs/performance.md': 'figures only, written by tests/benchmark/performance_page.py',
    'docs/adding-a-platform.md': 'for contributors: which files a new platform adds',
}
# Examples that are not runnable on their own, and why. Keep this short and true.
NOT_RUNNABLE = {
    'docs/docsite/rst/guide_awx.rst:84': 'playbooks/awx_setup.yml needs an AWX / Automation Controller; its variables file (guide_awx.rst:70) is checked',
}
COMMANDS = [example for source in published.doc_sources() for example in published.doc_command_examples(source)]
# Command-line values a user replaces with their own, besides the connection: a folder of theirs to write to.
USER_PATHS = ('report_dir',)
ROLE_EXTRA_VARS = {'firmware_rollout_poll_interval': 0.3}
POLL_INTERVAL = 0.3
PLAYBOOK_TIMEOUT = 300  # an example that waits longer is wrong for a fleet whose upgrades take a second
SECRETS = [value for connection in CONNECTIONS.values() for key, value in connection.items() if key in ('password', 'secret_key')]


@pytest.fixture(scope='module')
def emulator_server():
    """Overrides conftest's: a smaller fleet (each example plays over whole device groups), upgrades of a second."""
    server = EmulatorServer(devices=30, seed=11, upgrade_seconds=1.0, offline_ratio=0.1, **SERVER_OPTIONS).start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def fleet(emulator, emulator_server):
    """The emulator's fleet with the Tuya device whose battery is low charged: an example over a whole Tuya group
    must not fail for the one device the emulator seeds to refuse upgrades (test_tuya_modules.py covers that)."""
    for device in emulator_server.state.fleet.list_devices('tuya'):
        if device.extra.get('can_upgrade') is False:
            device.extra['can_upgrade'] = True
            device.extra.pop('remind', None)
    return emulator


@pytest.fixture(scope='module')
def machine(tmp_path_factory):
    root = tmp_path_factory.mktemp('user')
    return userland.UserMachine(root, userland.build_tarball(root / 'build'))


@pytest.fixture(scope='module')
def module_runs():
    """A module's EXAMPLES run once, as one playbook; its tasks' test cases read that run."""
    return {}


def connections(emulator):
    return dict((platform, dict(CONNECTIONS[platform], platform=platform, endpoint=emulator.url)) for platform in CONNECTIONS)


def fleetota_env(connection):
    return dict(('FLEETOTA_' + key.upper(), str(value)) for key, value in connection.items())


def write_yaml(path, data):
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def emulator_inventory(tmp_path, emulator, platforms):
    """The user's own inventory of the emulator: one fleetota.cloud.devices file per platform, of the devices online (an
    upgrade of a device that is offline fails or waits for it to come back, as the modules document)."""
    folder = tmp_path / 'inventory'
    folder.mkdir(exist_ok=True)
    for platform in sorted(platforms):
        write_yaml(folder / ('%s.fleetota.yml' % platform),
                   dict({'plugin': 'fleetota.cloud.devices', 'firmware_versions': False, 'online_only': True}, **connections(emulator)[platform]))
    return folder


def assert_no_secret(proc):
    for secret in SECRETS:
        assert secret not in proc.stdout + proc.stderr


def run_playbook(machine, tmp_path, emulator, plays, platforms, extra_vars=None, env=None, args=()):
    inventory = emulator_inventory(tmp_path, emulator, platforms)
    play = write_yaml(tmp_path / 'example.yml', plays)
    command = ['-i', inventory, play] + list(args)
    if extra_vars:
        write_yaml(tmp_path / 'extra.yml', extra_vars)
        command += ['-e', '@%s' % (tmp_path / 'extra.yml')]
    proc = machine.run('ansible-playbook', *command, cwd=tmp_path, env=env, timeout=PLAYBOOK_TIMEOUT)
    assert_no_secret(proc)
    return proc


def group_platforms(text):
    return set(platform for platform in published.PLATFORMS if re.search(r'fleetota_%s\b' % platform, text))


def task_plays(tasks, platform, emulator):
    """Task examples as the docs tell users to run them: connection options in play-level module_defaults, and a small
    poll interval in firmware_upgrade's (a task's own poll_interval wins)."""
    plays = []
    for segment in published.task_segments(tasks, platform):
        plays.append({
            'name': 'example tasks on %s' % segment['hosts'],
            'hosts': segment['hosts'],
            'gather_facts': False,
            'module_defaults': {'group/fleetota.cloud.firmware': connections(emulator)[segment['platform']],
                                'fleetota.cloud.firmware_upgrade': {'poll_interval': POLL_INTERVAL}},
            'tasks': segment['tasks'],
        })
    return plays


def task_results(stdout):
    """Task name -> the per-host result lines under it (default callback)."""
    results, current = {}, None
    for line in stdout.splitlines():
        match = re.match(r'^TASK \[(.*)\] \*+$', line)
        if match:
            current = results.setdefault(match.group(1), [])
        elif line.startswith('PLAY'):
            current = None
        elif current is not None and re.match(r'^(ok|changed|fatal|failed|skipping): \[', line):
            current.append(line)
    return results


def expected_hosts(emulator, platform, config):
    devices = emulator.devices(platform)
    if config.get('online_only'):
        devices = [device for device in devices if device['online']]
    if config.get('products'):
        devices = [device for device in devices if device['product'] in [str(item) for item in config['products']]]
    return set(device['name' if config.get('hostname') == 'name' else 'id'] for device in devices)


# -- what a user runs, by shape ----------------------------------------------------------------------------------------
def run_inventory_example(machine, emulator, tmp_path, example):
    platform = example.platform
    data, extra_vars = published.substitute(example.data, connections(emulator), platform)
    assert not extra_vars, 'an inventory configuration is not templated: %s' % extra_vars
    path = write_yaml(tmp_path / published.inventory_file_name(example), data)
    proc = machine.run('ansible-inventory', '-i', path, '--list', cwd=tmp_path, env=published.env_named(example, connections(emulator)[platform]))
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-4000:]
    assert_no_secret(proc)
    listing = plain(json.loads(proc.stdout))
    wanted = expected_hosts(emulator, platform, data)
    assert wanted
    assert 'fleetota_%s' % platform in listing, proc.stderr[-4000:]
    assert set(listing['fleetota_%s' % platform]['hosts']) == wanted
    return listing


def run_playbook_example(machine, emulator, tmp_path, example):
    platform = example.platform
    plays, extra_vars = published.substitute(example.data, connections(emulator), platform)
    env = None
    if not any(isinstance(value, dict) and 'platform' in value for value in published._walk(plays)):  # pylint: disable=protected-access
        env = fleetota_env(connections(emulator)[platform])  # the docs' other way: the FLEETOTA_* environment
    if 'firmware_rollout' in example.text:
        extra_vars.update(ROLE_EXTRA_VARS)
    return run_playbook(machine, tmp_path, emulator, plays, group_platforms(example.text) | {platform}, extra_vars, env)


def run_tasks_example(machine, emulator, tmp_path, tasks, platform, text):
    plays = task_plays(tasks, platform, emulator)
    plays, extra_vars = published.substitute(plays, connections(emulator), platform)
    platforms = group_platforms(text) | set(play['module_defaults']['group/fleetota.cloud.firmware']['platform'] for play in plays)
    return run_playbook(machine, tmp_path, emulator, plays, platforms, extra_vars)


def run_play_keywords_example(machine, emulator, tmp_path, example):
    platform = example.platform
    keywords, extra_vars = published.substitute(example.data, connections(emulator), platform)
    play = dict({'name': 'play keywords of the example', 'hosts': 'fleetota_%s' % platform, 'gather_facts': False}, **keywords)
    play['tasks'] = [{'name': 'Read the play devices', 'run_once': True, 'fleetota.cloud.firmware_info': {
        'devices': "{{ ansible_play_hosts | map('extract', hostvars, 'fleetota_device_id') | list }}"}}]
    return run_playbook(machine, tmp_path, emulator, [play], {platform}, extra_vars)


def check_awx_setup_vars(machine, example):
    """A variables file for playbooks/awx_setup.yml needs a controller to run: check it against what consumes it, the
    installed collection's playbook (its variables) and the chosen platform's credential type (its inputs)."""
    playbooks = machine.collections / 'ansible_collections' / 'fleetota' / 'cloud' / 'playbooks'
    play = yaml.safe_load((playbooks / 'awx_setup.yml').read_text())[0]
    unknown = set(example.data) - set(play['vars'])
    assert not unknown, '%s: not variables of awx_setup.yml: %s' % (example.id, sorted(unknown))
    platform = example.data['fleetota_awx_platform']
    assert platform in published.PLATFORMS, platform
    credential_type = yaml.safe_load((playbooks / 'files' / 'awx' / 'credential_types' / ('%s.yml' % platform)).read_text())
    fields = set(field['id'] for field in credential_type['inputs']['fields'])
    inputs = set(example.data['fleetota_awx_credential_inputs'])
    assert inputs <= fields, '%s: inputs %s are not fields of the %s credential type' % (example.id, sorted(inputs - fields), platform)
    missing = set(credential_type['inputs'].get('required', [])) - inputs
    assert not missing, '%s: the %s credential type requires %s' % (example.id, platform, sorted(missing))
    return None


def run_example(machine, emulator, tmp_path, example):
    kind = example.shape
    if kind == 'inventory':
        return run_inventory_example(machine, emulator, tmp_path, example)
    if kind == 'playbook':
        proc = run_playbook_example(machine, emulator, tmp_path, example)
    elif kind == 'tasks':
        proc = run_tasks_example(machine, emulator, tmp_path, example.data, example.platform, example.text)
    elif kind == 'play_keywords':
        proc = run_play_keywords_example(machine, emulator, tmp_path, example)
    elif kind == 'awx_setup_vars':
        return check_awx_setup_vars(machine, example)
    else:
        raise AssertionError('%s: an example of no runnable shape; fix it or list it in NOT_RUNNABLE with the reason' % example.id)
    assert proc.returncode == 0, proc.stdout[-6000:] + proc.stderr[-4000:]
    assert 'PLAY RECAP' in proc.stdout
    return proc


# -- the test cases ----------------------------------------------------------------------------------------------------
def test_every_source_publishes_examples():
    """A reorganisation of the docs that hides their examples from this test fails here."""
    for source, examples in MARKDOWN.items():
        if source in NO_YAML:
            assert not examples, '%s now has YAML examples: remove it from NO_YAML' % source
        else:
            assert examples, '%s: no yaml example found (```yaml, or .. code-block:: yaml in a guide)' % source
    for source, examples in MODULES.items():
        assert examples, '%s: no task in EXAMPLES' % source
    assert len(INVENTORY) > 1
    for example in INVENTORY:
        assert example.shape == 'inventory', example.id


MARKDOWN_CASES = [example for examples in MARKDOWN.values() for example in examples]


@pytest.mark.parametrize('example', MARKDOWN_CASES, ids=[example.id for example in MARKDOWN_CASES])
def test_markdown_example(machine, fleet, tmp_path, example):
    run_example(machine, fleet, tmp_path, example)


@pytest.mark.parametrize('example', INVENTORY, ids=[example.id for example in INVENTORY])
def test_inventory_plugin_example(machine, fleet, tmp_path, example):
    run_example(machine, fleet, tmp_path, example)


MODULE_CASES = [example for examples in MODULES.values() for example in examples]


@pytest.mark.parametrize('example', MODULE_CASES, ids=[example.id for example in MODULE_CASES])
def test_module_example(machine, fleet, tmp_path_factory, module_runs, example):
    """All tasks of a module's EXAMPLES run in one playbook (once, by the first of its cases); each case checks its task."""
    if example.source not in module_runs:
        tasks = [item.data for item in MODULES[example.source]]
        text = ''.join(item.text for item in MODULES[example.source])
        module_runs[example.source] = run_tasks_example(machine, fleet, tmp_path_factory.mktemp('module'), tasks, 'magewell', text)
    proc = module_runs[example.source]
    results = task_results(proc.stdout).get(example.data['name'])
    assert results is not None, 'task %r did not run:\n%s' % (example.data['name'], proc.stdout[-6000:] + proc.stderr[-3000:])
    assert results and all(line.startswith(('ok:', 'changed:')) for line in results), '\n'.join(results) + '\n' + proc.stdout[-6000:]


def published_inventory(name):
    """The published inventory example that names its file `name`."""
    for example in MARKDOWN_CASES + INVENTORY:
        if example.shape == 'inventory' and published.inventory_file_name(example) == name:
            return example
    raise AssertionError('no published inventory example is named %s' % name)


@pytest.mark.parametrize('example', COMMANDS, ids=[example.id for example in COMMANDS])
def test_command_example(machine, fleet, tmp_path, example):
    """ansible-playbook / ansible-inventory lines of the docs, with the inventory file the docs publish under that name."""
    if example.id in NOT_RUNNABLE:
        pytest.skip(NOT_RUNNABLE[example.id])
    words = list(example.data)
    inventory = published_inventory(words[words.index('-i') + 1])
    env = published.env_named(inventory, connections(fleet)[inventory.platform])
    platform = example.env.get('FLEETOTA_PLATFORM', inventory.platform)
    for name, value in example.env.items():  # the connection the docs export, with the user's values
        key = name[len('FLEETOTA_'):].lower()
        env[name] = str(connections(fleet)[platform][key]) if name.startswith('FLEETOTA_') and key in published.CONNECTION_KEYS else value
    data = published.substitute(inventory.data, connections(fleet), inventory.platform)[0]
    write_yaml(tmp_path / published.inventory_file_name(inventory), data)
    for index, word in enumerate(words):
        key = word.split('=', 1)[0]
        if index and words[index - 1] == '-e' and key in USER_PATHS:
            (tmp_path / key).mkdir()  # a folder of the user's, as /srv/reports is theirs
            words[index] = '%s=%s' % (key, tmp_path / key)
    if 'fleetota.cloud.rollout' in words:
        words += ['-e', json.dumps(ROLE_EXTRA_VARS)]
    proc = machine.run(*words, cwd=tmp_path, env=env, timeout=PLAYBOOK_TIMEOUT)
    assert proc.returncode == 0, proc.stdout[-6000:] + proc.stderr[-4000:]
    assert_no_secret(proc)
    if 'fleetota.cloud.inventory_report' in words:
        assert (tmp_path / 'report_dir' / 'fleet-report.json').exists()


def test_every_command_example_is_known():
    """The commands of the docs are found (a reorganisation that hides them fails here), and NOT_RUNNABLE names only
    examples that exist."""
    assert len(COMMANDS) > 3
    ids = set(example.id for example in COMMANDS + MARKDOWN_CASES)
    assert set(NOT_RUNNABLE) <= ids, set(NOT_RUNNABLE) - ids
