# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The controller watch: firmware_upgrade notices that ansible-playbook is gone (a fake /proc in a tmp dir)."""

import shutil
import threading

import pytest

from ansible_collections.fleetota.cloud.plugins.module_utils._controller import ControllerWatch, ansible_program, find_controller
from ansible_collections.fleetota.cloud.plugins.module_utils._engine import UpgradeRun

from ansible_collections.fleetota.cloud.tests.unit.plugins.module_utils.fake_platform import FakePlatform, catalog, device

PLAYBOOK = ['/venv/bin/python3', '/venv/bin/ansible-playbook', '-i', 'hosts', 'rollout.yml']
# What the module runs as, under ansible-playbook (10) -> its worker (20, a fork, leading the group) -> sh -> python (30).
MODULE = ['/venv/bin/python3', '/root/.ansible/tmp/ansible-tmp-1-20-3/AnsiballZ_firmware_upgrade.py']


def add(proc, pid, ppid, argv, state='S', comm='python3'):
    folder = proc / str(pid)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / 'stat').write_bytes(b'%d (%s) %s %d %d 0 0' % (pid, comm.encode(), state.encode(), ppid, pid))
    (folder / 'cmdline').write_bytes(b'\0'.join(word.encode() for word in argv) + b'\0')


@pytest.fixture(name='proc')
def fake_proc(tmp_path):
    proc = tmp_path / 'proc'
    add(proc, 1, 0, ['/sbin/init'])
    add(proc, 10, 1, PLAYBOOK)
    add(proc, 20, 10, PLAYBOOK)
    add(proc, 25, 20, ['/bin/sh', '-c', '/venv/bin/python3 /root/.ansible/tmp/ansible-tmp-1-20-3/AnsiballZ_firmware_upgrade.py'], comm='sh')
    add(proc, 30, 25, MODULE)
    return proc


def test_under_ansible_playbook_the_controller_is_the_worker_s_parent_and_is_there(proc):
    controller = find_controller(str(proc), pid=30, group=20)
    assert (controller.pid, controller.worker, controller.name) == (10, 20, 'ansible-playbook')
    assert controller.gone() is None


def test_the_controller_killed_is_gone(proc):
    controller = find_controller(str(proc), pid=30, group=20)
    shutil.rmtree(proc / '10')
    assert controller.gone() == 'ansible-playbook (pid 10) is gone'


def test_the_controller_killed_but_not_yet_reaped_is_gone(proc):
    controller = find_controller(str(proc), pid=30, group=20)
    add(proc, 10, 1, [], state='Z')
    assert controller.gone() == 'ansible-playbook (pid 10) is gone'


@pytest.mark.parametrize('new_parent', [1, 77])    # init, or a subreaper (a container's first process)
def test_the_worker_reparented_means_the_controller_is_gone_even_if_its_pid_is_taken_again(proc, new_parent):
    controller = find_controller(str(proc), pid=30, group=20)
    add(proc, 20, new_parent, PLAYBOOK)
    add(proc, 10, 1, PLAYBOOK)     # another process got pid 10 since
    assert controller.gone() == 'ansible-playbook (pid 10) is gone: its worker (pid 20) now has parent pid %d' % new_parent


def test_the_worker_ended_means_nobody_waits_for_the_result(proc):
    controller = find_controller(str(proc), pid=30, group=20)
    shutil.rmtree(proc / '20')
    assert controller.gone() == 'ansible-playbook (pid 10) is gone: its worker (pid 20) has ended'


def test_a_process_name_with_spaces_and_parentheses_is_read_right(proc):
    add(proc, 20, 10, PLAYBOOK, comm='ansible (worker) 1')
    assert find_controller(str(proc), pid=30, group=20).gone() is None


def test_no_watch_without_proc(tmp_path):
    assert find_controller(str(tmp_path / 'no-proc'), pid=30, group=20) is None


def test_no_watch_for_a_module_run_by_hand_leading_its_own_group(proc):
    assert find_controller(str(proc), pid=30, group=30) is None


