# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Number options refuse NaN and infinity by name, before any write, on every platform, against the emulator.

NaN passes every `<= 0` test: unchecked, poll_interval=nan sent the upgrade and then crashed, and
wait_timeout=nan waited forever (Magewell) or crashed before the job was sent (EnOS).
"""

import pytest

from conftest import inventory_file, run_bad_input, run_inventory  # pylint: disable=import-error

PLATFORMS = ('magewell', 'tuya', 'enos', 'tuya_iotcore')


def bad_numbers():
    table = []
    for value in ('nan', 'inf', '-inf'):
        for option in ('wait_timeout', 'poll_interval'):
            table.append(('%s %s' % (option, value), 'firmware_upgrade', {}, {'devices': ['@0'], 'version': 'latest', option: value},
                          "%s '%s' is not valid: expected a positive, finite number of seconds" % (option, value)))
        table.append(('timeout %s' % value, 'firmware_upgrade', {'timeout': value}, {'devices': ['@0'], 'version': 'latest'},
                      "timeout '%s' is not valid: expected a positive, finite number of seconds" % value))
        table.append(('rate_limit %s' % value, 'firmware_upgrade', {'rate_limit': value}, {'devices': ['@0'], 'version': 'latest'},
                      "rate_limit '%s' is not valid: expected a positive, finite number of requests per second" % value))
        table.append(('info timeout %s' % value, 'firmware_info', {'timeout': value}, {}, "timeout '%s' is not valid" % value))
    return table


@pytest.mark.parametrize('platform', PLATFORMS)
def test_nan_and_infinity_are_refused_before_any_write(emulator, playbook, platform):
    device_id = emulator.scenarios(platform)['outdated_online_devices'][0]
    run_bad_input(playbook, bad_numbers(), lambda **overrides: emulator.connection(platform, **overrides), device_id)
    assert emulator.device(device_id, platform)['upgrade_count'] == 0
    assert not any(device['upgrading'] for device in emulator.devices(platform))
    if platform == 'enos':
        assert emulator.control('GET', '/enos/jobs') == []
    if platform == 'tuya_iotcore':
        assert emulator.scenarios(platform)['jobs'] == []


@pytest.mark.parametrize('option, value', [('timeout', 'nan'), ('rate_limit', 'inf')])
def test_inventory_refuses_nan_and_infinity(emulator, tmp_path, option, value):
    path = inventory_file(tmp_path, platform='tuya', endpoint=emulator.url, access_key='fleetotatestaccess01', **{option: value})
    proc = run_inventory(path, env={'FLEETOTA_SECRET_KEY': 'not-used-the-options-fail-first'})
    assert "%s '%s' is not valid" % (option, value) in proc.stdout + proc.stderr
    assert emulator.stats() == {}
