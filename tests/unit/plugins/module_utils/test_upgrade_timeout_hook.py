# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The engine passes its wait_timeout to start_upgrade (EnOS jobs carry it as upgradeTimeout); the client keeps no such state."""

import inspect

from ansible_collections.fleetota.cloud.plugins.module_utils._client import PlatformClient
from ansible_collections.fleetota.cloud.plugins.module_utils._engine import UpgradeRun
from ansible_collections.fleetota.cloud.plugins.module_utils._platforms._registry import PLATFORMS

from ansible_collections.fleetota.cloud.tests.unit.plugins.module_utils.fake_platform import FakeClock, FakePlatform, catalog, device


class RecordingPlatform(FakePlatform):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.timeouts_seen = []

    def start_upgrade(self, firmware, devices, upgrade_timeout=None):
        self.timeouts_seen.append(upgrade_timeout)
        return super().start_upgrade(firmware, devices, upgrade_timeout=upgrade_timeout)


def test_default_is_none_so_vendor_defaults_apply():
    assert inspect.signature(PlatformClient.start_upgrade).parameters['upgrade_timeout'].default is None
    assert not hasattr(PlatformClient, 'upgrade_timeout')


def test_every_platform_takes_the_timeout_with_the_same_default():
    for entry in PLATFORMS.values():
        assert inspect.signature(entry.client.start_upgrade).parameters['upgrade_timeout'].default is None


def test_wait_timeout_reaches_start_upgrade():
    platform = RecordingPlatform([device('old', '1.4.120')], catalog())
    clock = FakeClock()
    result, failure = UpgradeRun(platform, ['old'], version='1.6.201', wait_timeout=5400, poll_interval=5, clock=clock, sleep=clock.sleep).run()
    assert failure is None and result['summary']['succeeded'] == 1
    assert platform.timeouts_seen == [5400.0]
    assert not hasattr(platform, 'upgrade_timeout')


def test_check_mode_starts_nothing():
    platform = RecordingPlatform([device('old', '1.4.120')], catalog())
    UpgradeRun(platform, ['old'], version='1.6.201', wait_timeout=900).run(check_mode=True)
    assert platform.timeouts_seen == []