def test_no_watch_for_a_module_run_over_ssh_under_a_login_shell(proc):
    """On a remote host the group leader is the shell sshd started, whose command line mentions .ansible/tmp but runs no ansible."""
    add(proc, 40, 39, ['sshd: root@notty'])
    add(proc, 41, 40, ['/bin/sh', '-c', "/bin/sh -c '/usr/bin/python3 /root/.ansible/tmp/ansible-tmp-1-2-3/AnsiballZ_firmware_upgrade.py'"],
        comm='sh')
    add(proc, 43, 41, MODULE)
    assert find_controller(str(proc), pid=43, group=41) is None


def test_no_watch_when_the_leader_is_not_a_fork_of_its_parent(proc):
    add(proc, 20, 10, ['/venv/bin/python3', '/venv/bin/ansible-playbook', 'other.yml'])
    assert find_controller(str(proc), pid=30, group=20) is None


@pytest.mark.parametrize('argv, program', [
    (PLAYBOOK, 'ansible-playbook'),
    (['/usr/bin/ansible-playbook', 'site.yml'], 'ansible-playbook'),
    (['python3.12', '-I', '-u', '/usr/local/bin/ansible', 'all', '-m', 'ping'], 'ansible'),
    (['python3', '-m', 'ansible', 'playbook', 'site.yml'], 'ansible'),
    (MODULE, None),
    (['/bin/sh', '-c', '/usr/bin/ansible-playbook site.yml'], None),
    (['/usr/bin/ansiblesque'], None),
    ([], None),
    (None, None),
])
def test_the_ansible_program_of_a_command_line(argv, program):
    assert ansible_program(argv) == program


class FlakyController:
    """Gone from the `after`-th check on."""

    def __init__(self, after):
        self.checks = 0
        self.after = after

    def gone(self):
        self.checks += 1
        return 'ansible-playbook (pid 10) is gone' if self.checks >= self.after else None


def test_the_watch_tells_once_and_stops_checking():
    told = []
    controller = FlakyController(after=3)
    with ControllerWatch(told.append, interval=0.01, controller=controller) as watch:
        watch.thread.join(30)
        assert not watch.thread.is_alive()
    assert told == ['ansible-playbook (pid 10) is gone'] and controller.checks == 3


def test_no_thread_where_there_is_no_controller(tmp_path):
    with ControllerWatch([].append, interval=0.01, proc=str(tmp_path / 'no-proc')) as watch:
        assert watch.thread is None


def test_the_controller_gone_wakes_the_wait_and_takes_the_signal_s_stop_path(proc):
    """A run waiting with a real sleep until its next poll (an hour away) stops when ansible-playbook goes: what is pending
    and not started is canceled, every device reported, and the reason is the module's message and `aborted`."""
    platform = FakePlatform([device(n, '1.4.120') for n in ('busy', 'late1', 'late2')], catalog(), steps=20)
    platform.can_cancel = True
    platform.idle_polls.update(late1=10, late2=10)
    run = UpgradeRun(platform, ['busy', 'late1', 'late2'], version='1.6.201', poll_interval=3600, wait_timeout=7200)
    killed = threading.Timer(0.2, shutil.rmtree, (proc / '10',))
    with ControllerWatch(run.interrupt, interval=0.05, controller=find_controller(str(proc), pid=30, group=20)):
        killed.start()
        result, failure = run.run()
    killed.join()
    devices = dict((entry['id'], entry) for entry in result['devices'])
    assert platform.polls == 1
    assert [devices[n]['status'] for n in ('busy', 'late1', 'late2')] == ['started', 'canceled', 'canceled']
    assert platform.cancel_requests == [(['late1', 'late2'], None, False)]
    assert result['aborted'].startswith('interrupted: ansible-playbook (pid 10) is gone; 2 pending upgrade(s) canceled')
    assert failure.startswith(result['aborted'])
    assert 'no longer waited for: interrupted: ansible-playbook (pid 10) is gone' in devices['busy']['msg']


def test_the_controller_gone_before_the_start_sends_nothing():
    platform = FakePlatform([device('a', '1.4.120')], catalog())
    run = UpgradeRun(platform, ['a'], version='1.6.201')
    run.interrupt('ansible-playbook (pid 10) is gone')
    result, failure = run.run()
    assert platform.start_requests == [] and result['devices'][0]['status'] == 'skipped'
    assert result['aborted'].startswith('interrupted: ansible-playbook (pid 10) is gone')
    assert result['devices'][0]['msg'] == 'not sent: interrupted before the upgrade was sent: ansible-playbook (pid 10) is gone'
    assert failure.startswith(result['aborted'])
