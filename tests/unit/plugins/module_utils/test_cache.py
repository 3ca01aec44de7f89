# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The per-account cache files shared by the clients (Tuya's tokens, IoT Core's device directory)."""

import pytest

from ansible_collections.fleetota.cloud.plugins.module_utils._cache import AccountCache, cache_path
from ansible_collections.fleetota.cloud.plugins.module_utils._connection import create_client
from ansible_collections.fleetota.cloud.plugins.module_utils._errors import ConfigError


@pytest.mark.parametrize('value', ['off', 'OFF', ' none ', 'no', 'false', 'disabled', ''])
def test_off_values_turn_a_cache_off(value):
    assert cache_path(value, 'x.json') is None


def test_the_default_is_under_xdg_cache_home_or_home(tmp_path, monkeypatch):
    monkeypatch.setenv('XDG_CACHE_HOME', str(tmp_path))
    assert cache_path(None, 'x.json') == str(tmp_path / 'fleetota' / 'x.json')
    monkeypatch.delenv('XDG_CACHE_HOME')
    monkeypatch.setenv('HOME', str(tmp_path / 'home'))
    assert cache_path(None, 'x.json') == str(tmp_path / 'home' / '.cache' / 'fleetota' / 'x.json')
    assert cache_path('~/mine.json', 'x.json') == str(tmp_path / 'home' / 'mine.json')


def test_accounts_share_a_file_without_overwriting_each_other(tmp_path):
    path = str(tmp_path / 'c.json')
    first, second = AccountCache(path, 'https://a', 'k1'), AccountCache(path, 'https://a', 'k2')
    with first.locked():
        first.store({'d1': 'p1'})
    with second.locked():
        second.store({'d2': 'p2'})
    assert first.load() == {'d1': 'p1'} and second.load() == {'d2': 'p2'}
    assert AccountCache(path, 'https://a/', 'k1').load() == {'d1': 'p1'}     # trailing slash ignored
    assert AccountCache(path, 'https://b', 'k1').load() is None


def test_an_unwritable_cache_is_not_fatal(tmp_path):
    (tmp_path / 'a-file').write_text('')
    cache = AccountCache(str(tmp_path / 'a-file' / 'c.json'), 'https://a', 'k')   # its directory cannot exist
    with cache.locked():
        cache.store({'d1': 'p1'})
    assert cache.load() is None


@pytest.mark.parametrize('option', ['token_cache', 'device_cache'])
def test_a_directory_for_a_cache_file_is_refused_by_name(tmp_path, option):
    options = {'platform': 'tuya_iotcore', 'endpoint': 'https://x.example.com', 'access_key': 'ak', 'secret_key': 's', option: str(tmp_path)}
    with pytest.raises(ConfigError) as caught:
        create_client(options)
    assert "%s '%s' is a directory: expected the path of a cache file" % (option, tmp_path) in str(caught.value)
