# -*- coding: utf-8 -*-
# Copyright (c) fleetota.cloud developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Which platforms exist: name -> client class, the credentials it needs, and how it is built.

One line per platform. The options a build function gets are validated (every credential
named here is set) and carry max_concurrency with its default applied. Adding a platform:
its client file in this folder, one entry here.
"""

import collections

from ansible_collections.fleetota.cloud.plugins.module_utils._platforms.enos import EnosClient
from ansible_collections.fleetota.cloud.plugins.module_utils._platforms.magewell import MagewellClient
from ansible_collections.fleetota.cloud.plugins.module_utils._platforms.tuya import TuyaClient
from ansible_collections.fleetota.cloud.plugins.module_utils._platforms.tuya_iotcore import TuyaIotCoreClient

# client: the PlatformClient subclass; credentials: the options it needs besides platform and endpoint;
# build: (transport, options) -> client.
Platform = collections.namedtuple('Platform', ['client', 'credentials', 'build'])

PLATFORMS = {
    'enos': Platform(EnosClient, ('access_key', 'secret_key', 'org_id'), lambda transport, options: EnosClient(
        transport, options['access_key'], options['secret_key'], options['org_id'])),
    'magewell': Platform(MagewellClient, ('username', 'password'), lambda transport, options: MagewellClient(
        transport, options['username'], options['password'])),
    'tuya': Platform(TuyaClient, ('access_key', 'secret_key'), lambda transport, options: TuyaClient(
        transport, options['access_key'], options['secret_key'], max_concurrency=options['max_concurrency'],
        rate_limit=options.get('rate_limit'), token_cache=options.get('token_cache'))),
    'tuya_iotcore': Platform(TuyaIotCoreClient, ('access_key', 'secret_key'), lambda transport, options: TuyaIotCoreClient(
        transport, options['access_key'], options['secret_key'], device_cache=options.get('device_cache'))),
}
