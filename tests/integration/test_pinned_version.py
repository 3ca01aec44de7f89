# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""firmware_upgrade with a pinned version the vendor does not offer, on every platform, against the emulator.

A device already past the target is refused a downgrade and one already at it is current, whether or
not the catalog still lists the target (Tuya lists only what a device can upgrade to). Only a device
that would need the missing firmware is an error.
"""

import pytest

from conftest import task  # pylint: disable=import-error

PLATFORMS = ('magewell', 'tuya', 'enos', 'tuya_iotcore')
# In no seeded catalog, and below every seeded release.
ABSENT = '0.9.7'
OLDER = '0.9.1'


def by_id(entries):
    return dict((entry['id'], entry) for entry in entries)


def release(text):
    return tuple(int(part) for part in text.split('.'))


def three_devices(emulator, platform):
    """Three idle, online devices of one product (and hardware), running a release above ABSENT."""
    blocked = set(emulator.scenarios(platform).get('blocked_devices') or [])
    devices = [entry for entry in emulator.devices(platform) if entry['online'] and entry['id'] not in blocked]
    groups = {}
    for entry in devices:
        if not entry['upgrading'] and release(entry['firmware_version']) > release(ABSENT):
            groups.setdefault((entry['product'], entry['hardware_version']), []).append(entry['id'])
    group = max(groups.values(), key=len)[:3]
    assert len(group) == 3, devices
    return group


def nothing_written(emulator, platform, ids):
    assert [emulator.device(device_id, platform)['upgrade_count'] for device_id in ids] == [0] * len(ids)
    if platform == 'enos':
        assert emulator.control('GET', '/enos/jobs') == []
    if platform == 'tuya_iotcore':
        assert emulator.scenarios(platform)['jobs'] == []


@pytest.mark.parametrize('platform', PLATFORMS)
def test_devices_at_or_past_a_version_the_vendor_does_not_offer_are_not_errors(emulator, playbook, platform):
    catalog = [fw['version'] for fw in emulator.control('GET', '/firmwares?platform=%s' % platform)]
    assert ABSENT not in catalog and OLDER not in catalog
    newer, current, older = three_devices(emulator, platform)
    newer_version = emulator.device(newer, platform)['firmware_version']
    emulator.set_devices([current], platform=platform, firmware_version=ABSENT)
    upgrade = dict(version=ABSENT, poll_interval=0.5, wait_timeout=60)
    run = playbook([task('fleetota.cloud.firmware_upgrade', register='checked', devices=[newer, current], **upgrade),
                    task('fleetota.cloud.firmware_upgrade', register='done', devices=[newer, current], **upgrade)],
                   keep=('checked', 'done'), connection=emulator.connection(platform))
    assert run.rc == 0, run.output
    for name in ('checked', 'done'):
        out = run.data[name]
        assert out.get('failed') is not True, out
        assert out['changed'] is False
        devices = by_id(out['devices'])
        assert (devices[newer]['action'], devices[newer]['status']) == ('downgrade_refused', 'skipped'), devices[newer]
        assert devices[newer]['target_version'] == ABSENT and devices[newer]['current_version'] == newer_version
        assert 'newer than the target %s' % ABSENT in devices[newer]['msg'] and 'allow_downgrade' in devices[newer]['msg']
        assert (devices[current]['action'], devices[current]['status']) == ('none', 'already_current'), devices[current]
        assert devices[current]['target_version'] == ABSENT and devices[current]['current_version'] == ABSENT

    # A device below the target needs the missing firmware: that stays an error naming the version and the device.
    emulator.set_devices([older], platform=platform, firmware_version=OLDER)
    run = playbook([task('fleetota.cloud.firmware_upgrade', devices=[newer, older], **upgrade),
                    task('fleetota.cloud.firmware_upgrade', register='allowed', devices=[newer], allow_downgrade=True, **upgrade)],
                   keep=('out', 'allowed'), connection=emulator.connection(platform))
    out = run.data['out']
    assert out['failed'] is True
    assert 'version %s is not in the %s catalog' % (ABSENT, platform) in out['msg']
    assert 'needed by 1 device(s): %s' % older in out['msg']
    # Allowed to downgrade, the newer device needs the missing firmware too.
    allowed = run.data['allowed']
    assert allowed['failed'] is True and 'needed by 1 device(s): %s' % newer in allowed['msg']
    nothing_written(emulator, platform, [newer, current, older])
