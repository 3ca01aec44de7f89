# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""One adapter per platform for the shared behaviour suite (test_platform_behaviour.py, test_platform_inventory.py).

An adapter says what differs between platforms and nothing else: its credentials, which devices play which role
(from the emulator's scenarios), the write it expects and how many, the words of its messages, its secrets, and what
it cannot do (`cannot`: test name -> reason, turned into a skip). Behaviour only one vendor has stays in
test_<platform>_*.py. The `check_*` methods add a platform's own assertions to a shared test's run, so that one
playbook run checks both.
"""

import collections
import hashlib
import json
import os
import re
import stat
from urllib.parse import parse_qs

from conftest import (ENOS_APP_KEY, ENOS_ORG, ENOS_SECRET, IOTCORE_SECRET, PASSWORD, TUYA_ACCESS_ID,  # pylint: disable=import-error
                      TUYA_SECRET)


def release(text):
    return tuple(int(part) for part in text.split('.'))


class Platform:
    name = None
    secrets = ()                  # must never show in any output
    env = {}                      # connection from FLEETOTA_* variables (the endpoint is added)
    required = ()                 # connection options without which nothing is sent
    wrong_credentials = {}        # overrides that the cloud refuses
    wrong_credentials_words = ()  # what the error names
    inventory_secret_env = None   # the variable the inventory reads the secret from
    inventory_refusal_words = ()
    fail_words = ''               # in the message of a device whose upgrade fails
    hang_words = ''               # in the message of an upgrade that hangs
    offline = ('failed', 'offline', 60)   # (status, words, wait_timeout) of an offline device
    one_job_product = None        # devices of this product share one upgrade request (None: any)
    unknown_device = 'NOPE-0001'
    unknown_firmware_id = '99999'
    auth_request = None           # stats key of the login/token request
    cannot = {}

    def connection(self, emulator, tmp_path, **overrides):
        return dict(emulator.connection(self.name), **overrides)

    def inventory_options(self, emulator, tmp_path):
        return dict(platform=self.name, endpoint=emulator.url)

    def scenarios(self, emulator):
        return emulator.scenarios(self.name)

    def device(self, emulator, device_id):
        return emulator.device(device_id, self.name)

    def devices(self, emulator):
        return emulator.devices(self.name)

    def online(self, emulator, count, outdated=True, product=None):
        pool = self.scenarios(emulator)['outdated_online_devices' if outdated else 'current_online_devices']
        if product:
            pool = [i for i in pool if self.device(emulator, i)['product'] == product]
        assert len(pool) >= count, pool
        return pool[:count]

    def latest(self, emulator, device_id):
        return self.scenarios(emulator)['latest_by_product'][self.device(emulator, device_id)['product']]['version']

    def upgrade_requests(self, emulator):
        """How many upgrade requests (the write that starts an upgrade) the emulator has seen."""
        raise NotImplementedError

    def expected_requests(self, emulator, targets):
        """How many upgrade requests the devices of targets ({id: version}) take."""
        raise NotImplementedError

    def assert_nothing_written(self, emulator):
        assert emulator.writes() == {}

    def run_secrets(self, emulator, ids, tmp_path):
        """Secrets to look for in the output of a run that upgraded ids (tokens the cloud handed out included)."""
        return list(self.secrets)

    def info_devices(self, emulator, ids):
        return ids

    def derived_secrets(self, wrong):
        return [wrong]

    def hardware_version(self, truth):
        return None

    def bad_input(self):
        """Rows (label, module, connection overrides, params, message) only this platform refuses."""
        return []

    def env_vars(self, tmp_path):
        return dict(self.env)

    def env_files(self, tmp_path):
        """Files a run with env_vars(tmp_path) leaves behind."""
        return []

    # Platform assertions on a shared test's run: none unless the platform has more to say.
    def check_info(self, emulator, out, ids):
        pass

    def check_catalog(self, emulator, released, everything):
        pass

    def check_upgrade(self, emulator, out, ids, tmp_path):
        pass

    def check_failure(self, emulator, playbook, connection, out, ids):
        pass

    def check_resumed(self, emulator, first, second):
        pass

    def check_refused(self, emulator, run, tmp_path):
        pass

    def check_listing(self, emulator, data, truth):
        pass

    def check_cached_calls(self, emulator, calls):
        pass

    def check_refused_listing(self, emulator):
        pass

    def check_lean_listing(self, emulator):
        pass

    def cache_secrets(self, emulator):
        return list(self.secrets)


class Magewell(Platform):
    name = 'magewell'
    secrets = (PASSWORD, hashlib.md5(PASSWORD.encode()).hexdigest())
    env = {'FLEETOTA_USERNAME': 'Admin', 'FLEETOTA_PASSWORD': PASSWORD}
    required = ('password',)
    wrong_credentials = {'password': 'Wr0ng-Pa55-91b3'}
    wrong_credentials_words = ('password incorrect', 'Admin')
    inventory_secret_env = 'FLEETOTA_PASSWORD'
    inventory_refusal_words = ('password incorrect',)
    auth_request = 'POST /sc_cloud/login'
    UPGRADE_START = 'POST /sc_cloud/upgrade/start'
    cannot = {}

    def inventory_options(self, emulator, tmp_path):
        return dict(platform=self.name, endpoint=emulator.url, username='Admin')

    def latest(self, emulator, device_id):
        device = self.device(emulator, device_id)
        return self.scenarios(emulator)['latest_by_product']['%s/%s' % (device['product'], device['hardware_version'])]['version']

    def upgrade_requests(self, emulator):
        return emulator.count(self.UPGRADE_START)

    def expected_requests(self, emulator, targets):
        # one request per family + model + hardware group
        return len(set((d['family'], d['product'], d['hardware_version'], targets[d['id']])
                       for d in (self.device(emulator, i) for i in targets)))

    def derived_secrets(self, wrong):
        return [wrong, hashlib.md5(wrong.encode()).hexdigest()]

    def hardware_version(self, truth):
        return truth['hardware_version']

    def older(self, emulator, device_id):
        device = self.device(emulator, device_id)
        versions = sorted((fw['version'] for fw in emulator.control('GET', '/firmwares?platform=magewell')
                           if fw['product'] == device['product'] and fw['hardware_version'] == device['hardware_version'] and fw['released']),
                          key=release)
        return versions[0]

    def incompatible(self, emulator):
        scenario = self.scenarios(emulator)['incompatible']
        ids = [scenario['compatible_device'], scenario['incompatible_device']]
        emulator.set_devices(ids, online=True)
        return dict(ids=ids, version=scenario['version'], words='not in the catalog', compatible=('succeeded', 'already_current'))

    def fault_rules(self):
        return ({'kind': 'error', 'status': 503, 'path': '/sc_cloud/scapi/get-dev', 'times': 2},
                {'kind': 'rate_limit', 'retry_after': 1, 'path': '/sc_cloud/scapi/get-all-firmwares', 'times': 2},
                {'kind': 'drop', 'path': '/sc_cloud/scapi/get-dev', 'times': 1}), 5 + 1 + 1 + 2

    def expire_sessions(self, emulator):
        emulator.config(session_ttl=1, upgrade_seconds=3)

    def check_listing(self, emulator, data, truth):
        assert emulator.count('GET /sc_cloud/scapi/get-devs') == 1

    def check_cached_calls(self, emulator, calls):
        assert calls >= 2     # login + get-devs (+ logout)


class Tuya(Platform):
    name = 'tuya'
    secrets = (TUYA_SECRET,)
    env = {'FLEETOTA_ACCESS_KEY': TUYA_ACCESS_ID, 'FLEETOTA_SECRET_KEY': TUYA_SECRET, 'FLEETOTA_MAX_CONCURRENCY': '2'}
    required = ('secret_key',)
    wrong_credentials = {'secret_key': 'Wr0ng-Tuya-Secret-77aa'}
    wrong_credentials_words = ('sign invalid', 'secret_key', TUYA_ACCESS_ID)
    inventory_secret_env = 'FLEETOTA_SECRET_KEY'
    inventory_refusal_words = ('sign invalid', 'secret_key')
    fail_words = 'upgrade_status 4'
    hang_words = 'upgrading 20%'
    unknown_device = 'bfnotadevice000000'    # a well-formed Tuya id
    auth_request = 'GET /v1.0/token'
    START_RE = re.compile(r'^POST /v2\.0/cloud/thing/[^/]+/firmware/\d+$')
    FIRMWARE_RE = re.compile(r'^GET /v2\.0/cloud/thing/[^/]+/firmware$')
    cannot = {
        'test_catalog_with_and_without_unreleased': 'Tuya has no account catalog: each device is offered what it can upgrade to',
        'test_downgrade_refused_unless_allowed': 'Tuya offers no older version: test_tuya_modules.py checks the refusal',
        'test_firmware_id_not_in_catalog': 'Tuya firmware ids are per device and channel',
    }

    @staticmethod
    def token_cache(tmp_path):
        return tmp_path / 'cache' / 'tuya-tokens.json'

    def connection(self, emulator, tmp_path, **overrides):
        values = dict(emulator.connection(self.name), token_cache=str(self.token_cache(tmp_path)))
        values.update(overrides)
        return values

    def inventory_options(self, emulator, tmp_path):
        return dict(platform=self.name, endpoint=emulator.url, access_key=TUYA_ACCESS_ID, token_cache=str(tmp_path / 'tokens.json'))

    def env_vars(self, tmp_path):
        return dict(self.env, FLEETOTA_TOKEN_CACHE=str(self.token_cache(tmp_path)))

    def env_files(self, tmp_path):
        return [self.token_cache(tmp_path)]

    def latest(self, emulator, device_id):
        return self.scenarios(emulator)['latest_by_product'][self.device(emulator, device_id)['product']]

    def matching(self, emulator, pattern):
        return sum(count for key, count in emulator.stats().items() if pattern.match(key))

    def upgrade_requests(self, emulator):
        return self.matching(emulator, self.START_RE)

    def expected_requests(self, emulator, targets):
        return len(targets)     # one start per device and channel, as the API takes them

    def incompatible(self, emulator):
        # Another product's device on a version below the target: it is not offered the target.
        pool = [self.device(emulator, i) for i in self.online(emulator, 20)]
        latest = self.scenarios(emulator)['latest_by_product']
        outdated, other = next((a['id'], b['id']) for a in pool for b in pool
                               if a['product'] != b['product'] and release(b['firmware_version']) < release(latest[a['product']]))
        version = self.latest(emulator, outdated)
        return dict(ids=[outdated, other], version=version, words='Tuya does not offer %s to device %s' % (version, other),
                    compatible=('succeeded',))

    def fault_rules(self):
        return ({'kind': 'error', 'status': 503, 'path': '/v2.0/cloud/thing/batch', 'times': 2},
                {'kind': 'rate_limit', 'retry_after': 1, 'path': '/firmware', 'times': 2},
                {'kind': 'drop', 'path': '/v1.0/token', 'times': 1}), 1 + 1 + 2 + 1 + 2 + 2

    def expire_sessions(self, emulator):
        emulator.config(session_ttl=1, upgrade_seconds=3)

    def bad_input(self):
        upgrade = {'devices': ['@0'], 'version': 'latest'}
        return [
            ('bad device id', 'firmware_upgrade', {}, {'devices': ['dev/../1'], 'version': 'latest'}, "device id 'dev/../1' is not a Tuya device id"),
            ('zero concurrency', 'firmware_upgrade', {'max_concurrency': 0}, upgrade, "max_concurrency '0' is not valid"),
            ('negative rate', 'firmware_upgrade', {'rate_limit': -1}, upgrade, "rate_limit '-1.0' is not valid"),
        ]

    def check_info(self, emulator, out, ids):
        firmware_ids = set(fw['id'] for fw in out['firmwares'])
        assert '%s:0:%s' % (ids[0], self.latest(emulator, ids[0])) in firmware_ids
        mcu = self.scenarios(emulator)['mcu_devices'][0]
        assert mcu in ids and '%s:9:' % mcu in ' '.join(firmware_ids)    # the MCU channel is listed too
        # one batch query for the ids, one firmware read per device, one token
        assert emulator.count(self.auth_request) == 1
        assert self.matching(emulator, self.FIRMWARE_RE) == len(ids)
        assert out['api_calls'] == 1 + 1 + len(ids)

    def info_devices(self, emulator, ids):
        return ids + [i for i in self.scenarios(emulator)['mcu_devices'][:1] if i not in ids]

    def check_upgrade(self, emulator, out, ids, tmp_path):
        assert out['jobs'] == []
        # The token of the first run was cached and reused by the second: one token request in all.
        assert emulator.count(self.auth_request) == 1
        cache_file = self.token_cache(tmp_path)
        assert stat.S_IMODE(os.stat(str(cache_file)).st_mode) == 0o600
        content = cache_file.read_text()
        assert TUYA_SECRET not in content and TUYA_ACCESS_ID not in content
        assert len(json.loads(content)) == 1

    def check_failure(self, emulator, playbook, connection, out, ids):
        from conftest import task  # pylint: disable=import-error,import-outside-toplevel
        info = playbook([task('fleetota.cloud.firmware_info', devices=ids)], connection=connection).data['out']
        assert [d['last_upgrade_failed'] for d in info['devices']] == [False, True, False]

    def check_refused(self, emulator, run, tmp_path):
        assert emulator.control('GET', '/stats')['total'] == 1     # the token request, refused once, not retried
        assert self.scenarios(emulator)['sign_refused'] == 1
        assert not self.token_cache(tmp_path).exists()

    def run_secrets(self, emulator, ids, tmp_path):
        tokens = json.loads(self.token_cache(tmp_path).read_text())
        return list(self.secrets) + [value for entry in tokens.values() for value in (entry['access_token'], entry['refresh_token'])]

    def check_listing(self, emulator, data, truth):
        # one page of up to 200 devices, one firmware read per device, one token
        assert emulator.count('GET /v1.3/iot-03/devices') == 1
        assert emulator.count(self.auth_request) == 1
        assert emulator.control('GET', '/stats')['total'] == 1 + 1 + len(truth)

    def check_refused_listing(self, emulator):
        assert emulator.control('GET', '/stats')['total'] == 1     # the token request, refused once, not retried

    def check_lean_listing(self, emulator):
        # the token and one page of up to 200 devices: no firmware read
        assert emulator.control('GET', '/stats')['total'] == 2


class Enos(Platform):
    name = 'enos'
    secrets = (ENOS_SECRET, hashlib.sha256(ENOS_SECRET.encode()).hexdigest())
    env = {'FLEETOTA_ACCESS_KEY': ENOS_APP_KEY, 'FLEETOTA_SECRET_KEY': ENOS_SECRET, 'FLEETOTA_ORG_ID': ENOS_ORG}
    required = ('secret_key', 'org_id')
    wrong_credentials = {'secret_key': 'Wr0ng-Secret-91b3'}
    wrong_credentials_words = ('check secret_key', 'EnOS code 1003', ENOS_APP_KEY)
    inventory_secret_env = 'FLEETOTA_SECRET_KEY'
    inventory_refusal_words = ('check secret_key', 'EnOS code 1003')
    fail_words = 'the upgrade task failed: failed to write firmware'
    hang_words = 'upgrading 20% (download)'
    offline = ('timed_out', 'waiting to be pushed', 4)
    one_job_product = 'BXwU4kMk'
    unknown_firmware_id = 'fw-nope'
    auth_request = 'POST /apim-token-service/v2.0/token/get'
    WRITE_ACTIONS = ('create', 'start', 'stop', 'delete', 'cancelTask', 'retryTask')
    cannot = {}

    def inventory_options(self, emulator, tmp_path):
        return dict(platform=self.name, endpoint=emulator.url, access_key=ENOS_APP_KEY, org_id=ENOS_ORG)

    @staticmethod
    def actions(emulator):
        """Vendor calls by 'resource action' (searches are POSTs too, so the stats alone cannot tell writes from reads)."""
        counts = collections.Counter()
        for entry in emulator.control('GET', '/log?limit=1000'):
            counts['%s %s' % (entry['path'].rsplit('/', 1)[-1], parse_qs(entry['query']).get('action', [''])[0])] += 1
        return counts

    def writes(self, emulator):
        return dict((key, count) for key, count in self.actions(emulator).items() if key.split(' ')[-1] in self.WRITE_ACTIONS)

    @staticmethod
    def jobs(emulator):
        return emulator.control('GET', '/enos/jobs')

    def assert_nothing_written(self, emulator):
        assert self.writes(emulator) == {} and self.jobs(emulator) == []

    def upgrade_requests(self, emulator):
        return self.actions(emulator)['ota-jobs create']

    def expected_requests(self, emulator, targets):
        return len(set((self.device(emulator, i)['product'], version) for i, version in targets.items()))   # one job per firmware

    def run_secrets(self, emulator, ids, tmp_path):
        tokens = emulator.control('GET', '/enos/tokens')
        assert tokens
        return list(self.secrets) + tokens

    def older(self, emulator, device_id):
        return '2.0.1'

    def incompatible(self, emulator):
        scenario = self.scenarios(emulator)['incompatible']
        return dict(ids=[scenario['compatible_device'], scenario['incompatible_device']], version=scenario['version'],
                    words='not in the catalog for product %s' % scenario['other_product'], compatible=('succeeded',))

    def fault_rules(self):
        return ({'kind': 'error', 'status': 503, 'path': '/connect-service/v2.1/devices', 'times': 2},
                {'kind': 'rate_limit', 'retry_after': 1, 'path': 'ota-firmwares', 'times': 2},
                {'kind': 'drop', 'path': '/connect-service/v2.1/devices', 'times': 1},
                {'kind': 'error', 'status': 502, 'path': 'token/get', 'times': 1}), 4 + 6

    def expire_sessions(self, emulator):
        emulator.config(upgrade_seconds=3)
        emulator.faults({'kind': 'expire_sessions', 'path': 'ota-jobs', 'times': 1},
                        {'kind': 'expire_sessions', 'path': '/connect-service/v2.1/devices', 'times': 1})

    def bad_input(self):
        return [('quote in device id', 'firmware_upgrade', {}, {'devices': ["DK'01"], 'version': 'latest'}, "device id DK'01 contains a quote")]

    def check_info(self, emulator, out, ids):
        for entry in out['devices']:
            assert entry['online'] is True and entry['upgrading'] is False
        sample = out['firmwares'][0]
        assert sample['checksum_algorithm'] == 'md5' and sample['size'] > 0 and sample['created'].endswith('Z')

    def check_upgrade(self, emulator, out, ids, tmp_path):
        created = self.jobs(emulator)
        assert len(created) == len(set(self.device(emulator, i)['product'] for i in ids))     # one job per firmware
        assert sorted(out['jobs']) == sorted(job['jobId'] for job in created)
        assert sum(job['devices'] for job in created) == len(ids)
        assert all(job['upgradeTimeout'] == 300 for job in created)     # wait_timeout 60 clamped up to the documented minimum

    def check_resumed(self, emulator, first, second):
        assert len(self.jobs(emulator)) == 1 and first['jobs'] == [self.jobs(emulator)[0]['jobId']]
        assert self.writes(emulator) == {'ota-jobs create': 1, 'ota-jobs start': 1}

    def check_listing(self, emulator, data, truth):
        assert emulator.count('POST /connect-service/v2.1/devices') == 1
        assert 'magewell' not in json.dumps(data)

    def check_cached_calls(self, emulator, calls):
        assert calls == 2     # token + device search

    def cache_secrets(self, emulator):
        return list(self.secrets) + emulator.control('GET', '/enos/tokens') + ['deviceSecret']


class TuyaIotCore(Platform):
    name = 'tuya_iotcore'
    secrets = (IOTCORE_SECRET,)
    env = {'FLEETOTA_ACCESS_KEY': 'fleetota-iotcore-ak', 'FLEETOTA_SECRET_KEY': IOTCORE_SECRET}
    required = ('secret_key', 'access_key')
    wrong_credentials = {'secret_key': 'Wr0ng-Iot-Secret-5e1'}
    wrong_credentials_words = ('SignatureDoesNotMatch', 'fleetota-iotcore-ak')
    inventory_secret_env = 'FLEETOTA_SECRET_KEY'
    inventory_refusal_words = ('SignatureDoesNotMatch',)
    fail_words = 'installing the firmware failed'
    hang_words = 'in_progress'
    offline = ('failed', 'OFFLINE', 60)
    CREATE = 'CreateOTAStaticUpgradeJob'
    cannot = {
        'test_session_expiry_mid_run': 'IoT Core signs every request: there is no session to expire',
        'test_incompatible_firmware_is_skipped': 'the SrcVersion rule: test_tuya_iotcore_modules.py checks it by version and by id',
        'test_no_wait_then_rerun_waits_without_restarting':
            'test_tuya_iotcore_modules.py checks it with a check-mode run in between, which sees the running tasks',
    }

    def inventory_options(self, emulator, tmp_path):
        return dict(platform=self.name, endpoint=emulator.url, access_key='fleetota-iotcore-ak')

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


ADAPTERS = [Magewell(), Tuya(), Enos(), TuyaIotCore()]
