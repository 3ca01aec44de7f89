# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""AWX / Automation Controller without a controller: credential types, ansible-runner, job slicing."""

import os
import pathlib
import signal
import sys
import time

import pytest
import yaml

import awx_runner  # pylint: disable=import-error
from conftest import CONNECTIONS, collections_path  # pylint: disable=import-error

# Survey defaults of the rollout job template, as AWX would pass them (text answers).
SURVEY = yaml.safe_load((awx_runner.REPO / 'playbooks' / 'files' / 'awx' / 'rollout_survey.yml').read_text())
SURVEY_ANSWERS = dict((question['variable'], question['default']) for question in SURVEY['spec'])


def client_module():
    from ansible_collections.fleetota.cloud.plugins.module_utils import _connection  # pylint: disable=import-outside-toplevel
    return _connection


def magewell_env(emulator, files_dir):
    inputs = dict(CONNECTIONS['magewell'], endpoint=emulator.url)
    return awx_runner.injected_env('magewell', inputs, files_dir=files_dir)


@pytest.mark.parametrize('platform', ['magewell', 'tuya', 'tuya_iotcore', 'enos'])
def test_credential_type_injects_what_the_platform_needs(platform, tmp_path):
    client = client_module()
    assert set(client.SUPPORTED_PLATFORMS) <= set(path.stem for path in awx_runner.CREDENTIAL_TYPES.glob('*.yml'))
    kind = awx_runner.credential_type(platform)
    fields = dict((field['id'], field) for field in kind['inputs']['fields'])
    if platform not in client.REQUIRED_CREDENTIALS:
        pytest.skip('platform %s is not in this build of the client yet' % platform)
    needed = ('endpoint',) + tuple(client.REQUIRED_CREDENTIALS[platform])
    assert set(needed) <= set(kind['inputs']['required'])
    for name, field in fields.items():
        secret = name in client.CONNECTION_OPTIONS and client.CONNECTION_OPTIONS[name][2]
        assert bool(field.get('secret')) == secret, name  # secrets are masked in AWX, nothing else is
    expected = dict((client.CONNECTION_OPTIONS[name][1], name) for name in needed)
    expected['FLEETOTA_PLATFORM'] = None
    expected.update({'FLEETOTA_CA_PATH': None, 'FLEETOTA_VALIDATE_CERTS': None})
    assert set(kind['injectors']['env']) == set(expected)
    inputs = dict((name, 'value-of-%s' % name) for name in fields if fields[name]['type'] == 'string')
    env = awx_runner.injected_env(platform, inputs, files_dir=tmp_path)
    assert env['FLEETOTA_PLATFORM'] == platform
    for variable, name in expected.items():
        if name:
            assert env[variable] == 'value-of-%s' % name
    # The CA bundle comes as a file; verification stays on unless the box is ticked (AWX makes an unset boolean false).
    assert fields['ca_bundle'].get('multiline') is True and not fields['ca_bundle'].get('secret')
    assert open(env['FLEETOTA_CA_PATH'], encoding='utf-8').read() == 'value-of-ca_bundle'
    assert env['FLEETOTA_VALIDATE_CERTS'] == 'true'
    assert fields['disable_certificate_validation']['type'] == 'boolean'
    ticked = awx_runner.injected_env(platform, dict(inputs, disable_certificate_validation=True, ca_bundle=''), files_dir=tmp_path)
    assert ticked['FLEETOTA_VALIDATE_CERTS'] == 'false' and ticked['FLEETOTA_CA_PATH'] == ''
    with pytest.raises(ValueError, match='endpoint'):
        awx_runner.injected_env(platform, {})


def test_survey_answers_are_valid_role_input():
    assert SURVEY_ANSWERS['firmware_rollout_waves'] == '1,10%,50%,100%'
    assert set(SURVEY_ANSWERS) <= set(yaml.safe_load((awx_runner.REPO / 'roles' / 'firmware_rollout' / 'meta' / 'argument_specs.yml').read_text())
                                      ['argument_specs']['main']['options'])


