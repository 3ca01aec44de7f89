# -*- coding: utf-8 -*-
# Copyright (c) fleetota.cloud developers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The module adapter: where module options come from and how a module fails.

The inventory plugin has its own adapter (options from the plugin, failures as
AnsibleError); the client and engine behind both are the same.
"""

from ansible.module_utils.basic import env_fallback, missing_required_lib

from ansible_collections.fleetota.cloud.plugins.module_utils._connection import CONNECTION_OPTIONS, SUPPORTED_PLATFORMS, create_client
from ansible_collections.fleetota.cloud.plugins.module_utils._errors import FleetotaError
from ansible_collections.fleetota.cloud.plugins.module_utils._transport import HAS_REQUESTS, REQUESTS_IMPORT_ERROR


def connection_argument_spec():
    """The connection options of every module, with FLEETOTA_* fallbacks and no_log on secrets."""
    spec = {}
    for name, (option_type, env, secret) in CONNECTION_OPTIONS.items():
        entry = {'type': option_type}
        if env:
            entry['fallback'] = (env_fallback, [env])
        # Explicit either way: access_key and username identify, they do not authenticate.
        entry['no_log'] = secret
        spec[name] = entry
    spec['platform'].update(required=True, choices=list(SUPPORTED_PLATFORMS))
    spec['endpoint']['required'] = True
    spec['validate_certs']['default'] = True
    spec['timeout']['default'] = 30.0
    spec['max_concurrency']['default'] = 8
    return spec


def connection_options(params):
    return dict((name, params.get(name)) for name in CONNECTION_OPTIONS)


def run_with_client(module, action):
    """Build the client, run action(client) -> (result, failure message or None), always close.

    The one exit of every module: a FleetotaError becomes fail_json with its message; a
    per-device failure still returns every device's result alongside the message.
    """
    if not HAS_REQUESTS:
        module.fail_json(msg=missing_required_lib('requests'), exception=REQUESTS_IMPORT_ERROR)
    client = None
    try:
        client = create_client(connection_options(module.params))
        for warning in client.transport.warnings:
            module.warn(warning)
        result, failure = action(client)
        result['api_calls'] = client.api_calls
    except FleetotaError as exc:
        result, failure = {'changed': False}, str(exc)
        if client is not None:
            result['api_calls'] = client.api_calls
    finally:
        if client is not None:
            client.close()
    if not module._diff:
        result.pop('diff', None)
    if failure:
        result['msg'] = failure
        module.fail_json(**result)
    module.exit_json(**result)
