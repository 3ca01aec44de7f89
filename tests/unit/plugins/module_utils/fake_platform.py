# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""An in-memory platform for engine tests: devices advance one step per poll."""

from ansible_collections.fleetota.cloud.plugins.module_utils._client import PlatformClient
from ansible_collections.fleetota.cloud.plugins.module_utils._engine import UpgradeRun
from ansible_collections.fleetota.cloud.plugins.module_utils._errors import OutcomeUnknownError
from ansible_collections.fleetota.cloud.plugins.module_utils._models import CancelResult, Device, Firmware, Progress, StartResult


class FakeTransport:
    calls = 0

    def close(self):
        pass


class FakePlatform(PlatformClient):
    platform = 'fake'

    def __init__(self, devices, firmwares, steps=2):
        super().__init__(FakeTransport())
        self.devices = dict((d.id, d) for d in devices)
        self.firmwares = firmwares
        self.steps = steps
        # id -> 'fail' | 'fail_once' (the next upgrade fails, then normal) | 'hang' | 'refuse' | 'wrong_version'
        self.behaviour = {}
        self.progress = {}       # id -> [steps left, target version]
        self.start_requests = []
        self.polls = 0
        self.poll_errors = []    # exceptions raised by the next polls, one per poll (None = that poll works)
        # How the next start request's answer is lost: 'applied' (applied, answer lost), 'lost' (never
        # applied, answer lost) or ('late', N) (applied after N more polls, answer lost); None = answered.
        self.start_fault = None
        self.late = []           # [polls left, firmware, devices] of requests still to be applied
        # Switches of what the vendor can do (class defaults: no cancel, no queue, no native retries).
        self.native = False      # start_upgrade(retries=, retry_delay=) retries failed devices itself
        self.idle_polls = {}     # id -> polls a started upgrade stays pending (pushed, not picked up) before it runs
        self.queued = {}         # id -> firmware version queued for an offline device
        self.retry_requests = []
        self.start_kwargs = []
        self.cancel_requests = []
        self.cancel_fault = None  # 'applied' | 'lost': the next cancel's answer is lost (after applying it or not)
        self.attempts = {}       # id -> vendor attempts (native retries)
        self.native_left = {}    # id -> vendor retries left

    def get_devices(self, ids):
        return dict((i, Device(**self.devices[i].to_dict())) for i in ids if i in self.devices)

    def list_firmwares(self, devices=None, product=None, hardware_version=None):
        return list(self.firmwares)

    def native_retries(self, retries, retry_delay):
        return self.native

    def retry_upgrade(self, firmware, devices, upgrade_timeout=None):
        self.retry_requests.append((firmware.id, [d.id for d in devices]))
        return super().retry_upgrade(firmware, devices, upgrade_timeout=upgrade_timeout)

    def start_upgrade(self, firmware, devices, upgrade_timeout=None, **kwargs):
        self.start_requests.append((firmware.id, [d.id for d in devices]))
        self.start_kwargs.append(kwargs)
        for d in devices:
            self.native_left[d.id] = kwargs.get('retries', 0)
            self.attempts[d.id] = 0
        fault, self.start_fault = self.start_fault, None
        if fault == 'applied':
            self._apply(firmware, devices)
        elif isinstance(fault, tuple):
            self.late.append([fault[1], firmware, devices])
        if fault is not None:
            raise OutcomeUnknownError('the upgrade request got no answer (read timeout)')
        return self._apply(firmware, devices)

    def _apply(self, firmware, devices):
        answers = {}
        for device in devices:
            if self.behaviour.get(device.id) == 'refuse':
                answers[device.id] = StartResult(StartResult.FAILED, 'refused: device offline')
            elif device.id in self.progress:
                answers[device.id] = StartResult(StartResult.IN_PROGRESS, 'repeat')
            elif self.devices[device.id].online is False and self.queues_offline:
                self.queued[device.id] = firmware.version
                answers[device.id] = StartResult(StartResult.QUEUED)
            elif self.devices[device.id].online is False:
                answers[device.id] = StartResult(StartResult.OFFLINE, 'fake refused: the device is offline')
            else:
                self._begin(device.id, firmware.version)
                answers[device.id] = StartResult(StartResult.STARTED)
        return answers

    def _begin(self, device_id, version):
        self.attempts[device_id] = self.attempts.get(device_id, 0) + 1
        self.progress[device_id] = [self.steps, version]
        self.devices[device_id].upgrading = device_id not in self.idle_polls

    def cancel(self, devices, jobs=None, check=False):
        if not self.can_cancel:
            return super().cancel(devices, jobs=jobs, check=check)
        self.cancel_requests.append(([d.id for d in devices], jobs, check))
        fault, self.cancel_fault = self.cancel_fault, None
        results = {}
        for device in devices:
            pending = device.id in self.queued or (device.id in self.progress and self.idle_polls.get(device.id, 0) > 0)
            if pending:
                if not check and fault != 'lost':
                    self.queued.pop(device.id, None)
                    self.progress.pop(device.id, None)
                    self.idle_polls.pop(device.id, None)
                results[device.id] = CancelResult(CancelResult.CANCELED, 'task canceled', job='J1')
            elif device.id in self.progress:
                results[device.id] = CancelResult(CancelResult.NOT_CANCELABLE, 'already upgrading')
            else:
                results[device.id] = CancelResult(CancelResult.NOTHING_PENDING, 'nothing pending')
        if fault is not None:
            raise OutcomeUnknownError('the cancel request got no answer (read timeout)')
        return results

    def poll(self, devices):
        self.polls += 1
        for entry in list(self.late):
            entry[0] -= 1
            if entry[0] <= 0:
                self.late.remove(entry)
                self._apply(entry[1], entry[2])
        if self.poll_errors:
            error = self.poll_errors.pop(0)
            if error is not None:
                raise error
        result = {}
        for device in devices:
            state = self.devices[device.id]
            behaviour = self.behaviour.get(device.id)
            left, target = self.progress.get(device.id, [0, state.current_version])
            if self.idle_polls.get(device.id, 0) > 0 and device.id in self.progress:
                self.idle_polls[device.id] -= 1      # pushed, not picked up yet
                if self.idle_polls[device.id] == 0:
                    del self.idle_polls[device.id]
                    state.upgrading = True
                result[device.id] = Progress(Progress.IDLE, state.current_version, 'pending')
                continue
            if behaviour == 'hang':
                result[device.id] = Progress(Progress.UPGRADING, state.current_version, 'uploading 50%')
                continue
            if left > 0:
                self.progress[device.id][0] -= 1
                result[device.id] = Progress(Progress.UPGRADING, state.current_version, 'installing')
                continue
            state.upgrading = False
            self.progress.pop(device.id, None)
            if behaviour == 'fail_once':
                self.behaviour.pop(device.id)
                if self.native_left.get(device.id, 0) > 0:     # the vendor retries it itself
                    self.native_left[device.id] -= 1
                    self._begin(device.id, target)
                    result[device.id] = Progress(Progress.UPGRADING, state.current_version, 'retrying', attempts=self.attempts[device.id])
                    continue
                result[device.id] = Progress(Progress.FAILED, state.current_version, 'failed', 'install failed', attempts=self.attempts.get(device.id))
                continue
            if behaviour == 'fail':
                result[device.id] = Progress(Progress.FAILED, state.current_version, 'failed', 'install failed', attempts=self.attempts.get(device.id))
                continue
            state.current_version = '0.0.1' if behaviour == 'wrong_version' else target
            result[device.id] = Progress(Progress.IDLE, state.current_version, 'idle', attempts=self.attempts.get(device.id))
        return result