def test_rollout_through_ansible_runner_with_only_the_injected_environment(emulator, tmp_path):
    credential_env = magewell_env(emulator, tmp_path)
    inventory = awx_runner.inventory_update(tmp_path, collections_path(), credential_env)
    assert set(inventory) == set(device['id'] for device in emulator.devices())
    # the job runs on the online devices (a host filter, or online_only in the source)
    hostvars = dict((host, values) for host, values in inventory.items() if values['fleetota_online'])
    outdated = set(emulator.scenarios()['outdated_online_devices'])

    dry = awx_runner.Job(tmp_path / 'dry', collections_path(), credential_env, hostvars, SURVEY_ANSWERS, 'dry', inventory.groups).run(check=True)
    assert dry.status == 'successful', dry.stdout()[-3000:]
    assert emulator.writes() == {}
    dry_outcomes = dry.host_outcomes()
    assert set(host for host, (_event, changed, _outcome) in dry_outcomes.items() if changed) == outdated

    job = awx_runner.Job(tmp_path / 'job', collections_path(), credential_env, hostvars, SURVEY_ANSWERS, groups=inventory.groups).run()
    outcomes = job.host_outcomes()
    assert set(outcomes) == set(hostvars)  # every host has its event
    # changed only for devices that were upgraded, on their own host, and on no other event
    assert job.changed_hosts() == outdated
    for host, (event, changed, result) in outcomes.items():
        if host in outdated:
            assert (event, changed, result['status']) == ('runner_on_ok', True, 'succeeded'), result
            assert emulator.device(host)['firmware_version'] == result['target_version']
        else:
            assert event == 'runner_on_ok' and not changed, result
    assert (job.status, job.rc) == ('successful', 0)
    assert CONNECTIONS['magewell']['password'] not in job.stdout()


def test_sliced_rollout_upgrades_every_device_once(emulator, tmp_path):
    """AWX job slicing: K=4 runner processes at once, each with its slice, against one cloud."""
    credential_env = magewell_env(emulator, tmp_path)
    inventory = awx_runner.inventory_update(tmp_path, collections_path(), credential_env)
    online = dict((host, values) for host, values in inventory.items() if values['fleetota_online'])
    outdated = set(emulator.scenarios()['outdated_online_devices'])
    jobs = [awx_runner.Job(tmp_path / ('slice%d' % number), collections_path(), credential_env, hosts, SURVEY_ANSWERS, 'slice%d' % number,
                           inventory.groups)
            for number, hosts in enumerate(awx_runner.slices(online, 4))]
    assert sorted(host for job in jobs for host in job.hosts) == sorted(online)
    for job in jobs:
        job.start()
    for job in jobs:
        job.wait()
    for job in jobs:
        assert job.status == 'successful', job.stdout()[-3000:]
        assert set(job.host_outcomes()) == set(job.hosts)  # results complete, per slice
    devices = dict((device['id'], device) for device in emulator.devices())
    for host in online:
        assert devices[host]['upgrade_count'] == (1 if host in outdated else 0), devices[host]
    assert set().union(*(job.changed_hosts() for job in jobs)) == outdated


# A module that waits as firmware_upgrade does and, on SIGTERM, does what firmware_upgrade does: its stop work (here a
# file), then its result. It says when it is waiting, so the test signals it mid-wait and never before.
WAITING_MODULE = '''#!/usr/bin/python
import pathlib, signal, time
from ansible.module_utils.basic import AnsibleModule

def main():
    module = AnsibleModule(argument_spec={'marks': {'type': 'path', 'required': True}})
    marks = pathlib.Path(module.params['marks'])
    received = []
    signal.signal(signal.SIGTERM, lambda signum, frame: received.append(signum))
    (marks / 'waiting').write_text('yes')
    deadline = time.monotonic() + 120
    while not received and time.monotonic() < deadline:
        time.sleep(0.1)
    if received:
        time.sleep(1)  # the stop work takes a while: the job must not end before it is done
        (marks / 'canceled').write_text('yes')
        module.fail_json(msg='interrupted by SIGTERM: pending tasks canceled', interrupted=True)
    module.exit_json(changed=False, msg='nobody stopped me')

main()
'''

WAITING_PLAY = [{
    'name': 'wait as a firmware module does, then what the role does after it',
    'hosts': 'localhost', 'gather_facts': False, 'connection': 'local',
    'tasks': [
        {'name': 'wait', 'waiting': {'marks': '{{ marks }}'}, 'register': 'waited', 'ignore_errors': True},
        {'name': 'after the wait', 'ansible.builtin.debug': {'msg': "stop path ran: {{ lookup('ansible.builtin.env', "
                                                                    "'FLEETOTA_ROLLOUT_INTERRUPTED') }} {{ waited.msg }}"}},
    ],
}]


def waiting_job(tmp_path, name, envvars=None):
    marks = tmp_path / ('%s-marks' % name)
    marks.mkdir()
    job = awx_runner.Job(tmp_path / name, collections_path(), {}, {'localhost': {'ansible_python_interpreter': sys.executable}},
                         {'marks': str(marks)}, name, envvars=envvars, playbook='waiting.yml')
    (job.root / 'project' / 'library').mkdir()
    (job.root / 'project' / 'library' / 'waiting.py').write_text(WAITING_MODULE)
    (job.root / 'project' / 'waiting.yml').write_text(yaml.safe_dump(WAITING_PLAY))
    return job, marks


