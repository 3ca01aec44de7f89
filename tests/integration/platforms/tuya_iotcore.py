# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The Tuya IoT Core (RPC) adapter of the shared behaviour suite (see base.py), and the helpers of the IoT Core client tests
(their own emulator, with its own secret)."""

import json
import time

from conftest import IOTCORE_SECRET, own_emulator  # pylint: disable=import-error

from ansible_collections.fleetota.cloud.plugins.module_utils._connection import create_client  # pylint: disable=import-error
from ansible_collections.fleetota.cloud.plugins.module_utils._signing import iotcore_signed_query  # pylint: disable=import-error
from ansible_collections.fleetota.cloud.plugins.module_utils._transport import RetryPolicy  # pylint: disable=import-error

from .base import Platform

ACCESS_KEY = 'fleetota-iotcore-ak'      # the emulator's default AccessKeyId
CLIENT_SECRET = 'unit-secret-9f3e'       # the client tests' emulator's secret


def client_emulator():
    """The client tests' own emulator: `server, emu = client_emulator()` at module level gives the fixtures (conftest.own_emulator)."""
    return own_emulator(devices=40, seed=3, upgrade_seconds=1.0, offline_ratio=0.1, tuya_iotcore_secret_key=CLIENT_SECRET,
                        # throttling has its own test
                        after_reset=lambda server: server.state.options['tuya_iotcore'].update(casing='camel', qps_scale=0))


def client_for(emu, retry=None, **options):
    values = dict(platform='tuya_iotcore', endpoint=emu.url, access_key=ACCESS_KEY, secret_key=CLIENT_SECRET)
    values.update(options)
    return create_client(values, retry=retry or RetryPolicy(attempts=4, backoff=0.2))


def stats(emu):
    import requests  # pylint: disable=import-outside-toplevel
    return requests.get(emu.url + '/_emulator/stats', timeout=10).json()['actions']


def scenarios(emu):
    return emu.state.platforms['tuya_iotcore'].facts(emu.state)


def raw_call(emu, action, secret=CLIENT_SECRET, drop=(), nonce='n-%f' % time.time(), stamp=None, **params):
    import requests  # pylint: disable=import-outside-toplevel
    query = iotcore_signed_query('GET', action, params, ACCESS_KEY, secret, stamp if stamp is not None else time.time(), nonce)
    if drop:
        query = '&'.join(part for part in query.split('&') if part.split('=')[0] not in drop)
    response = requests.get(emu.url + '/?' + query, timeout=10)
    return response.status_code, response.json()


def upgrade_set(emu, client, count):
    ids = scenarios(emu)['outdated_online_devices']
    devices = client.get_devices(ids)
    product = devices[ids[0]].product
    chosen = [devices[i] for i in ids if devices[i].product == product][:count]
    target = scenarios(emu)['latest_by_product'][product]
    firmware = next(fw for fw in client.list_firmware_pages(product=product) if fw.id == target['firmware_id'])
    return chosen, firmware


