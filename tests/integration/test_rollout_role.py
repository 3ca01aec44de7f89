# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The firmware_rollout role through the collection's rollout playbook, against the emulator."""

import json
import pathlib
import subprocess

import yaml

from conftest import PASSWORD, ansible_env, inventory_file  # pylint: disable=import-error

UPGRADE_START = 'POST /sc_cloud/upgrade/start'

# Imports the collection's playbook, then writes every host's outcome and the summary to a file.
RESULTS_PLAY = [
    {'ansible.builtin.import_playbook': 'fleetota.cloud.rollout'},
    {
        'name': 'collect the outcomes',
        'hosts': 'localhost',
        'gather_facts': False,
        'connection': 'local',
        'tasks': [{
            'name': 'write them',
            'check_mode': False,
            'ansible.builtin.copy': {
                'dest': '{{ results_file }}',
                'mode': '0600',
                'content': "{%- set out = {'hosts': {}, 'summary': None, 'top_level_sizes': {}} -%}"
                           "{%- for host in groups['all'] -%}"
                           "{%- set _ = out.hosts.update({host: hostvars[host].firmware_rollout_result | default(None)}) -%}"
                           "{%- if hostvars[host].firmware_rollout_summary is defined -%}"
                           "{%- set _ = out.update({'summary': hostvars[host].firmware_rollout_summary}) -%}{%- endif -%}"
                           "{%- endfor -%}"
                           # How many entries each collection the role left in a host's top-level variables holds.
                           "{%- set first = hostvars[groups['all'][0]] -%}"
                           "{%- for name in first if 'firmware_rollout' in name -%}"
                           "{%- if first[name] is iterable and first[name] is not string -%}"
                           "{%- set _ = out.top_level_sizes.update({name: first[name] | length}) -%}{%- endif -%}"
                           "{%- endfor -%}{{ out | to_json }}",
            },
        }],
    },
]


class Rollout:
    def __init__(self, proc, data):
        self.rc = proc.returncode
        self.output = proc.stdout + proc.stderr
        self.stdout = proc.stdout
        self.hosts = data['hosts'] if data else {}
        self.summary = data['summary'] if data else None
        self.top_level_sizes = data['top_level_sizes'] if data else {}

    def recap(self):
        """host -> {'ok': n, 'changed': n, 'failed': n, ...} from the PLAY RECAP."""
        recap = {}
        for line in self.stdout.split('PLAY RECAP')[-1].splitlines():
            parts = line.split()
            if len(parts) > 2 and parts[1] == ':':
                recap[parts[0]] = dict((key, int(value)) for key, value in (part.split('=') for part in parts[2:]))
        return recap

    def status(self, host):
        return (self.hosts.get(host) or {}).get('status')


def run_rollout(emulator, tmp_path, extra_vars=None, check=False, inventory=None, env=None, args=()):
    if inventory is None:
        inventory = inventory_file(tmp_path, platform='magewell', endpoint=emulator.url, username='Admin', online_only=True)
    play = tmp_path / 'rollout.yml'
    play.write_text(json.dumps(RESULTS_PLAY))
    results = tmp_path / 'results.json'
    if results.exists():
        results.unlink()
    variables = {'firmware_rollout_poll_interval': 0.3, 'results_file': str(results)}
    variables.update(extra_vars or {})
    command = ['ansible-playbook', '-i', str(inventory), str(play), '-e', json.dumps(variables)] + list(args)
    if check:
        command.append('--check')
    if env is None:
        env = {'FLEETOTA_PLATFORM': 'magewell', 'FLEETOTA_ENDPOINT': emulator.url, 'FLEETOTA_USERNAME': 'Admin', 'FLEETOTA_PASSWORD': PASSWORD}
    proc = subprocess.run(command, capture_output=True, text=True, env=ansible_env(env), timeout=600, cwd=str(tmp_path), check=False)
    data = json.loads(results.read_text()) if results.exists() else None
    return Rollout(proc, data)


def online_devices(emulator):
    return [device for device in emulator.devices() if device['online']]


def outdated(emulator):
    return set(emulator.scenarios()['outdated_online_devices'])


