# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

import pytest

from ansible_collections.fleetota.cloud.plugins.module_utils._signing import magewell_password_hash


@pytest.mark.parametrize('password, expected', [
    # Magewell's own examples: the login page sends Admin / md5("Admin"), add-user sends md5("1").
    ('Admin', 'e3afed0047b08059d0fada10f400c1e5'),
    ('1', 'c4ca4238a0b923820dcc509a6f75849b'),
])
def test_magewell_password_hash_matches_published_vectors(password, expected):
    assert magewell_password_hash(password) == expected


def test_magewell_password_hash_is_utf8_and_lowercase():
    digest = magewell_password_hash(u'pässwörd')
    assert digest == digest.lower() and len(digest) == 32
    assert digest != magewell_password_hash('passwoerd')