class TuyaIotCore(Platform):
    name = 'tuya_iotcore'
    secrets = (IOTCORE_SECRET,)
    env = {'FLEETOTA_ACCESS_KEY': ACCESS_KEY, 'FLEETOTA_SECRET_KEY': IOTCORE_SECRET}
    required = ('secret_key', 'access_key')
    wrong_credentials = {'secret_key': 'Wr0ng-Iot-Secret-5e1'}
    wrong_credentials_words = ('SignatureDoesNotMatch', ACCESS_KEY)
    inventory_refusal_words = ('SignatureDoesNotMatch',)
    fail_words = 'installing the firmware failed'
    hang_words = 'in_progress'
    CREATE = 'CreateOTAStaticUpgradeJob'
    queues_and_cancels = True
    cannot = {
        'test_session_expiry_mid_run': 'IoT Core signs every request: there is no session to expire',
        'test_incompatible_firmware_is_skipped': 'the SrcVersion rule: test_tuya_iotcore_modules.py checks it by version and by id',
        'test_no_wait_then_rerun_waits_without_restarting':
            'test_tuya_iotcore_modules.py checks it with a check-mode run in between, which sees the running tasks',
    }

    def inventory_options(self, emulator, tmp_path):
        return dict(platform=self.name, endpoint=emulator.url, access_key=ACCESS_KEY)

    def latest(self, emulator, device_id):
        """The newest verified package that fits: the SrcVersion-bound one for devices on its SrcVersion, else the newest release."""
        facts = self.scenarios(emulator)
        truth = self.device(emulator, device_id)
        delta = facts['delta_by_product'][truth['product']]
        if truth['firmware_version'] == delta['src_version']:
            return delta['version']
        return facts['latest_by_product'][truth['product']]['version']

    def upgrade_requests(self, emulator):
        return emulator.actions().get(self.CREATE, 0)

    def expected_requests(self, emulator, targets):
        return len(set((self.device(emulator, i)['product'], version) for i, version in targets.items()))   # one job per firmware

    def assert_nothing_written(self, emulator):
        assert self.CREATE not in emulator.actions() and 'CancelOTATaskByJob' not in emulator.actions()

    def run_secrets(self, emulator, ids, tmp_path):
        # BatchQueryDeviceDetail returns the device secret; the client drops it
        return list(self.secrets) + [emulator.server.state.fleet.device(self.name, ids[0]).extra['device_secret']]

    def older(self, emulator, device_id):
        return '0.3.9'   # an old verified package of every product

    def fault_rules(self):
        return ({'kind': 'error', 'status': 503, 'query': 'Action=QueryDeviceByStatus', 'times': 2},
                {'kind': 'rate_limit', 'retry_after': 1, 'query': 'Action=ListOTAFirmware', 'times': 2},
                {'kind': 'drop', 'query': 'Action=BatchQueryDeviceDetail', 'times': 1}), 0

    def bad_input(self):
        upgrade = {'devices': ['@0'], 'version': 'latest'}
        return [
            ('unknown access key', 'firmware_info', {'access_key': 'nobody'}, {}, 'InvalidAccessKeyId.NotFound'),
            ('device cache a directory', 'firmware_upgrade', {'device_cache': '/tmp'}, upgrade,
             "device_cache '/tmp' is a directory: expected the path of a cache file"),
        ]

    def check_info(self, emulator, out, ids):
        # Versions are read in batches (one BatchQueryDeviceDetail per product), never one call per device.
        assert emulator.actions()['BatchQueryDeviceDetail'] <= len(set(d['product'] for d in out['devices']))

    def check_catalog(self, emulator, released, everything):
        truth = emulator.control('GET', '/firmwares?platform=%s' % self.name)
        assert len(truth) > 100                        # more than one page of ListOTAFirmware (PageSize <= 100)
        assert emulator.actions()['ListOTAFirmware'] == 2 + 2 + 1  # two pages per whole catalog, one for one product's
        unverified = self.scenarios(emulator)['unverified_by_product']
        assert set(v['firmware_id'] for v in unverified.values()) <= set(fw['id'] for fw in everything if not fw['released'])

    def check_upgrade(self, emulator, out, ids, tmp_path):
        jobs = self.scenarios(emulator)['jobs']
        assert sorted(out['jobs']) == sorted(job['id'] for job in jobs)
        assert all(job['status'] == 'COMPLETED' for job in jobs)

    def check_listing(self, emulator, data, truth):
        actions = emulator.actions()
        # Listing by status (4 statuses, 50 a page) and versions in batches of 100 names of one product.
        assert actions['QueryDeviceByStatus'] >= 4
        assert actions['BatchQueryDeviceDetail'] == len(set(d['product'] for d in truth))
        assert 'QueryDeviceDetail' not in actions
        assert emulator.server.state.fleet.device(self.name, truth[0]['id']).extra['device_secret'] not in json.dumps(data)

    def check_cached_calls(self, emulator, calls):
        assert calls >= 5

    def check_lean_listing(self, emulator):
        assert set(emulator.actions()) == {'QueryDeviceByStatus'}
