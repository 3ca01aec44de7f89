# -*- coding: utf-8 -*-
# Copyright (c) fleetota.cloud developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

DOCUMENTATION = r'''
name: graceful_stop
type: aggregate
version_added: 1.1.0
author:
  - fleetota.cloud developers (@fleetota)
short_description: On SIGTERM or SIGINT, let the running firmware modules cancel what is pending, then stop the rollout
description:
  - Without it, ansible-core answers a SIGTERM or SIGINT to C(ansible-playbook) by killing its workers and itself at once. The
    module a worker runs receives the signal too, but nobody waits for it - its result is lost, and the job ends while the
    module may still be canceling vendor tasks.
  - With it, the first SIGTERM or SIGINT is handed to the modules only (the processes of the workers' process groups, but
    for the workers and the shells that started the modules). P(fleetota.cloud.firmware_upgrade#module) cancels what is pending and returns its
    per-device results; C(ansible-playbook) keeps running, so the P(fleetota.cloud.firmware_rollout#role) role records them,
    starts no further wave, cancels what the run left pending (C(firmware_rollout_on_stop)) and reports every host. The
    job ends after that.
  - The signal is also recorded in the environment variable C(FLEETOTA_ROLLOUT_INTERRUPTED) of C(ansible-playbook) (and
    so of the workers it starts afterwards), which the role reads before each of its steps.
  - A second SIGTERM or SIGINT ends C(ansible-playbook) as ansible-core does.
  - A SIGKILL cannot be handled by any program. ansible-runner 2.4 cancels a job (its C(cancel_callback)) with a SIGKILL to
    the process group of C(ansible-playbook); P(fleetota.cloud.firmware_upgrade#module) then notices within seconds that
    C(ansible-playbook) is gone and cancels what is pending, but no result reaches the job; see the collection's AWX guide
    for how to cancel with SIGTERM first.
  - Linux only (it reads C(/proc)); elsewhere it does nothing and ansible-core's behaviour applies.
  - Enable it with C(callbacks_enabled = fleetota.cloud.graceful_stop) in C(ansible.cfg) or C(ANSIBLE_CALLBACKS_ENABLED).
'''

import os
import signal

from ansible.plugins.callback import CallbackBase

ENV = 'FLEETOTA_ROLLOUT_INTERRUPTED'
SIGNALS = (signal.SIGTERM, signal.SIGINT)


def _processes():
    """pid -> (parent pid, process group, command line) of every process this user can see in /proc."""
    found = {}
    try:
        entries = os.listdir('/proc')
    except OSError:
        return found
    for entry in entries:
        if not entry.isdigit():
            continue
        try:
            with open('/proc/%s/stat' % entry, 'rb') as stream:
                stat = stream.read().decode('utf-8', 'replace')
            with open('/proc/%s/cmdline' % entry, 'rb') as stream:
                cmdline = stream.read().decode('utf-8', 'replace')
        except OSError:
            continue
        # The command name, in parentheses, may hold spaces: the fields after it are what follows the last ')'.
        fields = stat[stat.rfind(')') + 2:].split()
        if len(fields) > 2:
            found[int(entry)] = (int(fields[1]), int(fields[2]), cmdline)
    return found


SHELLS = ('sh', 'bash', 'dash', 'ash', 'zsh', 'ksh')


def module_processes(parent):
    """The pids of the modules the workers of `parent` (ansible-playbook) run: the processes of a worker's process group
    (each worker leads its own), but for the worker itself and the shell that started the module - a shell would die of
    the signal and leave the module's result behind."""
    processes = _processes()
    workers = set(pid for pid, (ppid, _pgid, _cmd) in processes.items() if ppid == parent)
    return sorted(pid for pid, (_ppid, pgid, cmdline) in processes.items()
                  if pgid in workers and pid not in workers and os.path.basename(cmdline.split('\0')[0]) not in SHELLS)


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = 'aggregate'
    CALLBACK_NAME = 'fleetota.cloud.graceful_stop'
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._previous = {}
        self._signaled = None
        self._stopped = []
        self._told = False

    def v2_playbook_on_start(self, playbook):
        # ansible-core's own handlers are in place by now (the task queue manager sets them up before it loads callbacks).
        if not os.path.isdir('/proc'):
            return
        for signum in SIGNALS:
            self._previous[signum] = signal.getsignal(signum)
            signal.signal(signum, self._handle)

    def _handle(self, signum, frame):
        if self._signaled is not None:
            # The second signal: ansible-core's own handling (kill the workers, then itself).
            previous = self._previous.get(signum)
            signal.signal(signum, previous if callable(previous) else signal.SIG_DFL)
            os.kill(os.getpid(), signum)
            return
        self._signaled = signum
        os.environ[ENV] = signal.Signals(signum).name
        self._stopped = []
        for pid in module_processes(os.getpid()):
            try:
                os.kill(pid, signum)
                self._stopped.append(pid)
            except OSError:
                pass

    def _tell(self):
        # Not from the signal handler: it may have interrupted the display while it held its lock.
        if self._signaled is not None and not self._told:
            self._told = True
            name = signal.Signals(self._signaled).name
            self._display.warning('%s received: %d running module(s) told to stop and cancel what is pending; the rollout stops after '
                                  'them (a second %s ends ansible-playbook at once)' % (name, len(self._stopped), name))

    def v2_runner_on_ok(self, result):
        self._tell()

    def v2_runner_on_failed(self, result, ignore_errors=False):
        self._tell()

    def v2_playbook_on_task_start(self, task, is_conditional):
        self._tell()

    def v2_playbook_on_stats(self, stats):
        self._tell()
