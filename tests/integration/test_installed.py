# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The built tarball, installed into a fresh collections path, runs the rollout playbook.

scripts/test.sh (stage build) sets FLEETOTA_TEST_COLLECTIONS_PATH to that path; the checkout
is then not on the collections path at all, so a pass proves the tarball is complete.
"""

import json
import os
import subprocess

import pytest

from conftest import PASSWORD, ansible_env, inventory_file  # pylint: disable=import-error

pytestmark = pytest.mark.skipif(not os.environ.get('FLEETOTA_TEST_COLLECTIONS_PATH'), reason='runs in the build stage of scripts/test.sh')


def test_rollout_playbook_from_the_installed_collection(emulator, tmp_path):
    installed = os.environ['FLEETOTA_TEST_COLLECTIONS_PATH']
    listing = subprocess.run(['ansible-galaxy', 'collection', 'list', 'fleetota.cloud', '--format', 'json'], capture_output=True, text=True,
                             env=ansible_env(), check=True)
    assert list(json.loads(listing.stdout)) == [os.path.join(installed, 'ansible_collections')]
    path = inventory_file(tmp_path, platform='magewell', endpoint=emulator.url, username='Admin', online_only=True)
    env = ansible_env({'FLEETOTA_PLATFORM': 'magewell', 'FLEETOTA_ENDPOINT': emulator.url, 'FLEETOTA_USERNAME': 'Admin',
                       'FLEETOTA_PASSWORD': PASSWORD})
    proc = subprocess.run(['ansible-playbook', '-i', str(path), 'fleetota.cloud.rollout', '-e', 'firmware_version=latest', '-e', 'poll_interval=0.5'],
                          capture_output=True, text=True, env=env, timeout=600, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    outdated = [d for d in emulator.devices() if d['online'] and d['upgrade_count'] > 0]
    assert outdated, 'the rollout upgraded nothing'
    scenarios = emulator.scenarios()['latest_by_product']
    for device in emulator.devices():
        if device['online']:
            assert device['firmware_version'] == scenarios['%s/%s' % (device['product'], device['hardware_version'])]['version']
    assert PASSWORD not in proc.stdout + proc.stderr
