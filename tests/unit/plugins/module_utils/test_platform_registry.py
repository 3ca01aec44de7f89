# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The platform registry is the one list of platforms: the factory, the option choices and the credentials all come from it."""

import pytest

from ansible_collections.fleetota.cloud.plugins.module_utils._client import PlatformClient
from ansible_collections.fleetota.cloud.plugins.module_utils._connection import REQUIRED_CREDENTIALS, SUPPORTED_PLATFORMS, create_client
from ansible_collections.fleetota.cloud.plugins.module_utils._errors import ConfigError
from ansible_collections.fleetota.cloud.plugins.module_utils._platforms._registry import PLATFORMS

CREDENTIALS = {'username': 'admin', 'password': 'pw', 'access_key': 'ak', 'secret_key': 'sk', 'org_id': 'o15'}


def test_the_registry_lists_the_four_platforms():
    assert SUPPORTED_PLATFORMS == ('enos', 'magewell', 'tuya', 'tuya_iotcore')
    assert REQUIRED_CREDENTIALS == dict((name, entry.credentials) for name, entry in PLATFORMS.items())


@pytest.mark.parametrize('platform', sorted(PLATFORMS))
def test_create_client_builds_the_registered_class_from_its_credentials(platform, tmp_path):
    entry = PLATFORMS[platform]
    options = dict(platform=platform, endpoint='http://127.0.0.1:9', token_cache=str(tmp_path / 't.json'), device_cache='off')
    options.update((name, CREDENTIALS[name]) for name in entry.credentials)
    client = create_client(options)
    try:
        assert isinstance(client, entry.client) and issubclass(entry.client, PlatformClient)
        assert client.platform == platform
        assert client.api_calls == 0      # building a client sends nothing
    finally:
        client.close()


@pytest.mark.parametrize('platform', sorted(PLATFORMS))
def test_each_registered_credential_is_required(platform):
    for missing in PLATFORMS[platform].credentials:
        options = dict(platform=platform, endpoint='http://127.0.0.1:9')
        options.update((name, CREDENTIALS[name]) for name in PLATFORMS[platform].credentials if name != missing)
        with pytest.raises(ConfigError, match='platform %s needs %s' % (platform, missing)):
            create_client(options)


def test_an_unknown_platform_is_named_with_the_registered_ones():
    with pytest.raises(ConfigError) as exc:
        create_client({'platform': 'acme', 'endpoint': 'https://x.example'})
    assert str(exc.value) == "platform 'acme' is not supported: use one of enos, magewell, tuya, tuya_iotcore"
