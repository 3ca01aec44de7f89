# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Two firmware_upgrade runs at once on the same EnOS devices, through two ansible-playbook processes on one
controller: each device is upgraded exactly once, and both runs end without failing."""

import json
import subprocess

from conftest import ansible_env  # pylint: disable=import-error

PLATFORM = 'enos'
TRIALS = 3


def outdated(emulator, count, product='BXwU4kMk'):
    pool = [i for i in emulator.scenarios(PLATFORM)['outdated_online_devices'] if emulator.device(i, PLATFORM)['product'] == product]
    assert len(pool) >= count, pool
    return pool[:count]


def write_play(path, result_file, connection, ids):
    play = [{
        'name': 'concurrent upgrade',
        'hosts': 'localhost',
        'gather_facts': False,
        'connection': 'local',
        'vars': {'ansible_python_interpreter': '{{ ansible_playbook_python }}'},
        'tasks': [
            {'name': 'upgrade',
             'fleetota.cloud.firmware_upgrade': dict(connection, devices=ids, version='latest', poll_interval=0.5, wait_timeout=120),
             'register': 'out', 'ignore_errors': True},
            {'name': 'save', 'ansible.builtin.copy': {'dest': str(result_file), 'content': '{{ out | to_json }}', 'mode': '0600'}},
        ],
    }]
    path.write_text(json.dumps(play, indent=1))


def run_together(tmp_path, trial, connection, ids):
    """Start two ansible-playbook runs at the same moment; their registered results."""
    procs = []
    for run in ('a', 'b'):
        play, result = tmp_path / ('play-%d%s.yml' % (trial, run)), tmp_path / ('result-%d%s.json' % (trial, run))
        write_play(play, result, connection, ids)
        procs.append((subprocess.Popen(['ansible-playbook', '-i', 'localhost,', str(play)], stdout=subprocess.PIPE,  # pylint: disable=consider-using-with
                                       stderr=subprocess.STDOUT, text=True, env=ansible_env(), cwd=str(tmp_path)), result))
    outs = []
    for proc, result in procs:
        output, _dummy = proc.communicate(timeout=600)
        assert proc.returncode == 0, output
        outs.append(json.loads(result.read_text()))
    return outs


def test_two_runs_at_once_upgrade_each_device_once(emulator, tmp_path):
    for trial in range(TRIALS):
        emulator.reset()
        emulator.config(upgrade_seconds=3)
        ids = outdated(emulator, 3)
        # Widen the window between "is a job running for these devices?" and "create one": both runs pass the check
        # unless something keeps them apart.
        emulator.faults({'kind': 'slow', 'path': 'ota-jobs', 'query': 'action=search&', 'seconds': 2, 'times': 2})
        outs = run_together(tmp_path, trial, emulator.connection(PLATFORM), ids)
        counts = dict((i, emulator.device(i, PLATFORM)['upgrade_count']) for i in ids)
        assert counts == dict((i, 1) for i in ids), (trial, counts, outs)
        for out in outs:
            assert not out.get('failed'), (trial, out)
            assert set(d['status'] for d in out['devices']) <= {'succeeded', 'already_current'}, (trial, out)
        jobs = emulator.control('GET', '/enos/jobs')
        assert len(jobs) == 1, (trial, jobs)        # the second run found the first one's job: it made none
        assert jobs[0]['tasks'] == {'succeed': len(ids)}, (trial, jobs)


def test_runs_on_two_controllers_stand_down_for_the_older_job(emulator):
    """No shared lock (two controllers): both clients pass the "running job?" check and create a job each. After starting,
    each looks at the devices' tasks; the one whose task is not the one running (or the younger one) cancels its own."""
    import threading  # pylint: disable=import-outside-toplevel

    # pylint: disable=import-error,import-outside-toplevel
    from ansible_collections.fleetota.cloud.plugins.module_utils._connection import create_client
    from ansible_collections.fleetota.cloud.plugins.module_utils._models import StartResult

    for trial in range(TRIALS):
        emulator.reset()
        emulator.config(upgrade_seconds=3)
        ids = outdated(emulator, 3)
        clients = [create_client(emulator.connection(PLATFORM)) for _dummy in range(2)]
        devices = clients[0].get_devices(ids)
        firmware = max((fw for fw in clients[0].list_firmwares(devices=list(devices.values())) if fw.released),
                       key=lambda fw: fw.parsed_version)
        # Both pass the "running job?" check before either creates its job.
        barrier = threading.Barrier(2, timeout=30)
        for client in clients:
            checked = client._in_flight  # pylint: disable=protected-access
            client._in_flight = lambda *args, checked=checked: (checked(*args), barrier.wait())[0]  # pylint: disable=protected-access
        answers = [None, None]

        def start(index):
            answers[index] = clients[index].start_upgrade(firmware, [devices[i] for i in ids])  # pylint: disable=cell-var-from-loop

        threads = [threading.Thread(target=start, args=(index,)) for index in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
        jobs = emulator.control('GET', '/enos/jobs')
        assert len(jobs) == 2, (trial, jobs)                 # the race did happen: both created a job
        for device_id in ids:
            statuses = sorted(answer[device_id].status for answer in answers)
            assert statuses == [StartResult.IN_PROGRESS, StartResult.STARTED], (trial, device_id, answers)
            assert emulator.device(device_id, PLATFORM)['upgrade_count'] == 1
        assert sum(job['tasks'].get('canceled', 0) for job in jobs) == len(ids), (trial, jobs)
