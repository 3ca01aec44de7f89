# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The EnOS adapter of the shared behaviour suite (see base.py), and the helpers of the EnOS client tests."""

import collections
import hashlib
import json
from urllib.parse import parse_qs

from conftest import ENOS_APP_KEY, ENOS_ORG, ENOS_SECRET  # pylint: disable=import-error

from ansible_collections.fleetota.cloud.plugins.module_utils._connection import create_client  # pylint: disable=import-error
from ansible_collections.fleetota.cloud.plugins.module_utils._transport import RetryPolicy  # pylint: disable=import-error

from .base import Platform


def make_client(emulator, **overrides):
    sleeps = []
    client = create_client(emulator.connection('enos', **overrides), retry=RetryPolicy(attempts=3, backoff=0.01, sleep=sleeps.append))
    client.sleeps = sleeps
    return client


def calls(emulator):
    """Requests by 'METHOD resource action' from the emulator's log (the stats do not split by action)."""
    counts = collections.Counter()
    for entry in emulator.control('GET', '/log?limit=1000'):
        action = parse_qs(entry['query']).get('action', [''])[0]
        resource = '/'.join(entry['path'].split('/')[-2:]) if '/token/' in entry['path'] else entry['path'].rsplit('/', 1)[-1]
        counts[('%s %s %s' % (entry['method'], resource.replace('/', ' '), action)).strip()] += 1
    return counts


def jobs(emulator):
    return emulator.control('GET', '/enos/jobs')


def scenario(emulator):
    return emulator.scenarios('enos')


class Enos(Platform):
    name = 'enos'
    secrets = (ENOS_SECRET, hashlib.sha256(ENOS_SECRET.encode()).hexdigest())
    env = {'FLEETOTA_ACCESS_KEY': ENOS_APP_KEY, 'FLEETOTA_SECRET_KEY': ENOS_SECRET, 'FLEETOTA_ORG_ID': ENOS_ORG}
    required = ('secret_key', 'org_id')
    wrong_credentials = {'secret_key': 'Wr0ng-Secret-91b3'}
    wrong_credentials_words = ('check secret_key', 'EnOS code 1003', ENOS_APP_KEY)
    inventory_refusal_words = ('check secret_key', 'EnOS code 1003')
    fail_words = 'the upgrade task failed: failed to write firmware'
    hang_words = 'upgrading 20% (download)'
    one_job_product = 'BXwU4kMk'
    unknown_firmware_id = 'fw-nope'
    auth_request = 'POST /apim-token-service/v2.0/token/get'
    WRITE_ACTIONS = ('create', 'start', 'stop', 'delete', 'cancelTask', 'retryTask')
    queues_and_cancels = True
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

    jobs = staticmethod(jobs)

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
