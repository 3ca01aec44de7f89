# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The Tuya Cloud (OpenAPI) adapter of the shared behaviour suite (see base.py)."""

import json
import os
import re
import stat

from conftest import TUYA_ACCESS_ID, TUYA_SECRET, task  # pylint: disable=import-error

from .base import Platform, release


class Tuya(Platform):
    name = 'tuya'
    secrets = (TUYA_SECRET,)
    env = {'FLEETOTA_ACCESS_KEY': TUYA_ACCESS_ID, 'FLEETOTA_SECRET_KEY': TUYA_SECRET, 'FLEETOTA_MAX_CONCURRENCY': '2'}
    required = ('secret_key',)
    wrong_credentials = {'secret_key': 'Wr0ng-Tuya-Secret-77aa'}
    wrong_credentials_words = ('sign invalid', 'secret_key', TUYA_ACCESS_ID)
    inventory_refusal_words = ('sign invalid', 'secret_key')
    fail_words = 'upgrade_status 4'
    hang_words = 'upgrading 20%'
    unknown_device = 'bfnotadevice000000'    # a well-formed Tuya id
    auth_request = 'GET /v1.0/token'
    START_RE = re.compile(r'^POST /v2\.0/cloud/thing/[^/]+/firmware/\d+$')
    FIRMWARE_RE = re.compile(r'^GET /v2\.0/cloud/thing/[^/]+/firmware$')
    unknown_firmware_id = None     # firmware ids are per device and channel
    cannot = {
        'test_catalog_with_and_without_unreleased': 'Tuya has no account catalog: each device is offered what it can upgrade to',
        'test_downgrade_refused_unless_allowed': 'Tuya offers no older version: test_tuya_modules.py checks the refusal',
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
