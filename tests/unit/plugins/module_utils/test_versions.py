# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

import pytest

from ansible_collections.fleetota.cloud.plugins.module_utils._versions import parse_version, same_version, try_parse_version


@pytest.mark.parametrize('lower, higher', [
    ('1.5.178', '1.5.179'),
    ('1.5.99', '1.5.178'),      # numeric, not lexical
    ('1.9.0', '1.10.0'),
    ('1.5', '1.5.1'),
    ('1.2.0-rc1', '1.2.0'),     # a pre-release comes before its release
    ('1.2.0-beta2', '1.2.0-beta10'),
    ('1.2.0-alpha', '1.2.0-beta'),
    ('V1.0.9', 'v1.1'),
])
def test_ordering(lower, higher):
    assert parse_version(lower) < parse_version(higher)
    assert parse_version(higher) > parse_version(lower)
    assert parse_version(lower) != parse_version(higher)


@pytest.mark.parametrize('left, right', [('1.5', '1.5.0'), ('v2.0', '2'), (' 1.5.178 ', '1.5.178'), ('1.0.0', '1.0.0.0')])
def test_equal_forms(left, right):
    assert parse_version(left) == parse_version(right)
    assert hash(parse_version(left)) == hash(parse_version(right))
    assert same_version(left, right)


@pytest.mark.parametrize('text', ['', 'latest', 'abc', '1..2', '.1', None, '1.2 3'])
def test_invalid_versions_are_refused_with_the_value_named(text):
    with pytest.raises(ValueError) as exc:
        parse_version(text)
    assert 'expected dotted numbers' in str(exc.value)
    assert try_parse_version(text) is None


def test_same_version_falls_back_to_text():
    assert same_version('weird', 'weird')
    assert not same_version('weird', '1.0')
    assert not same_version(None, '1.0')


def test_max_picks_the_newest():
    versions = ['1.4.120', '1.10.2', '1.6.201', '1.6.201-rc1']
    assert str(max(parse_version(v) for v in versions)) == '1.10.2'
