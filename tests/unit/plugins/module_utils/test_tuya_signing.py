# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Tuya request signing pinned to the published vectors of vendors/tuya.md A.4."""

import hashlib

import pytest

from ansible_collections.fleetota.cloud.plugins.module_utils._signing import (
    TUYA_EMPTY_BODY_SHA256,
    tuya_canonical_url,
    tuya_legacy_sign,
    tuya_sign,
    tuya_string_to_sign,
)

CLIENT_ID = '1KAD46OrT9HafiKdsXeg'
SECRET = '4OHBOnWOqaEC1mWXOpVL3yV50s0qGSRC'
T = '1588925778000'
TOKEN = '3f4eda2bdec17232f67c0b188af3eec1'
NONCE = '5138cc3a9033d69856923fd07b491173'
DOC_HEADERS = [('area_id', '29a33e8796834b1efa6'), ('call_id', '8afdb70ab2ed11eb85290242ac130003')]


def test_empty_body_hash_is_the_documented_constant():
    assert hashlib.sha256(b'').hexdigest() == TUYA_EMPTY_BODY_SHA256
    assert tuya_string_to_sign('GET', '/v1.0/token', {'grant_type': 1}).split('\n')[1] == TUYA_EMPTY_BODY_SHA256


def test_doc_token_vector_with_nonce_and_signature_headers():
    sts = tuya_string_to_sign('GET', '/v1.0/token', {'grant_type': '1'}, b'', DOC_HEADERS)
    assert sts == 'GET\n%s\narea_id:29a33e8796834b1efa6\ncall_id:8afdb70ab2ed11eb85290242ac130003\n\n/v1.0/token?grant_type=1' % TUYA_EMPTY_BODY_SHA256
    assert tuya_sign(SECRET, CLIENT_ID, T, sts, nonce=NONCE) == '9E48A3E93B302EEECC803C7241985D0A34EB944F40FB573C7B5C2A82158AF13E'


def test_doc_business_vector():
    sts = tuya_string_to_sign('GET', '/v2.0/apps/schema/users', {'page_size': 50, 'page_no': 1}, None, DOC_HEADERS)
    assert sts.endswith('\n/v2.0/apps/schema/users?page_no=1&page_size=50')
    assert tuya_sign(SECRET, CLIENT_ID, T, sts, access_token=TOKEN, nonce=NONCE) == \
        'AE4481C692AA80B25F3A7E12C3A5FD9BBF6251539DD78E565A1A72A508A88784'


def test_legacy_vectors():
    assert tuya_legacy_sign(SECRET, CLIENT_ID, T) == 'CEAAFB5CCDC2F723A9FD3E91D3D2238EE0DD9A6D7C3C365DEB50FC2AF277AA83'
    assert tuya_legacy_sign(SECRET, CLIENT_ID, T, TOKEN) == '36C30E300F226B68ADD014DD1EF56A81EDB7B7A817840485769B9D6C96D0FAA1'


@pytest.mark.parametrize('method, path, query, token, expected', [
    ('GET', '/v1.0/token', {'grant_type': '1'}, '', '7BA26C076E5ECB1E959BE274A0FFB397B2B1865FC7BCED8F1C78AC5653C20CAA'),
    ('GET', '/v2.0/cloud/thing/vdev1243432abc/firmware', None, TOKEN, '1293108CFA400EFE7F09A1D3B267D8DBDFA4E400C6B57B2EC5FF730DBAB58908'),
    ('POST', '/v2.0/cloud/thing/vdev1243432abc/firmware/0', None, TOKEN, 'D2E53182E9D6A885B9CA135DE8781BA0C573085BEA38CA58E8FBB5C943AE75BF'),
    ('GET', '/v2.0/cloud/thing/batch', {'device_ids': 'd1,d2'}, TOKEN, 'B9742AD53BD36B0F1AB8FE37914BC0D2EC677CF73B3C4F3F4BB674F0D9382189'),
])
def test_connector_vectors_without_nonce(method, path, query, token, expected):
    sts = tuya_string_to_sign(method, path, query, b'')
    assert tuya_sign(SECRET, CLIENT_ID, T, sts, access_token=token) == expected


def test_query_is_sorted_and_not_url_encoded():
    assert tuya_canonical_url('/p', [('b', 'x y,z'), ('a', '1'), ('c', None)]) == '/p?a=1&b=x y,z'
    assert tuya_canonical_url('/p', {}) == '/p'


def test_body_bytes_change_the_sign_and_the_secret_is_the_key():
    empty = tuya_string_to_sign('POST', '/v2.0/x', None, b'')
    body = tuya_string_to_sign('POST', '/v2.0/x', None, b'{"a":1}')
    assert empty != body and hashlib.sha256(b'{"a":1}').hexdigest() in body
    assert tuya_sign(SECRET, CLIENT_ID, T, body) != tuya_sign(SECRET + 'x', CLIENT_ID, T, body)
    assert tuya_sign(SECRET, CLIENT_ID, T, body) == tuya_sign(SECRET, CLIENT_ID, T, body).upper()