def device(device_id, version, product='770', hardware='A', upgrading=False, online=True):
    return Device(device_id, name='dev-' + device_id, product=product, hardware_version=hardware, online=online,
                  current_version=version, upgrading=upgrading)


def catalog():
    return [
        Firmware('11', '1.4.120', product='770', hardware_version='A'),
        Firmware('12', '1.5.178', product='770', hardware_version='A'),
        Firmware('13', '1.6.201', product='770', hardware_version='A'),
        Firmware('14', '1.7.5', product='770', hardware_version='A', released=False),
        Firmware('21', '1.5.178', product='770', hardware_version='B'),
        Firmware('31', '2.0.3', product='780', hardware_version='A'),
    ]


class FakeClock:
    def __init__(self):
        self.now = 1000.0
        self.sleeps = []

    def __call__(self):
        return self.now

    def sleep(self, seconds):
        self.sleeps.append(seconds)
        self.now += seconds


# The engine tests' shorthands: a run over a fake platform and clock, its devices by id, a small mixed fleet.

def make_run(platform, clock=None, **kwargs):
    clock = clock or FakeClock()
    kwargs.setdefault('poll_interval', 5)
    kwargs.setdefault('wait_timeout', 600)
    return UpgradeRun(platform, kwargs.pop('devices'), clock=clock, sleep=clock.sleep, **kwargs)


def by_id(result):
    return dict((entry['id'], entry) for entry in result['devices'])


def fleet():
    return FakePlatform([
        device('old', '1.4.120'),
        device('current', '1.6.201'),
        device('newer', '1.7.5'),
        device('hw_b', '1.4.120', hardware='B'),
        device('other', '2.0.3', product='780'),
    ], catalog())
