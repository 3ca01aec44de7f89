# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""firmware_info and firmware_upgrade for platform tuya_iotcore, what only it does, through ansible-playbook, against the emulator.

The behaviour every platform shares: test_platform_behaviour.py."""

from conftest import IOTCORE_SECRET, task  # pylint: disable=import-error
from platforms import TuyaIotCore  # pylint: disable=import-error

IOTCORE = TuyaIotCore()
P = 'tuya_iotcore'


def by_id(entries):
    return dict((entry['id'], entry) for entry in entries)


def conn(emulator, **overrides):
    return emulator.connection(platform=overrides.pop('platform', P), **overrides)


def test_module_runs_after_the_first_skip_the_account_listing(emulator, playbook, tmp_path):
    """Every device call needs the device's ProductKey, which only a listing of the whole account tells:
    the first run lists it and keeps DeviceName -> ProductKey in the device cache; the next runs read it."""
    ids = IOTCORE.online(emulator, 4)
    targets = dict((i, IOTCORE.latest(emulator, i)) for i in ids)
    cache = tmp_path / 'xdg-cache' / 'fleetota' / 'tuya-iotcore-devices.json'   # under the test's XDG_CACHE_HOME
    first = playbook([task('fleetota.cloud.firmware_upgrade', ignore_errors=False, devices=ids, version='latest')],
                     connection=conn(emulator), check=True)
    assert first.rc == 0, first.output
    one_listing = emulator.actions()['QueryDeviceByStatus']
    assert one_listing >= 4 and cache.is_file() and oct(cache.stat().st_mode & 0o777) == '0o600'
    assert IOTCORE_SECRET not in cache.read_text()
    run = playbook([task('fleetota.cloud.firmware_upgrade', ignore_errors=False, devices=ids, version='latest', poll_interval=0.5,
                         wait_timeout=60),
                    task('fleetota.cloud.firmware_info', register='verify', ignore_errors=False, devices=ids)],
                   keep=('out', 'verify'), connection=conn(emulator))
    assert run.rc == 0, run.output
    assert emulator.actions()['QueryDeviceByStatus'] == one_listing
    assert run.data['out']['summary']['succeeded'] == 4
    for entry in run.data['verify']['devices']:
        assert entry['current_version'] == IOTCORE.device(emulator, entry['id'])['firmware_version'] == targets[entry['id']]
        assert entry['product'] == IOTCORE.device(emulator, entry['id'])['product']
    off = playbook([task('fleetota.cloud.firmware_info', ignore_errors=False, devices=ids)], connection=conn(emulator, device_cache='off'))
    assert off.rc == 0, off.output
    assert emulator.actions()['QueryDeviceByStatus'] == 2 * one_listing


def test_rerun_while_the_job_is_in_flight_creates_no_new_job(emulator, playbook):
    ids = IOTCORE.online(emulator, 3)
    # Long enough that the next tasks, started at once, still find the upgrade under way on a busy machine.
    emulator.config(upgrade_seconds=20)
    planned = dict(task('fleetota.cloud.firmware_upgrade', register='planned', devices=ids, version='latest'), check_mode=True)
    run = playbook([task('fleetota.cloud.firmware_upgrade', register='first', devices=ids, version='latest', wait=False),
                    planned,
                    task('fleetota.cloud.firmware_upgrade', register='second', devices=ids, version='latest', poll_interval=0.5, wait_timeout=60)],
                   keep=('first', 'planned', 'second'), connection=conn(emulator))
    assert run.rc == 0, run.output
    first, second = run.data['first'], run.data['second']
    assert [d['status'] for d in first['devices']] == ['started'] * 3
    # Check mode sees the running tasks (ListOTAUnfinishedTaskByDevice) and says they would be waited for.
    assert [d['status'] for d in run.data['planned']['devices']] == ['in_progress'] * 3
    assert run.data['planned']['changed'] is False
    assert [d['status'] for d in second['devices']] == ['succeeded'] * 3
    assert sorted(second['jobs']) == sorted(first['jobs'])
    assert IOTCORE.upgrade_requests(emulator) == len(first['jobs']) == len(IOTCORE.scenarios(emulator)['jobs'])
    assert all(IOTCORE.device(emulator, i)['upgrade_count'] == 1 for i in ids)


def test_src_version_makes_other_devices_incompatible(emulator, playbook):
    facts = IOTCORE.scenarios(emulator)['src_version']
    ids = [facts['fitting_device'], facts['other_device']]
    run = playbook([task('fleetota.cloud.firmware_upgrade', register='by_version', devices=ids, version=facts['version'],
                         poll_interval=0.5, wait_timeout=60),
                    task('fleetota.cloud.firmware_upgrade', register='by_id', devices=[ids[1]], firmware_id=facts['firmware_id'])],
                   keep=('by_version', 'by_id'), connection=conn(emulator))
    assert run.rc == 0, run.output
    devices = by_id(run.data['by_version']['devices'])
    assert devices[ids[0]]['status'] == 'succeeded'
    other = devices[ids[1]]
    assert (other['action'], other['status']) == ('incompatible', 'skipped')
    assert 'only upgrades devices on %s (SrcVersion)' % facts['src_version'] in other['msg']
    assert IOTCORE.device(emulator, ids[0])['firmware_version'] == facts['version']
    assert IOTCORE.device(emulator, ids[1])['upgrade_count'] == 0
    by_firmware = run.data['by_id']['devices'][0]
    assert by_firmware['action'] == 'incompatible' and 'SrcVersion' in by_firmware['msg']


def test_unverified_firmware_only_with_include_unreleased(emulator, playbook):
    device_id = IOTCORE.online(emulator, 1)[0]
    product = IOTCORE.device(emulator, device_id)['product']
    unverified = IOTCORE.scenarios(emulator)['unverified_by_product'][product]
    failed = IOTCORE.scenarios(emulator)['failed_verification_by_product'][product]
    run = playbook([task('fleetota.cloud.firmware_upgrade', register='hidden', devices=[device_id], version=unverified['version']),
                    task('fleetota.cloud.firmware_upgrade', register='failed', devices=[device_id], firmware_id=failed['firmware_id'],
                         include_unreleased=True),
                    task('fleetota.cloud.firmware_upgrade', register='allowed', devices=[device_id], version=unverified['version'],
                         include_unreleased=True, poll_interval=0.5, wait_timeout=60)],
                   keep=('hidden', 'failed', 'allowed'), connection=conn(emulator))
    assert run.data['hidden']['failed'] is True and 'include_unreleased' in run.data['hidden']['msg']
    failed_item = run.data['failed']['devices'][0]
    assert failed_item['action'] == 'incompatible' and 'failed verification' in failed_item['msg']
    assert run.data['allowed']['devices'][0]['status'] == 'succeeded'
    assert IOTCORE.device(emulator, device_id)['firmware_version'] == unverified['version']
    assert IOTCORE.upgrade_requests(emulator) == 1


def test_a_dropped_create_is_never_repeated_blindly(emulator, playbook):
    # Two devices that need the same package, so one CreateOTAStaticUpgradeJob, whose connection is dropped.
    first = IOTCORE.online(emulator, 1)[0]
    key = (IOTCORE.device(emulator, first)['product'], IOTCORE.latest(emulator, first))
    ids = [i for i in IOTCORE.scenarios(emulator)['outdated_online_devices']
           if (IOTCORE.device(emulator, i)['product'], IOTCORE.latest(emulator, i)) == key][:2]
    assert len(ids) == 2
    emulator.faults({'kind': 'drop', 'query': 'Action=%s' % IOTCORE.CREATE, 'times': 1})
    # A device idle at its old version after an unknown outcome is waited for (the request may land late), so keep it short.
    upgrade = task('fleetota.cloud.firmware_upgrade', devices=ids, version='latest', poll_interval=0.5, wait_timeout=6)
    run = playbook([upgrade], connection=conn(emulator))
    out = run.data['out']
    assert out['failed'] is True
    assert [d['status'] for d in out['devices']] == ['failed', 'failed']
    assert all("outcome is unknown" in d['msg'] and 'nothing was re-sent' in d['msg'] for d in out['devices'])
    assert IOTCORE.upgrade_requests(emulator) == 1        # not repeated by the transport or the client
    assert IOTCORE.scenarios(emulator)['jobs'] == [] and out['jobs'] == []
    assert all(IOTCORE.device(emulator, i)['upgrade_count'] == 0 for i in ids)
    again = playbook([upgrade], connection=conn(emulator))
    assert again.rc == 0, again.output
    assert again.data['out']['summary']['succeeded'] == 2
    assert IOTCORE.upgrade_requests(emulator) == 2
