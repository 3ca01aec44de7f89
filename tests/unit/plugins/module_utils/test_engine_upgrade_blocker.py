# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""PlatformClient.upgrade_blocker: a refusal known before any write is in the plan, so check mode and the run agree."""

from ansible_collections.fleetota.cloud.plugins.module_utils._engine import UpgradeRun
from ansible_collections.fleetota.cloud.tests.unit.plugins.module_utils.fake_platform import FakeClock, FakePlatform, catalog, device


class BlockingPlatform(FakePlatform):
    def upgrade_blocker(self, firmware, device):  # pylint: disable=redefined-outer-name
        return 'battery too low' if device.id == 'blocked' else None


def run(check_mode):
    platform = BlockingPlatform([device('old', '1.4.120'), device('blocked', '1.4.120')], catalog())
    clock = FakeClock()
    result, failure = UpgradeRun(platform, ['old', 'blocked'], version='latest', clock=clock, sleep=clock.sleep,
                                 poll_interval=5, wait_timeout=600).run(check_mode=check_mode)
    return platform, dict((entry['id'], entry) for entry in result['devices']), result, failure


def test_check_mode_reports_the_blocker_and_the_run_sends_nothing_for_it():
    platform, devices, result, failure = run(check_mode=True)
    assert devices['old']['status'] == 'would_upgrade'
    assert (devices['blocked']['status'], devices['blocked']['msg']) == ('failed', 'battery too low')
    assert 'blocked: battery too low' in failure and platform.start_requests == []
    assert 'blocked' not in result['diff']['after']

    platform, devices, result, failure = run(check_mode=False)
    assert devices['old']['status'] == 'succeeded'
    assert devices['blocked']['status'] == 'failed' and 'blocked: battery too low' in failure
    assert platform.start_requests == [('13', ['old'])]


def test_default_client_blocks_nothing():
    platform = FakePlatform([device('old', '1.4.120')], catalog())
    assert platform.upgrade_blocker(catalog()[0], device('old', '1.4.120')) is None