def until(done, alive, why):
    """Poll for a state for as long as what brings it about still runs: no clock, so a busy machine cannot fail it."""
    while not done():
        if not alive():
            assert done(), why()
            return
        time.sleep(0.2)


def wait_for(job, path):
    until(path.exists, job.thread.is_alive, lambda: '%s never appeared: %s' % (path, job.stdout()[-3000:]))


def wait_until_upgrading(job, emulator, platform):
    until(lambda: any(device['upgrading'] for device in emulator.devices(platform)), job.thread.is_alive, lambda: job.stdout()[-3000:])


def task_events(job, task):
    return [event['event'] for event in job.events()
            if (event.get('event_data') or {}).get('task') == task and event['event'] in ('runner_on_ok', 'runner_on_failed')]


def test_sigterm_to_the_job_lets_the_running_module_stop_and_the_play_finish(tmp_path):
    """SIGTERM to ansible-playbook, as a graceful cancel sends it: with the project's ansible.cfg (the
    fleetota.cloud.graceful_stop callback) the module receives it, finishes its stop work and returns its result, and the
    play goes on to its end, so the role's stop path runs and every host is reported before the job ends."""
    job, marks = waiting_job(tmp_path, 'graceful')
    job.start()
    wait_for(job, marks / 'waiting')
    job.terminate()
    job.wait(300)
    assert (marks / 'canceled').exists()
    assert task_events(job, 'wait') == ['runner_on_failed'], job.stdout()[-3000:]
    assert task_events(job, 'after the wait') == ['runner_on_ok'], job.stdout()[-3000:]
    assert 'stop path ran: SIGTERM interrupted by SIGTERM: pending tasks canceled' in job.stdout()
    assert 'SIGTERM received: 1 running module(s) told to stop' in job.stdout()


def test_without_the_callback_sigterm_ends_the_job_at_once_and_loses_the_module_s_result(tmp_path):
    """ansible-core's own answer to SIGTERM, for contrast (and why the project enables the callback): the module is signaled
    too, but its worker and ansible-playbook die at once: no result, and nothing after it runs."""
    (tmp_path / 'ansible.cfg').write_text('[defaults]\n')   # instead of the project's
    job, marks = waiting_job(tmp_path, 'plain', envvars={'ANSIBLE_CONFIG': str(tmp_path / 'ansible.cfg')})
    job.start()
    wait_for(job, marks / 'waiting')
    job.terminate()
    job.wait(300)
    assert task_events(job, 'wait') == [] and task_events(job, 'after the wait') == []
    assert job.status == 'failed'


@pytest.mark.parametrize('platform', ['enos', 'tuya_iotcore'])
def test_canceling_the_job_cancels_the_tasks_queued_for_offline_devices(emulator, tmp_path, platform):
    """The operator cancels the rollout job while a wave waits for slow upgrades, with devices offline queued at the vendor
    (firmware_rollout_offline: queue). SIGTERM to ansible-playbook (see docs/awx.md for why not ansible-runner's own cancel):
    the wave's module cancels what is pending, the role cancels the rest and reports every host, and an hour later, the
    devices back online, none of the queued devices receives the firmware."""
    emulator.config(upgrade_seconds=300)   # the wave is still waiting when the job is canceled
    credential_env = awx_runner.injected_env(platform, dict(CONNECTIONS[platform], endpoint=emulator.url), files_dir=tmp_path)
    inventory = awx_runner.inventory_update(tmp_path, collections_path(), credential_env)
    offline = sorted(device['id'] for device in emulator.devices(platform) if not device['online'])
    assert offline and set(offline) <= set(inventory)
    extravars = dict(SURVEY_ANSWERS, firmware_rollout_waves='100%', firmware_rollout_offline='queue', firmware_rollout_poll_interval=0.5)
    before = dict((device['id'], device) for device in emulator.devices(platform))
    job = awx_runner.Job(tmp_path / 'job', collections_path(), credential_env, dict(inventory), extravars, groups=inventory.groups).start()
    wait_until_upgrading(job, emulator, platform)
    job.terminate()
    job.wait(600)
    outcomes = job.host_outcomes()
    assert set(outcomes) == set(inventory), job.stdout()[-3000:]    # the job ended after every host was reported
    queued = [host for host in offline if before[host]['firmware_version'] != outcomes[host][2].get('target_version')]
    assert queued
    for host in queued:
        assert outcomes[host][2]['status'] == 'canceled', outcomes[host]
    # the wave's firmware_upgrade got the signal, canceled what was pending and said so; the role stopped on it
    assert 'interrupted by SIGTERM' in job.stdout()
    emulator.control('POST', '/clock', {'advance': 3600})
    emulator.set_devices(offline, platform=platform, online=True)
    emulator.control('POST', '/clock', {'advance': 3600})
    for host in queued:
        device = emulator.device(host, platform)
        assert device['firmware_version'] == before[host]['firmware_version'], device
        assert device['upgrade_count'] == before[host]['upgrade_count'], device