def test_check_mode_shows_waves_and_sends_no_write(emulator, tmp_path):
    todo = outdated(emulator)
    run = run_rollout(emulator, tmp_path, {'firmware_rollout_waves': [1, '50%']}, check=True)
    assert run.rc == 0, run.output
    assert emulator.writes() == {}
    assert 'wave 1: 1 device(s)' in run.stdout and 'wave 2:' in run.stdout
    recap = run.recap()
    for host, outcome in run.hosts.items():
        if host in todo:
            assert outcome['status'] == 'would_upgrade' and outcome['wave'] in (1, 2, 3), outcome
            assert recap[host]['changed'] == 1
        else:
            assert outcome['status'] in ('already_current', 'skipped'), outcome
            assert recap[host]['changed'] == 0
    assert run.summary['by_status']['would_upgrade'] == len(todo)


def test_rollout_upgrades_in_waves_then_changes_nothing(emulator, tmp_path):
    todo = outdated(emulator)
    assert len(todo) >= 5
    run = run_rollout(emulator, tmp_path, {'firmware_rollout_waves': [1, '100%']})
    assert run.rc == 0, run.output
    recap = run.recap()
    for device in online_devices(emulator):
        host, outcome = device['id'], run.hosts[device['id']]
        if host in todo:
            assert outcome['status'] == 'succeeded', outcome
            assert outcome['current_version'] == device['firmware_version'] == outcome['target_version']
            assert outcome['previous_version'] != outcome['target_version']
            assert device['upgrade_count'] == 1
            assert recap[host]['changed'] == 1 and recap[host]['failed'] == 0
        else:
            assert outcome['status'] in ('already_current', 'skipped') and device['upgrade_count'] == 0, outcome
            assert recap[host]['changed'] == 0
    waves = [outcome['wave'] for outcome in run.hosts.values() if outcome['status'] == 'succeeded']
    assert waves.count(1) == 1 and waves.count(2) == len(todo) - 1  # the canary went alone
    assert run.summary['by_wave']['wave 1'] == {'succeeded': 1}
    assert run.summary['failures'] == 0 and run.summary['stopped'] is None
    # No fleet-sized collection is left in the hosts' top-level variables: ansible-core copies each of them for
    # every host in every later task (and in role_complete), which costs hosts x hosts at fleet scale.
    assert run.top_level_sizes and all(size < len(run.hosts) // 2 for size in run.top_level_sizes.values()), run.top_level_sizes
    # batched: one upgrade/start per family+model+hardware group and wave, never one per device
    starts = emulator.count(UPGRADE_START)
    assert starts < len(todo)

    again = run_rollout(emulator, tmp_path)
    assert again.rc == 0, again.output
    assert all(counts['changed'] == 0 for host, counts in again.recap().items() if host != 'localhost')
    assert emulator.count(UPGRADE_START) == starts


def test_failure_budget_stops_further_waves(emulator, tmp_path):
    check = run_rollout(emulator, tmp_path, {'firmware_rollout_waves': [1, 2, '100%']}, check=True)
    canary = [host for host, outcome in check.hosts.items() if outcome['wave'] == 1]
    assert len(canary) == 1
    emulator.set_devices(canary, behaviour='fail')
    run = run_rollout(emulator, tmp_path, {'firmware_rollout_waves': [1, 2, '100%']})
    assert run.rc != 0
    assert run.status(canary[0]) == 'failed'
    not_started = [host for host, outcome in run.hosts.items() if outcome and outcome['status'] == 'not_started']
    assert len(not_started) == len(outdated(emulator)) - 1, run.output
    assert all(outcome['wave'] in (2, 3) and 'failure budget (0) was exceeded after wave 1' in outcome['msg']
               for outcome in run.hosts.values() if outcome and outcome['status'] == 'not_started')
    recap = run.recap()
    assert all(recap[host]['failed'] == 1 for host in not_started + canary)
    assert emulator.count(UPGRADE_START) == 1  # only the canary was ever sent
    assert sum(device['upgrade_count'] for device in online_devices(emulator)) == 1
    assert 'STOPPING' in run.stdout
    assert run.summary['stopped'] and run.summary['failures'] == 1


def test_budget_tolerates_failures_up_to_the_limit(emulator, tmp_path):
    todo = outdated(emulator)
    check = run_rollout(emulator, tmp_path, {'firmware_rollout_waves': [2, '100%']}, check=True)
    first_wave = sorted(host for host, outcome in check.hosts.items() if outcome['wave'] == 1)
    emulator.set_devices(first_wave[:1], behaviour='fail')
    run = run_rollout(emulator, tmp_path, {'firmware_rollout_waves': [2, '100%'], 'firmware_rollout_max_failures': 1})
    assert run.rc != 0  # the failed device fails its host
    assert run.summary['stopped'] is None
    assert run.status(first_wave[0]) == 'failed'
    assert run.summary['by_status'].get('not_started', 0) == 0
    assert run.summary['by_status']['succeeded'] == len(todo) - 1


def test_health_gate_failure_stops_the_rollout(emulator, tmp_path):
    gate = tmp_path / 'gate.yml'
    todo = outdated(emulator)
    gate.write_text(json.dumps([{'name': 'our monitoring says no',
                                 'ansible.builtin.fail': {'msg': 'error rate too high after wave {{ _firmware_rollout_wave_index + 1 }}'}}]))
    run = run_rollout(emulator, tmp_path, {'firmware_rollout_waves': [1, '100%'], 'firmware_rollout_health_tasks': str(gate)})
    assert run.rc != 0
    assert 'the health gate failed after wave 1' in run.summary['stopped']
    assert 'error rate too high after wave 1' in run.summary['stopped']
    assert run.summary['by_status']['succeeded'] == 1
    assert run.summary['by_status']['not_started'] == len(todo) - 1


def test_interrupted_rollout_resumes_without_restarting(emulator, tmp_path, playbook):
    emulator.config(upgrade_seconds=20)  # long enough to be still running when the rollout plans, even on a busy machine
    todo = sorted(outdated(emulator))
    started = todo[:3]
    # a previous run that sent the upgrade and was interrupted before it could wait
    first = playbook([{'name': 'start', 'fleetota.cloud.firmware_upgrade': {'devices': started, 'version': 'latest', 'wait': False}, 'register': 'out'}],
                     connection=emulator.connection())
    assert first.rc == 0, first.output
    assert all(emulator.device(device_id)['upgrading'] for device_id in started)
    # not online_only: a device rebooting at the end of its upgrade is offline, and must stay in the play
    inventory = inventory_file(tmp_path, platform='magewell', endpoint=emulator.url, username='Admin')
    run = run_rollout(emulator, tmp_path, {'firmware_rollout_waves': ['100%'], 'rollout_hosts': ','.join(todo)}, inventory=inventory)
    assert run.rc == 0, run.output
    for device in online_devices(emulator):
        if device['id'] in todo:
            assert device['upgrade_count'] == 1, device  # the started ones were waited for, not restarted
            assert run.status(device['id']) == 'succeeded'


def test_devices_that_finish_their_interrupted_upgrade_before_their_wave_report_it(emulator, tmp_path, playbook):
    # Three devices whose upgrade an interrupted run started: the plan finds them upgrading. Wave 1 (one of them) waits
    # for its device; the other two finish meanwhile, and wave 2 finds them at the target. This rollout upgraded all
    # three: each reports succeeded, changed, and the version it was upgrading from.
    emulator.config(upgrade_seconds=20)  # still running when the rollout plans, even on a busy machine
    started = sorted(outdated(emulator))[:3]
    before = dict((device_id, emulator.device(device_id)['firmware_version']) for device_id in started)
    first = playbook([{'name': 'start', 'fleetota.cloud.firmware_upgrade': {'devices': started, 'version': 'latest', 'wait': False},
                       'register': 'out'}], connection=emulator.connection())
    assert first.rc == 0, first.output
    inventory = inventory_file(tmp_path, platform='magewell', endpoint=emulator.url, username='Admin')
    run = run_rollout(emulator, tmp_path, {'firmware_rollout_waves': [1, '100%'], 'rollout_hosts': ','.join(started)}, inventory=inventory)
    assert run.rc == 0, run.output
    recap = run.recap()
    assert 'wave 1: 1 device(s)' in run.stdout and 'wave 2: 2 device(s)' in run.stdout   # planned in progress, all three
    for device_id in started:
        outcome = run.hosts[device_id]
        assert emulator.device(device_id)['upgrade_count'] == 1
        assert outcome['status'] == 'succeeded', outcome
        assert outcome['previous_version'] == before[device_id] != outcome['current_version'], outcome
        assert outcome['current_version'] == emulator.device(device_id)['firmware_version']
        assert recap[device_id]['changed'] == 1, recap
    assert run.summary['by_status'] == {'succeeded': 3}


def test_pinning_a_version_the_devices_passed_and_the_vendor_no_longer_offers_skips_them(emulator, tmp_path):
    hosts = sorted(outdated(emulator))[:3]
    emulator.set_devices(hosts[:1], firmware_version='0.9.7')   # at the pinned version, which no catalog lists
    run = run_rollout(emulator, tmp_path, {'firmware_rollout_version': '0.9.7', 'rollout_hosts': ','.join(hosts)})
    assert run.rc == 0, run.output
    assert run.status(hosts[0]) == 'already_current'
    assert [run.status(host) for host in hosts[1:]] == ['skipped', 'skipped']
    assert all(run.hosts[host]['action'] == 'downgrade_refused' for host in hosts[1:])
    assert emulator.writes() == {}


def test_static_inventory_with_own_id_variable(emulator, tmp_path):
    ids = sorted(outdated(emulator))[:2]
    inventory = tmp_path / 'static.yml'
    hosts = dict(('encoder-%d' % n, {'serial': device_id}) for n, device_id in enumerate(ids))
    hosts['encoder-without-id'] = {}
    # What the role's README tells users of an inventory of their own to set on the device hosts.
    inventory.write_text(json.dumps({'all': {'hosts': hosts, 'vars': {'ansible_connection': 'local',
                                                                      'ansible_python_interpreter': '{{ ansible_playbook_python }}'}}}))
    connection = dict(emulator.connection())
    run = run_rollout(emulator, tmp_path, {'firmware_rollout_device_id_var': 'serial', 'firmware_rollout_connection': connection,
                                           'firmware_rollout_waves': []}, inventory=inventory, env={})
    assert run.rc != 0  # the host without an id fails, and says why
    assert 'encoder-without-id' in run.output and "set the host variable serial" in run.output
    assert run.status('encoder-0') == run.status('encoder-1') == 'succeeded'
    assert run.recap()['encoder-0']['changed'] == 1
    assert PASSWORD not in run.output


def test_bad_waves_are_refused_before_any_write(emulator, tmp_path):
    run = run_rollout(emulator, tmp_path, {'firmware_rollout_waves': [1, '150%']})
    assert run.rc != 0
    assert "firmware_rollout_waves[1] is '150%'" in run.output
    assert emulator.writes() == {}


def test_nan_and_infinite_durations_are_refused_by_name_before_any_write(emulator, tmp_path):
    for name, value in (('firmware_rollout_wait_timeout', 'nan'), ('firmware_rollout_poll_interval', 'inf')):
        run = run_rollout(emulator, tmp_path, {name: value, 'firmware_rollout_waves': ['100%']})
        assert run.rc != 0
        assert "%s is '%s': expected a positive, finite number of seconds" % (name, value) in run.output
        assert emulator.writes() == {}
        assert not any(device['upgrading'] for device in emulator.devices())


def test_role_variables_are_validated_once_for_the_group(emulator, tmp_path):
    # The playbook imports the role with rolespec_validate: false; the role's own validation, run
    # once, still refuses a bad value by name before anything is written.
    run = run_rollout(emulator, tmp_path, {'firmware_rollout_poll_interval': 'soon'})
    assert run.rc != 0
    assert "argument 'firmware_rollout_poll_interval' is of type str and we were unable to convert to float" in run.output
    assert emulator.writes() == {}
    assert "Validating arguments against arg spec" not in run.output  # ansible-core's per-host copy is off
    good = run_rollout(emulator, tmp_path, {'firmware_rollout_waves': ['100%']}, check=True)
    assert good.rc == 0, good.output
    validated = good.stdout.split("Validate the role's variables once for the group")[1].split('TASK [')[0]
    assert validated.count('ok: [') == 1, validated


def test_the_per_host_report_has_no_template_to_compile_on_every_host():
    # Each host's report runs in its own worker process, which compiles every template of the task's arguments anew.
    tasks = yaml.safe_load((pathlib.Path(__file__).resolve().parents[2] / 'roles' / 'firmware_rollout' / 'tasks' / 'main.yml').read_text())
    report = next(task for task in tasks if 'fleetota.cloud.rollout_result' in task)
    assert 'run_once' not in report
    assert '{{' not in json.dumps(report['fleetota.cloud.rollout_result']), report


def test_one_garbled_progress_answer_fails_no_device(emulator, tmp_path):
    todo = outdated(emulator)
    # Once the upgrades were sent, one progress read is answered with half a JSON body.
    emulator.faults({'kind': 'garble_after', 'body': 'truncated', 'path': '/sc_cloud/scapi/get-dev', 'after': 'POST /sc_cloud/upgrade/start?',
                     'times': 1})
    run = run_rollout(emulator, tmp_path, {'firmware_rollout_waves': ['100%']})
    assert run.rc == 0, run.output
    assert emulator.control('GET', '/faults')['rules'] == []    # the garbled answer was sent
    for host in todo:
        assert run.status(host) == 'succeeded', run.hosts[host]
        assert emulator.device(host)['upgrade_count'] == 1
    assert run.summary['failures'] == 0 and run.summary['stopped'] is None


# --- Issue 19: the failure policy by kind, wave limits, min_finished, offline devices, cancel on stop. Through a user's play:
# the role under `roles:`, the connection in play-level module_defaults, a static inventory of the devices.

def run_role_play(emulator, tmp_path, role_vars, platform='magewell', devices=None, check=False):
    """The role as a user's `roles:` play, connection options only in the play's module_defaults (no FLEETOTA_* at all)."""
    devices = emulator.devices(platform) if devices is None else devices
    inventory = tmp_path / 'devices.yml'
    hosts = dict((device['id'], {'fleetota_device_id': device['id']}) for device in devices)
    inventory.write_text(json.dumps({'all': {'hosts': hosts, 'vars': {'ansible_connection': 'local',
                                                                      'ansible_python_interpreter': '{{ ansible_playbook_python }}'}}}))
    play = [{'name': 'roll out', 'hosts': 'all', 'gather_facts': False,
             'module_defaults': {'group/fleetota.cloud.firmware': emulator.connection(platform)},
             'roles': [{'role': 'fleetota.cloud.firmware_rollout', 'vars': dict({'firmware_rollout_poll_interval': 0.3}, **role_vars)}]},
            RESULTS_PLAY[1]]
    (tmp_path / 'role_play.yml').write_text(json.dumps(play))
    results = tmp_path / 'results.json'
    if results.exists():
        results.unlink()
    command = ['ansible-playbook', '-i', str(inventory), str(tmp_path / 'role_play.yml'), '-e', json.dumps({'results_file': str(results)})]
    if check:
        command.append('--check')
    proc = subprocess.run(command, capture_output=True, text=True, env=ansible_env({}), timeout=600, cwd=str(tmp_path), check=False)
    data = json.loads(results.read_text()) if results.exists() else None
    return Rollout(proc, data)


def planned_waves(emulator, tmp_path, role_vars, platform='magewell', devices=None):
    check = run_role_play(emulator, tmp_path, role_vars, platform, devices, check=True)
    assert check.rc == 0, check.output
    waves = {}
    for host, outcome in check.hosts.items():
        if outcome and outcome['wave']:
            waves.setdefault(outcome['wave'], []).append(host)
    return dict((number, sorted(hosts)) for number, hosts in waves.items())


def test_offline_devices_are_deferred_their_hosts_ok_and_nothing_is_sent_to_them(emulator, tmp_path):
    latest = emulator.scenarios()['latest_by_product']
    # offline devices that need the upgrade (an offline device already at the target is simply current)
    offline = sorted(device['id'] for device in emulator.devices() if not device['online']
                     and device['firmware_version'] != latest['%s/%s' % (device['product'], device['hardware_version'])]['version'])
    assert offline
    run = run_role_play(emulator, tmp_path, {'firmware_rollout_waves': ['100%']})
    assert run.rc == 0, run.output           # with the default budget of 0: an unplugged device stops nothing
    recap = run.recap()
    for host in offline:
        assert run.status(host) == 'deferred_offline', run.hosts[host]
        assert recap[host]['failed'] == 0 and recap[host]['changed'] == 0
        assert emulator.device(host)['upgrade_count'] == 0
    assert run.summary['deferred_offline'] == len(offline) and run.summary['failures'] == 0 and run.summary['stopped'] is None
    assert all(run.status(host) == 'succeeded' for host in outdated(emulator))


def test_the_budget_by_kind_stops_on_the_kind_it_limits_only(emulator, tmp_path):
    role_vars = {'firmware_rollout_waves': [2, '100%']}
    first = planned_waves(emulator, tmp_path, role_vars)[1]
    emulator.set_devices(first[:1], behaviour='fail')
    tolerant = run_role_play(emulator, tmp_path, dict(role_vars, firmware_rollout_max_failures={'failed': 1, 'timed_out': 0}))
    assert tolerant.summary['stopped'] is None, tolerant.output
    assert tolerant.summary['failures_by_kind']['failed'] == 1 and tolerant.summary['failure_budget'] == {'failed': 1, 'timed_out': 0}
    emulator.reset()
    emulator.set_devices(first[:1], behaviour='fail')
    todo = outdated(emulator)
    strict = run_role_play(emulator, tmp_path, dict(role_vars, firmware_rollout_max_failures={'failed': 0, 'timed_out': 5}))
    assert strict.rc != 0
    assert strict.summary['stopped'].startswith('the failure budget for failed (0) was exceeded after wave 1'), strict.summary
    assert strict.summary['by_status']['not_started'] == len(todo) - 2


def test_an_unknown_kind_is_refused_by_name_before_any_write(emulator, tmp_path):
    run = run_role_play(emulator, tmp_path, {'firmware_rollout_max_failures': {'bricked': 1}})
    assert run.rc != 0
    assert "firmware_rollout_max_failures has the unknown key(s) 'bricked'" in run.output and 'failed, timed_out, offline, refused, total' in run.output
    assert emulator.writes() == {}


def test_the_wave_limit_aborts_its_wave_and_no_further_wave_starts(emulator, tmp_path):
    role_vars = {'firmware_rollout_waves': ['50%', '100%'], 'firmware_rollout_max_failures': '100%', 'firmware_rollout_wave_max_failures': 1}
    waves = planned_waves(emulator, tmp_path, role_vars)
    emulator.set_devices(waves[1][:2], behaviour='fail')
    run = run_role_play(emulator, tmp_path, role_vars)
    assert run.rc != 0
    assert run.summary['stopped'].startswith('the wave limit (1) was exceeded in wave 1: 2 device(s)'), run.summary
    assert all(run.status(host) == 'not_started' for host in waves[2])
    assert all(emulator.device(host)['upgrade_count'] == 0 for host in waves[2])
    assert 'wave 1 was aborted' in run.summary['stopped']    # firmware_upgrade got max_failures 1 and aborted inside the wave


def test_min_finished_keeps_a_one_device_canary_from_making_a_percent_mean_any(emulator, tmp_path):
    role_vars = {'firmware_rollout_waves': [1, '100%'], 'firmware_rollout_max_failures': '50%', 'firmware_rollout_wave_max_failures': '10%'}
    canary = planned_waves(emulator, tmp_path, role_vars)[1]
    todo = outdated(emulator)
    emulator.set_devices(canary, behaviour='fail')
    strict = run_role_play(emulator, tmp_path, role_vars)      # 10% of a 1-device wave: 0 tolerated
    assert strict.summary['stopped'].startswith('the wave limit (10%: 0 of 1 device(s)) was exceeded in wave 1'), strict.summary
    emulator.reset()
    emulator.set_devices(canary, behaviour='fail')
    patient = run_role_play(emulator, tmp_path, dict(role_vars, firmware_rollout_min_finished=3))
    assert patient.summary['stopped'] is None, patient.summary
    assert patient.summary['by_status']['succeeded'] == len(todo) - 1
    assert patient.summary['min_finished'] == 3


def test_on_stop_cancel_pending_cancels_what_the_vendor_queued(emulator, tmp_path):
    # EnOS queues an upgrade for an offline device until it reconnects. The wave aborts (an online device fails, budget 0):
    # the stop cancels the queued tasks, and an hour later, the devices back online, none of them is upgraded.
    platform = 'enos'
    devices = emulator.devices(platform)
    offline = sorted(device['id'] for device in devices if not device['online'])
    online = sorted(set(emulator.scenarios(platform)['outdated_online_devices']))
    assert offline and online
    role_vars = {'firmware_rollout_waves': ['100%'], 'firmware_rollout_offline': 'queue'}
    check = run_role_play(emulator, tmp_path, role_vars, platform, check=True)
    queued = sorted(host for host in offline if check.status(host) == 'queued')
    assert queued, check.output
    emulator.set_devices(online[:1], platform=platform, behaviour='fail')
    versions = dict((host, emulator.device(host, platform)['firmware_version']) for host in queued)
    run = run_role_play(emulator, tmp_path, role_vars, platform)
    assert run.rc != 0
    assert run.summary['stopped'], run.output
    assert run.summary['canceled']['count'] >= len(queued)
    for host in queued:
        assert run.status(host) == 'canceled', run.hosts[host]
    emulator.control('POST', '/clock', {'advance': 3600})
    emulator.set_devices(queued, platform=platform, online=True)
    emulator.control('POST', '/clock', {'advance': 3600})
    for host in queued:
        device = emulator.device(host, platform)
        assert device['firmware_version'] == versions[host] and device['upgrade_count'] == 0, device
