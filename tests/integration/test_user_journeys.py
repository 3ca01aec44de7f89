# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A new user's first steps, run the way they would run them (see userland.py): Ansible by full path with
its venv off PATH, no ANSIBLE_* or FLEETOTA_*, no interpreter pinned, the collection from a fresh tarball,
connection options in play-level module_defaults, the role under roles:, include_role and import_role."""

import json

import pytest
import yaml

import userland  # pylint: disable=import-error
from conftest import PASSWORD  # pylint: disable=import-error


@pytest.fixture(scope='module')
def machine(tmp_path_factory):
    root = tmp_path_factory.mktemp('user')
    return userland.UserMachine(root, userland.build_tarball(root / 'build'))


def write_yaml(path, data):
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def first_inventory(tmp_path, emulator, **options):
    """The README's first inventory, with the user's endpoint and credentials."""
    return write_yaml(tmp_path / 'fleet.fleetota.yml', dict({
        'plugin': 'fleetota.cloud.devices', 'platform': 'magewell', 'endpoint': emulator.url, 'username': 'Admin', 'password': PASSWORD,
    }, **options))


def connection(emulator):
    return {'platform': 'magewell', 'endpoint': emulator.url, 'username': 'Admin', 'password': PASSWORD}


def outdated(emulator):
    return set(emulator.scenarios()['outdated_online_devices'])


def test_first_inventory_lists_every_device(machine, emulator, tmp_path):
    inventory = first_inventory(tmp_path, emulator)
    proc = machine.run('ansible-inventory', '-i', inventory, '--list', cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    listing = json.loads(proc.stdout)
    assert sorted(listing['fleetota_magewell']['hosts']) == sorted(device['id'] for device in emulator.devices())
    assert PASSWORD not in proc.stdout + proc.stderr


def test_first_firmware_info_over_the_inventory_group(machine, emulator, tmp_path):
    """Fails where interpreter discovery picks a python3 without requests, unless the inventory says which Python."""
    inventory = first_inventory(tmp_path, emulator)
    result = tmp_path / 'info.json'
    play = write_yaml(tmp_path / 'info.yml', [{
        'name': 'What do my encoders run?',
        'hosts': 'fleetota_magewell',
        'gather_facts': False,
        'module_defaults': {'group/fleetota.cloud.firmware': connection(emulator)},
        'tasks': [
            {'name': 'Read every device', 'run_once': True, 'register': 'info',
             'fleetota.cloud.firmware_info': {'devices': "{{ ansible_play_hosts | map('extract', hostvars, 'fleetota_device_id') | list }}"}},
            {'name': 'Keep it', 'run_once': True, 'ansible.builtin.copy': {'dest': str(result), 'content': '{{ info | to_json }}', 'mode': '0600'}},
        ],
    }])
    proc = machine.run('ansible-playbook', '-i', inventory, play, cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-4000:]
    info = json.loads(result.read_text())
    assert len(info['devices']) == len(emulator.devices())
    assert PASSWORD not in proc.stdout + proc.stderr


def test_a_users_own_interpreter_wins(machine, emulator, tmp_path):
    """group_vars of the user's own beat the inventory's default: the module runs with the interpreter named there."""
    inventory = first_inventory(tmp_path, emulator)
    (tmp_path / 'group_vars').mkdir()
    write_yaml(tmp_path / 'group_vars' / 'fleetota_magewell.yml', {'ansible_python_interpreter': '/nonexistent/python3-of-the-user'})
    play = write_yaml(tmp_path / 'info.yml', [{
        'name': 'Read', 'hosts': 'fleetota_magewell', 'gather_facts': False,
        'module_defaults': {'group/fleetota.cloud.firmware': connection(emulator)},
        'tasks': [{'name': 'Read', 'run_once': True, 'fleetota.cloud.firmware_info': {}}],
    }])
    proc = machine.run('ansible-playbook', '-i', inventory, play, cwd=tmp_path)
    assert proc.returncode != 0
    assert '/nonexistent/python3-of-the-user' in proc.stdout + proc.stderr


def role_play(form, emulator, role_vars):
    """The role as a user writes it, with the connection in play-level module_defaults."""
    play = {
        'name': 'Roll the newest firmware out',
        'hosts': 'fleetota_magewell',
        'gather_facts': False,
        'module_defaults': {'group/fleetota.cloud.firmware': connection(emulator)},
    }
    if form == 'roles':
        play['roles'] = [{'role': 'fleetota.cloud.firmware_rollout', 'vars': role_vars}]
    else:
        module = 'ansible.builtin.include_role' if form == 'include_role' else 'ansible.builtin.import_role'
        play['tasks'] = [{'name': 'Roll out', module: {'name': 'fleetota.cloud.firmware_rollout'}, 'vars': role_vars}]
    return [play]


ROLE_VARS = {'firmware_rollout_waves': [1, '100%'], 'firmware_rollout_poll_interval': 0.3}


@pytest.mark.parametrize('form', ['roles', 'include_role', 'import_role'])
def test_the_role_under_play_module_defaults(machine, emulator, tmp_path, form):
    todo = outdated(emulator)
    assert todo
    online = set(device['id'] for device in emulator.devices() if device['online'])
    inventory = first_inventory(tmp_path, emulator, online_only=True)
    play = write_yaml(tmp_path / 'rollout.yml', role_play(form, emulator, ROLE_VARS))

    dry = machine.run('ansible-playbook', '-i', inventory, play, '--check', cwd=tmp_path)
    assert dry.returncode == 0, dry.stdout[-4000:] + dry.stderr[-4000:]
    assert emulator.writes() == {}
    assert set(host for host, counts in userland.recap(dry.stdout).items() if counts['changed']) == todo

    real = machine.run('ansible-playbook', '-i', inventory, play, cwd=tmp_path)
    assert real.returncode == 0, real.stdout[-4000:] + real.stderr[-4000:]
    hosts = userland.recap(real.stdout)
    assert set(hosts) == online
    assert set(host for host, counts in hosts.items() if counts['changed']) == todo
    for device in emulator.devices():
        if device['id'] in online:
            assert device['upgrade_count'] == (1 if device['id'] in todo else 0), device
    assert PASSWORD not in real.stdout + real.stderr

    again = machine.run('ansible-playbook', '-i', inventory, play, cwd=tmp_path)
    assert again.returncode == 0, again.stdout[-4000:] + again.stderr[-4000:]
    assert not any(counts['changed'] for counts in userland.recap(again.stdout).values())


def test_role_connection_variable_overrides_module_defaults_key_by_key(machine, emulator, tmp_path):
    """A wrong password in module_defaults, the right one in firmware_rollout_connection: the rest comes from module_defaults."""
    inventory = first_inventory(tmp_path, emulator, online_only=True)
    plays = role_play('roles', emulator, dict(ROLE_VARS, firmware_rollout_connection={'password': PASSWORD}))
    plays[0]['module_defaults']['group/fleetota.cloud.firmware']['password'] = 'not-the-password'
    play = write_yaml(tmp_path / 'rollout.yml', plays)
    proc = machine.run('ansible-playbook', '-i', inventory, play, '--check', cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-4000:]
    assert set(host for host, counts in userland.recap(proc.stdout).items() if counts['changed']) == outdated(emulator)


def test_awx_project_as_a_project_sync_gets_it(machine, emulator, tmp_path):
    """The AWX project is what git holds (a project sync clones it): its collections/requirements.yml names this
    collection, AWX installs it into the project, and the job runs with the synced inventory's hosts and groups."""
    import awx_runner  # pylint: disable=import-error,import-outside-toplevel
    from ansible.galaxy.dependency_resolution.versioning import meets_requirements  # pylint: disable=import-outside-toplevel

    project = tmp_path / 'synced'
    files = userland.copy_tree_from_git('extensions/awx/project', project)
    assert 'extensions/awx/project/collections/requirements.yml' in files
    wanted = [entry for entry in yaml.safe_load((project / 'collections' / 'requirements.yml').read_text())['collections']
              if entry['name'] == 'fleetota.cloud']
    version = yaml.safe_load((userland.REPO / 'galaxy.yml').read_text())['version']
    assert wanted and meets_requirements(version, wanted[0].get('version', '*'))
    # The project sync installs it into the project's collections folder (the tarball stands in for Galaxy).
    collections = project / 'collections'
    machine.run('ansible-galaxy', 'collection', 'install', '--force', machine.tarball, '-p', collections, check=True)

    credential_env = awx_runner.injected_env('magewell', connection(emulator))
    inventory = awx_runner.inventory_update(tmp_path, str(collections), credential_env)
    online = dict((host, values) for host, values in inventory.items() if values['fleetota_online'])
    todo = outdated(emulator)
    # The job's environment: the user's PATH (Ansible's venv not on it), nothing pinned.
    job = awx_runner.Job(tmp_path / 'job', str(collections), credential_env, online, {'firmware_rollout_poll_interval': 0.3}, 'job',
                         inventory.groups, envvars={'PATH': machine.path, 'HOME': str(machine.home)}).run()
    assert (job.status, job.rc) == ('successful', 0), job.stdout()[-4000:]
    assert job.changed_hosts() == todo
    assert PASSWORD not in job.stdout()