def job_processes(marker):
    """pid -> command line of the live processes whose command line holds `marker` (a path of the job's own)."""
    found = {}
    for entry in pathlib.Path('/proc').iterdir():
        if entry.name.isdigit():
            try:
                words = (entry / 'cmdline').read_bytes().split(b'\0')
            except OSError:
                continue
            command = ' '.join(word.decode('utf-8', 'replace') for word in words)
            if marker in command:
                found[int(entry.name)] = command
    return found


def enos_tasks(emulator):
    counts = {}
    for job in emulator.control('GET', '/enos/jobs'):
        for status, count in job['tasks'].items():
            counts[status] = counts.get(status, 0) + count
    return counts


@pytest.mark.skipif(not pathlib.Path('/proc/self/stat').exists(), reason='the controller watch reads /proc (Linux)')
def test_ansible_runner_s_own_cancel_kills_ansible_playbook_and_the_module_still_cancels_what_is_queued(emulator, tmp_path):
    """AWX cancels a job through ansible-runner: its cancel_callback answers true and ansible-runner sends SIGKILL to
    ansible-playbook's process group, which neither ansible-core's workers nor the modules they run receive. Here without the
    graceful_stop callback, during a wave with devices offline queued at EnOS (firmware_rollout_offline: queue) and slow
    upgrades: the waiting firmware_upgrade notices that ansible-playbook is gone, cancels the queued tasks and exits; an hour
    later, the devices back online, none got an upgrade it was not already getting, and no process of the job remains."""
    platform = 'enos'
    emulator.config(upgrade_seconds=300)   # the wave is still waiting when the job is canceled
    (tmp_path / 'ansible.cfg').write_text('[defaults]\n')   # instead of the project's: no graceful_stop callback
    remote_tmp = tmp_path / 'remote-tmp'                    # the modules' files, so their processes can be told apart
    credential_env = awx_runner.injected_env(platform, dict(CONNECTIONS[platform], endpoint=emulator.url), files_dir=tmp_path)
    inventory = awx_runner.inventory_update(tmp_path, collections_path(), credential_env)
    offline = sorted(device['id'] for device in emulator.devices(platform) if not device['online'])
    assert offline and set(offline) <= set(inventory)
    extravars = dict(SURVEY_ANSWERS, firmware_rollout_waves='100%', firmware_rollout_offline='queue', firmware_rollout_poll_interval=30)
    before = dict((device['id'], device) for device in emulator.devices(platform))
    job = awx_runner.Job(tmp_path / 'job', collections_path(), credential_env, dict(inventory), extravars, groups=inventory.groups,
                         envvars={'ANSIBLE_CONFIG': str(tmp_path / 'ansible.cfg'), 'ANSIBLE_REMOTE_TMP': str(remote_tmp)}).start()
    try:
        wait_until_upgrading(job, emulator, platform)
        assert job_processes(str(remote_tmp)), 'no module of the job is running'
        queued = enos_tasks(emulator).get('init', 0)
        assert queued > 0, emulator.control('GET', '/enos/jobs')    # the offline devices' tasks wait at EnOS for them to reconnect
        job.cancel()
        job.wait(120)
        assert job.status == 'canceled'
        # A state wait, not a timing: the module notices that ansible-playbook is gone, cancels, and exits.
        until(lambda: not enos_tasks(emulator).get('init', 0), lambda: job_processes(str(remote_tmp)),
              lambda: 'the queued tasks were never canceled: %s' % emulator.control('GET', '/enos/jobs'))
        assert enos_tasks(emulator).get('canceled', 0) >= queued
        # then the module exits, and its worker with it: nothing of the job is left (the worker's command line holds the job's paths)
        while job_processes(str(tmp_path)):
            time.sleep(0.5)
    finally:
        for pid in job_processes(str(tmp_path)):     # a failed test leaves no module waiting for an hour
            os.kill(pid, signal.SIGKILL)
    getting = dict((device['id'], device['upgrade_count']) for device in emulator.devices(platform))
    emulator.control('POST', '/clock', {'advance': 3600})
    emulator.set_devices(offline, platform=platform, online=True)
    emulator.control('POST', '/clock', {'advance': 3600})
    for device in emulator.devices(platform):
        assert device['upgrade_count'] == getting[device['id']], device          # no upgrade started after the cancel
        assert device['upgrade_count'] <= before[device['id']]['upgrade_count'] + 1, device
    for host in offline:
        device = emulator.device(host, platform)
        assert (device['firmware_version'], device['upgrade_count']) == (before[host]['firmware_version'], before[host]['upgrade_count']), device
