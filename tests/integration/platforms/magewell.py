# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The Magewell Cloud adapter of the shared behaviour suite (see base.py)."""

import hashlib

from conftest import PASSWORD  # pylint: disable=import-error

from .base import Platform, release


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
