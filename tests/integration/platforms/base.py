# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""One adapter per platform for the shared behaviour suite (test_platform_behaviour.py, test_platform_inventory.py).

An adapter says what differs between platforms and nothing else: its credentials, which devices play which role
(from the emulator's scenarios), the write it expects and how many, the words of its messages, its secrets, and what
it cannot do (`cannot`: test name -> reason, turned into a skip). Behaviour only one vendor has stays in
test_<platform>_*.py. The `check_*` methods add a platform's own assertions to a shared test's run, so that one
playbook run checks both.
"""


def release(text):
    return tuple(int(part) for part in text.split('.'))


class Platform:
    name = None
    secrets = ()                  # must never show in any output
    env = {}                      # connection from FLEETOTA_* variables (the endpoint is added)
    required = ()                 # connection options without which nothing is sent
    wrong_credentials = {}        # overrides that the cloud refuses
    wrong_credentials_words = ()  # what the error names
    inventory_secret_env = 'FLEETOTA_SECRET_KEY'   # the variable the inventory reads the secret from
    inventory_refusal_words = ()
    fail_words = ''               # in the message of a device whose upgrade fails
    hang_words = ''               # in the message of an upgrade that hangs
    one_job_product = None        # devices of this product share one upgrade request (None: any)
    # The vendor keeps upgrades for offline devices queued until they reconnect, and cancels what has not started (EnOS, IoT Core).
    # False: it refuses offline devices and has no cancel (Magewell, Tuya).
    queues_and_cancels = False
    unknown_device = 'NOPE-0001'
    unknown_firmware_id = '99999'   # None: firmware ids are not account-wide
    auth_request = None           # stats key of the login/token request
    cannot = {}

    @property
    def offline(self):
        """(status, words, wait_timeout) of a device offline at the start with offline=fail: the vendor refuses it; one that
        would queue it (and install it whenever it reconnects) is sent nothing."""
        return ('failed', 'offline at start: nothing sent (offline=fail)' if self.queues_and_cancels else 'offline', 60)

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
