# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The upgrade engine over a fake platform: plan, upgrade, wait, the catalog, bad input, reads that fail and writes whose
outcome is unknown. Offline devices, retries, max_failures, interruption and cancel are in test_engine_stop.py."""

import pytest

from ansible_collections.fleetota.cloud.plugins.module_utils._engine import clean_device_ids, run_info
from ansible_collections.fleetota.cloud.plugins.module_utils._errors import ApiError, AuthError, ConfigError, NetworkError
from ansible_collections.fleetota.cloud.plugins.module_utils._models import Firmware

from ansible_collections.fleetota.cloud.tests.unit.plugins.module_utils.fake_platform import (
    FakeClock, FakePlatform, by_id, catalog, device, fleet, make_run)


def test_check_mode_plans_every_device_and_sends_nothing():
    platform = fleet()
    result, failure = make_run(platform, devices=['old', 'current', 'newer', 'hw_b'], version='1.6.201').run(check_mode=True)
    assert failure is None
    devices = by_id(result)
    assert (devices['old']['action'], devices['old']['status']) == ('upgrade', 'would_upgrade')
    assert (devices['current']['action'], devices['current']['status']) == ('none', 'already_current')
    assert (devices['newer']['action'], devices['newer']['status']) == ('downgrade_refused', 'skipped')
    assert (devices['hw_b']['action'], devices['hw_b']['status']) == ('incompatible', 'skipped')
    assert 'hardware B' in devices['hw_b']['msg']
    assert result['changed'] is True
    assert platform.start_requests == []
    assert result['diff']['before'] == 'old: 1.4.120\n' and result['diff']['after'] == 'old: 1.6.201\n'


def test_upgrade_waits_until_the_device_reports_the_target():
    platform = fleet()
    clock = FakeClock()
    result, failure = make_run(platform, clock, devices=['old', 'current'], version='1.6.201').run()
    assert failure is None
    assert by_id(result)['old']['status'] == 'succeeded'
    assert by_id(result)['old']['current_version'] == '1.6.201'
    assert by_id(result)['old']['previous_version'] == '1.4.120'
    assert platform.start_requests == [('13', ['old'])]
    assert result['changed'] is True and result['summary']['succeeded'] == 1 and result['summary']['already_current'] == 1
    assert clock.sleeps == [5, 5]


def test_second_run_changes_nothing():
    platform = fleet()
    make_run(platform, devices=['old'], version='1.6.201').run()
    result, failure = make_run(platform, devices=['old'], version='1.6.201').run()
    assert failure is None and result['changed'] is False
    assert by_id(result)['old']['status'] == 'already_current'
    assert len(platform.start_requests) == 1


def test_latest_picks_the_newest_released_firmware_per_device():
    platform = fleet()
    result, _failure = make_run(platform, devices=['old', 'hw_b', 'other'], version='latest').run(check_mode=True)
    devices = by_id(result)
    assert devices['old']['target_version'] == '1.6.201'     # 1.7.5 is a test version
    assert devices['hw_b']['target_version'] == '1.5.178'
    assert devices['other']['status'] == 'already_current'
    result, _failure = make_run(platform, devices=['old'], version='latest', include_unreleased=True).run(check_mode=True)
    assert by_id(result)['old']['target_version'] == '1.7.5'


def test_downgrade_only_when_allowed_and_force_resends():
    platform = fleet()
    result, failure = make_run(platform, devices=['newer'], version='1.6.201', allow_downgrade=True).run()
    assert failure is None and by_id(result)['newer']['status'] == 'succeeded'
    result, failure = make_run(platform, devices=['current'], version='1.6.201', force=True).run()
    assert failure is None and by_id(result)['current']['status'] == 'succeeded'
    assert [ids for _fw, ids in platform.start_requests] == [['newer'], ['current']]


def test_a_device_already_upgrading_is_waited_for_not_restarted():
    platform = fleet()
    platform.devices['old'].upgrading = True
    platform.progress['old'] = [1, '1.6.201']
    result, failure = make_run(platform, devices=['old'], version='1.6.201').run()
    assert failure is None
    assert platform.start_requests == []
    assert by_id(result)['old']['status'] == 'succeeded'
    assert result['changed'] is True   # the device changed version during the run


def test_failures_are_reported_after_every_device_and_fail_the_task():
    platform = FakePlatform([device('a', '1.4.120'), device('b', '1.4.120'), device('c', '1.4.120'), device('d', '1.4.120')], catalog())
    platform.behaviour.update(b='fail', c='refuse', d='wrong_version')
    result, failure = make_run(platform, devices=['a', 'b', 'c', 'd'], version='1.6.201').run()
    devices = by_id(result)
    assert devices['a']['status'] == 'succeeded'
    assert devices['b']['status'] == 'failed' and devices['b']['msg'] == 'install failed'
    assert devices['c']['status'] == 'failed' and 'offline' in devices['c']['msg']
    assert devices['d']['status'] == 'failed' and 'instead of 1.6.201' in devices['d']['msg']
    assert failure.startswith('3 of 4 device(s) did not complete')
    assert result['summary']['failed'] == 3 and result['summary']['succeeded'] == 1


def test_wait_timeout_ends_with_timed_out():
    platform = fleet()
    platform.behaviour['old'] = 'hang'
    clock = FakeClock()
    result, failure = make_run(platform, clock, devices=['old'], version='1.6.201', wait_timeout=12, poll_interval=5).run()
    assert by_id(result)['old']['status'] == 'timed_out'
    assert 'uploading 50%' in by_id(result)['old']['msg']
    assert 'wait_timeout=12s' in failure
    assert sum(clock.sleeps) == 12


def test_no_wait_returns_started():
    platform = fleet()
    result, failure = make_run(platform, devices=['old'], version='1.6.201', wait=False).run()
    assert failure is None and by_id(result)['old']['status'] == 'started' and platform.polls == 0


def test_unknown_device_blocks_every_write():
    platform = fleet()
    result, failure = make_run(platform, devices=['old', 'ghost'], version='1.6.201').run()
    assert platform.start_requests == []
    assert 'ghost' in failure and 'no upgrade was sent' in failure
    assert by_id(result)['ghost']['status'] == 'failed'


@pytest.mark.parametrize('kwargs, message', [
    ({'devices': [], 'version': '1.6.201'}, 'devices is empty'),
    ({'devices': ['old', ''], 'version': '1.6.201'}, 'devices[1] is empty'),
    ({'devices': ['old']}, 'exactly one of version and firmware_id (got neither)'),
    ({'devices': ['old'], 'version': '1.6.201', 'firmware_id': '13'}, 'exactly one of version and firmware_id (got both)'),
    ({'devices': ['old'], 'version': 'one.two'}, "'one.two' is not a firmware version"),
    ({'devices': ['old'], 'version': '1.6.201', 'wait_timeout': 0}, "wait_timeout '0' is not valid"),
    ({'devices': ['old'], 'version': '1.6.201', 'wait_timeout': float('nan')}, "wait_timeout 'nan' is not valid: expected a positive, finite"),
    ({'devices': ['old'], 'version': '1.6.201', 'wait_timeout': float('inf')}, "wait_timeout 'inf' is not valid"),
    ({'devices': ['old'], 'version': '1.6.201', 'poll_interval': float('nan')}, "poll_interval 'nan' is not valid"),
    ({'devices': ['old'], 'version': '1.6.201', 'poll_interval': float('-inf')}, "poll_interval '-inf' is not valid"),
    ({'devices': ['old'], 'version': '1.6.201', 'poll_interval': True}, "poll_interval 'True' is not valid"),
])
def test_bad_input_is_refused_before_any_call(kwargs, message):
    platform = fleet()
    with pytest.raises(ConfigError) as exc:
        make_run(platform, **kwargs).run()
    assert message in str(exc.value)
    assert platform.start_requests == []


def test_version_not_in_catalog_names_the_available_versions():
    platform = fleet()
    with pytest.raises(ConfigError) as exc:
        make_run(platform, devices=['old'], version='9.9.9').run()
    assert 'version 9.9.9 is not in the fake catalog' in str(exc.value)
    assert '1.4.120, 1.5.178, 1.6.201, 2.0.3' in str(exc.value)
    with pytest.raises(ConfigError) as exc:
        make_run(platform, devices=['old'], version='1.7.5').run()
    assert 'include_unreleased' in str(exc.value)
    assert platform.start_requests == []


def test_pinned_version_the_catalog_lacks_is_judged_by_the_running_version():
    # The vendor no longer lists 1.0.2 (older than every entry): devices past it are refused a downgrade, one at it is current.
    platform = FakePlatform([device('old', '1.4.120'), device('newer', '1.7.5'), device('at', '1.0.2'), device('below', '1.0.1'),
                             device('odd', 'unknown')], catalog())
    for check_mode in (True, False):
        result, failure = make_run(platform, devices=['old', 'newer', 'at'], version='1.0.2').run(check_mode=check_mode)
        assert failure is None and result['changed'] is False
        devices = by_id(result)
        for device_id in ('old', 'newer'):
            assert (devices[device_id]['action'], devices[device_id]['status']) == ('downgrade_refused', 'skipped')
            assert devices[device_id]['target_version'] == '1.0.2' and 'allow_downgrade' in devices[device_id]['msg']
        assert (devices['at']['action'], devices['at']['status'], devices['at']['target_version']) == ('none', 'already_current', '1.0.2')
    # Devices that would need the missing firmware: an error before any write, naming the count and the first few.
    for kwargs, needing in (({'devices': ['newer', 'below', 'odd']}, 'needed by 2 device(s): below, odd'),
                            ({'devices': ['newer'], 'allow_downgrade': True}, 'needed by 1 device(s): newer'),
                            ({'devices': ['at'], 'force': True}, 'needed by 1 device(s): at')):
        with pytest.raises(ConfigError) as exc:
            make_run(platform, version='1.0.2', **kwargs).run()
        assert 'version 1.0.2 is not in the fake catalog' in str(exc.value) and needing in str(exc.value)
    assert platform.start_requests == []


def test_pinned_version_offered_elsewhere_leaves_a_device_below_it_incompatible():
    platform = fleet()
    result, failure = make_run(platform, devices=['old', 'hw_b', 'other'], version='1.6.201').run(check_mode=True)
    assert failure is None
    devices = by_id(result)
    assert devices['old']['status'] == 'would_upgrade'
    assert (devices['hw_b']['action'], devices['hw_b']['status']) == ('incompatible', 'skipped')        # 1.4.120 < 1.6.201, not for hardware B
    assert (devices['other']['action'], devices['other']['status']) == ('downgrade_refused', 'skipped')  # 2.0.3 is past 1.6.201


def test_firmware_id_selects_a_catalog_entry():
    platform = fleet()
    result, failure = make_run(platform, devices=['old', 'other'], firmware_id='12').run(check_mode=True)
    assert failure is None
    assert by_id(result)['old']['target_version'] == '1.5.178'
    assert by_id(result)['other']['action'] == 'incompatible'
    with pytest.raises(ConfigError) as exc:
        make_run(platform, devices=['old'], firmware_id='99').run()
    assert 'firmware_id 99 is not in the fake catalog' in str(exc.value)


def test_thousands_of_unknown_ids_give_a_short_message_naming_the_count_and_the_first_few():
    platform = fleet()
    unknown = ['NOPE%05d' % n for n in range(5000)]
    with pytest.raises(ConfigError) as exc:
        run_info(platform, devices=['old'] + unknown)
    message = str(exc.value)
    assert message.startswith('5000 device id(s) not found on fake: NOPE00000, NOPE00001, NOPE00002, NOPE00003, NOPE00004 ... and 4995 more')
    assert len(message) < 200 and 'NOPE00005' not in message
    result, failure = make_run(platform, devices=unknown + ['old'], version='1.6.201').run()
    assert failure == 'no upgrade was sent: 5000 device id(s) not found on fake: NOPE00000, NOPE00001, NOPE00002, NOPE00003, NOPE00004 ... and 4995 more'
    assert len(result['devices']) == 5001 and platform.start_requests == []   # every id is still reported, one entry each


def test_a_missing_firmware_id_lists_the_first_ten_catalog_entries():
    many = [Firmware(str(100 + n), '1.%d.0' % n, product='770', hardware_version='A') for n in range(500)]
    platform = FakePlatform([device('old', '1.4.120')], many)
    with pytest.raises(ConfigError) as exc:
        make_run(platform, devices=['old'], firmware_id='99').run()
    assert str(exc.value).endswith('... and 490 more') and len(str(exc.value)) < 500


def test_clean_device_ids_keeps_order_and_drops_duplicates():
    assert clean_device_ids(['b', 'a', 'b', ' c ']) == ['b', 'a', 'c']


def test_info_reports_latest_and_upgrade_available():
    platform = fleet()
    result = run_info(platform, devices=['old', 'current', 'hw_b'])
    devices = by_id(result)
    assert devices['old']['latest_version'] == '1.6.201' and devices['old']['upgrade_available'] is True
    assert devices['current']['upgrade_available'] is False
    assert devices['hw_b']['latest_version'] == '1.5.178'
    assert '1.7.5' not in [fw['version'] for fw in result['firmwares']]
    assert result['changed'] is False
    with pytest.raises(ConfigError) as exc:
        run_info(platform, devices=['ghost'])
    assert 'ghost' in str(exc.value)


def test_info_says_whether_the_last_upgrade_failed_only_when_the_platform_tells():
    platform = fleet()
    assert [entry['last_upgrade_failed'] for entry in run_info(platform, devices=['old', 'current'])['devices']] == [None, None]
    platform.last_upgrade_failed = lambda device: device.id == 'old'
    devices = by_id(run_info(platform, devices=['old', 'current']))
    assert devices['old']['last_upgrade_failed'] is True and devices['current']['last_upgrade_failed'] is False


# -- a read that fails while waiting, a write whose outcome is unknown -------------------------

def test_one_unreadable_progress_answer_does_not_fail_the_devices():
    platform = FakePlatform([device('a', '1.4.120'), device('b', '1.4.120')], catalog())
    platform.poll_errors = [ApiError('GET progress answered something that is not JSON (HTTP 200, 80 bytes)')]
    result, failure = make_run(platform, devices=['a', 'b'], version='1.6.201').run()
    assert failure is None
    assert [entry['status'] for entry in result['devices']] == ['succeeded', 'succeeded']
    assert len(platform.start_requests) == 1


def test_reads_failing_for_a_while_are_retried_at_the_poll_interval():
    platform = fleet()
    platform.poll_errors = [ApiError('get-dev failed with HTTP 503 after 5 attempts', http_status=503)] * 4
    clock = FakeClock()
    result, failure = make_run(platform, clock, devices=['old'], version='1.6.201', poll_interval=5).run()
    assert failure is None and by_id(result)['old']['status'] == 'succeeded'
    assert platform.polls == 7 and clock.sleeps == [5] * 6


def test_a_device_unreadable_at_the_deadline_is_timed_out_with_the_last_read_error():
    platform = fleet()
    platform.poll_errors = [None] + [NetworkError('get-dev to http://cloud failed after 5 attempts: connection refused')] * 100
    result, failure = make_run(platform, devices=['old'], version='1.6.201', wait_timeout=30, poll_interval=5).run()
    entry = by_id(result)['old']
    assert entry['status'] == 'timed_out'
    assert 'could not be read' in entry['msg'] and 'connection refused' in entry['msg'] and 'last seen: installing' in entry['msg']
    assert 'did not complete' in failure


def test_credentials_refused_while_waiting_stop_the_wait_as_timed_out_not_failed():
    platform = fleet()
    platform.poll_errors = [AuthError('get-dev was refused with HTTP 401: check the credentials', http_status=401)] * 100
    clock = FakeClock()
    result, _failure = make_run(platform, clock, devices=['old'], version='1.6.201', wait_timeout=600, poll_interval=5).run()
    entry = by_id(result)['old']
    assert entry['status'] == 'timed_out'
    assert 'refused 3 times in a row' in entry['msg'] and 'HTTP 401' in entry['msg'] and 'may still finish' in entry['msg']
    assert platform.polls == 3


def test_a_refusal_between_good_reads_is_retried():
    platform = fleet()
    platform.poll_errors = [None, AuthError('refused', http_status=401), AuthError('refused', http_status=401), None]
    result, failure = make_run(platform, devices=['old'], version='1.6.201').run()
    assert failure is None and by_id(result)['old']['status'] == 'succeeded'


def test_an_applied_start_whose_answer_was_lost_is_waited_for_not_resent():
    platform = fleet()
    platform.start_fault = 'applied'
    result, failure = make_run(platform, devices=['old'], version='1.6.201').run()
    assert failure is None and by_id(result)['old']['status'] == 'succeeded'
    assert platform.start_requests == [('13', ['old'])]
    assert result['changed'] is True


def test_a_late_start_is_followed_once_it_lands_and_never_resent():
    platform = fleet()
    platform.start_fault = ('late', 2)
    result, failure = make_run(platform, devices=['old'], version='1.6.201').run()
    assert failure is None and by_id(result)['old']['status'] == 'succeeded'
    assert platform.start_requests == [('13', ['old'])]


def test_a_start_that_never_landed_is_failed_with_its_unknown_outcome_and_not_resent():
    platform = fleet()
    platform.start_fault = 'lost'
    result, failure = make_run(platform, devices=['old'], version='1.6.201', wait_timeout=20, poll_interval=5).run()
    entry = by_id(result)['old']
    assert entry['status'] == 'failed'
    assert "outcome is unknown" in entry['msg'] and 'nothing was re-sent' in entry['msg'] and 'wait_timeout=20s' in entry['msg']
    assert 'read timeout' in entry['msg']
    assert platform.start_requests == [('13', ['old'])]
    assert result['changed'] is True    # a request was sent


def test_without_wait_a_start_of_unknown_outcome_is_reported_at_once():
    platform = fleet()
    platform.start_fault = 'lost'
    result, _failure = make_run(platform, devices=['old'], version='1.6.201', wait=False).run()
    entry = by_id(result)['old']
    assert entry['status'] == 'failed' and 'nothing was re-sent' in entry['msg']
    assert platform.polls == 0 and len(platform.start_requests) == 1
