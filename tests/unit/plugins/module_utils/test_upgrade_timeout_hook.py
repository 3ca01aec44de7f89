# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The engine tells the client its wait_timeout before asking it to start upgrades (EnOS jobs carry it as upgradeTimeout)."""

from ansible_collections.fleetota.cloud.plugins.module_utils._client import PlatformClient
from ansible_collections.fleetota.cloud.plugins.module_utils._engine import UpgradeRun

from ansible_collections.fleetota.cloud.tests.unit.plugins.module_utils.fake_platform import FakeClock, FakePlatform, catalog, device


class RecordingPlatform(FakePlatform):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.timeouts_seen = []

    def start_upgrade(self, firmware, devices):
        self.timeouts_seen.append(self.upgrade_timeout)
        return super().start_upgrade(firmware, devices)


def test_default_is_none_so_vendor_defaults_apply():
    assert PlatformClient.upgrade_timeout is None


def test_wait_timeout_reaches_the_client_before_start_upgrade():
    platform = RecordingPlatform([device('old', '1.4.120')], catalog())
    clock = FakeClock()
    result, failure = UpgradeRun(platform, ['old'], version='1.6.201', wait_timeout=5400, poll_interval=5, clock=clock, sleep=clock.sleep).run()
    assert failure is None and result['summary']['succeeded'] == 1
    assert platform.timeouts_seen == [5400.0]


def test_check_mode_starts_nothing_and_sets_nothing():
    platform = RecordingPlatform([device('old', '1.4.120')], catalog())
    UpgradeRun(platform, ['old'], version='1.6.201', wait_timeout=900).run(check_mode=True)
    assert platform.timeouts_seen == [] and platform.upgrade_timeout is None
