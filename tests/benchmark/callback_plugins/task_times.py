# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Benchmark aid (not part of the collection): wall time of every task of a play, from its start to the next task's
start, the controller's resident memory when it started (MB; null where /proc is missing), and the CPU seconds spent
meanwhile by the controller and its finished workers, written as JSON [[task name, seconds, rss, cpu], ...] to the
file named by FLEETOTA_BENCH_TASK_TIMES at the end. On a shared machine the CPU seconds vary far less than the wall time.

The memory matters at fleet scale: the controller forks a worker per host and task, and a fork costs in proportion
to the forking process's memory."""

import json
import os
import time

from ansible.plugins.callback import CallbackBase


def resident_mb():
    try:
        with open('/proc/self/status', encoding='ascii') as status:
            for line in status:
                if line.startswith('VmRSS:'):
                    return round(int(line.split()[1]) / 1024.0, 1)
    except OSError:
        pass
    return None


def cpu_seconds():
    times = os.times()
    return times.user + times.system + times.children_user + times.children_system


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = 'aggregate'
    CALLBACK_NAME = 'task_times'
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._times = []
        self._current = None

    def _mark(self, name):
        now, cpu = time.monotonic(), cpu_seconds()
        if self._current is not None:
            self._times.append([self._current[0], round(now - self._current[1], 3), self._current[2], round(cpu - self._current[3], 3)])
        self._current = (name, now, resident_mb(), cpu)

    def v2_playbook_on_task_start(self, task, is_conditional):
        self._mark(task.get_name())

    def v2_playbook_on_handler_task_start(self, task):
        self._mark(task.get_name())

    def v2_playbook_on_stats(self, stats):
        self._mark(None)
        path = os.environ.get('FLEETOTA_BENCH_TASK_TIMES')
        if path:
            with open(path, 'w', encoding='utf-8') as out:
                json.dump(self._times, out)
