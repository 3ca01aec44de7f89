# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""firmware_upgrade for platform magewell, what only Magewell does (the shared behaviour: test_platform_behaviour.py)."""

from conftest import task  # pylint: disable=import-error
from platforms import Magewell  # pylint: disable=import-error

MAGEWELL = Magewell()


def test_non_admin_user_gets_a_clear_permission_error(emulator, playbook):
    ids = MAGEWELL.online(emulator, 1)
    run = playbook([task('fleetota.cloud.firmware_upgrade', devices=ids, version='latest')],
                   connection=emulator.connection(username='viewer', password='viewer'))
    out = run.data['out']
    assert out['failed'] is True
    assert 'administrator rights' in out['devices'][0]['msg']
    assert emulator.device(ids[0])['upgrade_count'] == 0
