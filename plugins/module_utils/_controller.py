# -*- coding: utf-8 -*-
# Copyright (c) fleetota.cloud developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Notice, while a module waits, that the ansible-playbook that started it is gone (Linux only, through /proc).

ansible-core runs each task in a worker process, a fork of ansible-playbook that leads a process group (and session)
of its own; the module runs in that group. A SIGKILL of ansible-playbook's process group (ansible-runner's cancel, hence
AWX's) reaches neither the worker nor the module: nothing tells the module that nobody waits for its result any more.
Here the module finds its controller once (its group leader is the worker, the worker's parent is ansible-playbook) and
a daemon thread checks every few seconds that it is still there. No watch when there is no /proc, when the module leads
its own group (run by hand), or when the group leader is not a worker of an ansible program (a module run on a remote
host over SSH, whose group leader is the login shell).
"""

import os
import threading

PROC = '/proc'
CHECK_INTERVAL = 2.0    # seconds between two checks of the controller


def _read(path):
    try:
        with open(path, 'rb') as stream:
            return stream.read()
    except (IOError, OSError):
        return None


def process_stat(pid, proc=PROC):
    """(state, parent pid) of a process from /proc/<pid>/stat, or None when it does not exist (or cannot be read)."""
    data = _read(os.path.join(proc, str(pid), 'stat'))
    if not data:
        return None
    # "pid (comm) state ppid ...": comm may hold spaces and parentheses, so read after the last ')'
    fields = data[data.rfind(b')') + 1:].split()
    try:
        return fields[0].decode('ascii', 'replace'), int(fields[1])
    except (IndexError, ValueError):
        return None


def command_line(pid, proc=PROC):
    """The arguments of a process from /proc/<pid>/cmdline, or None."""
    data = _read(os.path.join(proc, str(pid), 'cmdline'))
    if not data:
        return None
    return [word.decode('utf-8', 'replace') for word in data.rstrip(b'\0').split(b'\0')]


def ansible_program(argv):
    """The name of the ansible program a command line runs (ansible-playbook, ansible, ...), or None.

    The program is the first word, or, behind a Python interpreter and its options, the script or the -m module.
    """
    words = list(argv or [])
    if words and os.path.basename(words[0]).startswith('python'):
        words = words[1:]
        while words and words[0].startswith('-'):
            if words[0] == '-m' and len(words) > 1:
                words = words[1:]
                break
            words = words[1:]
    if not words:
        return None
    name = os.path.basename(words[0])
    return name if name == 'ansible' or name.startswith('ansible-') else None


class Controller:
    """The ansible program (`pid`, `name`) that started the worker (`worker`) in whose process group this module runs."""

    def __init__(self, pid, worker, name, proc=PROC):
        self.pid = pid
        self.worker = worker
        self.name = name
        self.proc = proc

    def gone(self):
        """None while the controller is there; else why it is considered gone, in words."""
        worker = process_stat(self.worker, self.proc)
        if worker is None:
            return '%s (pid %d) is gone: its worker (pid %d) has ended' % (self.name, self.pid, self.worker)
        if worker[1] != self.pid:
            return '%s (pid %d) is gone: its worker (pid %d) now has parent pid %d' % (self.name, self.pid, self.worker, worker[1])
        controller = process_stat(self.pid, self.proc)
        if controller is None or controller[0] in ('Z', 'X'):
            return '%s (pid %d) is gone' % (self.name, self.pid)
        return None


def find_controller(proc=PROC, pid=None, group=None):
    """The Controller of this module, or None when there is none to watch (see the file's docstring)."""
    pid = os.getpid() if pid is None else pid
    group = os.getpgrp() if group is None else group
    if group == pid or not os.path.isdir(os.path.join(proc, str(group))):
        return None
    leader = process_stat(group, proc)
    if leader is None:
        return None
    parent = leader[1]
    command = command_line(group, proc)
    name = ansible_program(command)
    # a worker is a fork of its controller: same command line
    if name is None or parent <= 1 or command_line(parent, proc) != command:
        return None
    return Controller(parent, group, name, proc)


class ControllerWatch:
    """While in the block, call `on_gone(reason)` once, from a daemon thread, when the module's controller is gone.

    Does nothing where find_controller() finds none.
    """

    def __init__(self, on_gone, interval=CHECK_INTERVAL, proc=PROC, controller=None):
        self.on_gone = on_gone
        self.interval = interval
        self.controller = controller if controller is not None else find_controller(proc)
        self._done = threading.Event()
        self.thread = None

    def __enter__(self):
        if self.controller is not None:
            self.thread = threading.Thread(target=self._watch, name='fleetota-controller-watch')
            self.thread.daemon = True
            self.thread.start()
        return self

    def __exit__(self, *exc_info):
        self._done.set()
        if self.thread is not None:
            self.thread.join(self.interval + 1.0)
        return False

    def _watch(self):
        while not self._done.wait(self.interval):
            reason = self.controller.gone()
            if reason is not None:
                self.on_gone(reason)
                return
