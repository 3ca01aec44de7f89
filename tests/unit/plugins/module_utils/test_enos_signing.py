# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The two EnOS hashes, pinned to the vectors of vendors/magewell_enos.md B.2.1 and B.2.2."""

import json

import pytest

from ansible_collections.fleetota.cloud.plugins.module_utils._signing import (
    enos_request_signature,
    enos_signed_headers,
    enos_token_encryption,
)

TOKEN = 'xxxxaaaxxxx'
SECRET = 'xxxappSecretxxx'
TIMESTAMP = 1572574909697
QUERY = {'k3': 'v3', 'k1': 'v1', 'k2': 'v2'}      # URL .../m/v1/b?k3=v3&k1=v1&k2=v2


def doc_body(desc):
    # The documented body: LF newlines, 2-space indent, no trailing newline, UTF-8.
    return (u'{\n  "count": 20,\n  "page": 1,\n  "desc": "%s"\n}' % desc).encode('utf-8')


def test_signature_matches_the_documented_known_answer():
    # The hash printed in the docs only reproduces with the original Chinese value of "desc"
    # (the English pages print "description" next to the same hash).
    assert enos_request_signature(TOKEN, QUERY, doc_body(u'描述'), TIMESTAMP, SECRET) == \
        '59828328f6c1f9771015dc74e4929ae30f518a35a3d2353972c2ea46556fc981'


def test_signature_with_the_english_body_gives_the_other_vector():
    assert enos_request_signature(TOKEN, QUERY, doc_body('description'), TIMESTAMP, SECRET) == \
        'ad6dc6fc97f4290f3724e94eab38168d8613c41c3a4569b4b8b0efbce96a816c'


@pytest.mark.parametrize('body', [None, b''])
def test_get_signature_has_no_body_part(body):
    assert enos_request_signature(TOKEN, QUERY, body, TIMESTAMP, SECRET) == \
        '9c7e8810c67a4c1642b41acf89c6d8ebdb697d19ba45a6ee9f170dbbc8ad0e0a'


def test_signature_sorts_the_query_by_key_not_by_insertion_order():
    reordered = dict(sorted(QUERY.items(), reverse=True))
    assert enos_request_signature(TOKEN, reordered, None, TIMESTAMP, SECRET) == enos_request_signature(TOKEN, QUERY, None, TIMESTAMP, SECRET)


def test_signature_covers_the_exact_body_bytes():
    compact = json.dumps({'count': 20, 'page': 1}, separators=(',', ':')).encode('utf-8')
    spaced = json.dumps({'count': 20, 'page': 1}).encode('utf-8')
    assert enos_request_signature(TOKEN, QUERY, compact, TIMESTAMP, SECRET) != enos_request_signature(TOKEN, QUERY, spaced, TIMESTAMP, SECRET)


@pytest.mark.parametrize('change', ['token', 'query', 'timestamp', 'secret'])
def test_every_input_changes_the_signature(change):
    args = dict(access_token=TOKEN, query=dict(QUERY), body=None, timestamp_ms=TIMESTAMP, app_secret=SECRET)
    before = enos_request_signature(**args)
    if change == 'token':
        args['access_token'] += 'x'
    elif change == 'query':
        args['query']['k1'] = 'v9'
    elif change == 'timestamp':
        args['timestamp_ms'] += 1
    else:
        args['app_secret'] += 'x'
    assert enos_request_signature(**args) != before


def test_signed_headers_carry_token_signature_and_timestamp():
    headers = enos_signed_headers(TOKEN, QUERY, None, TIMESTAMP, SECRET)
    assert headers == {
        'apim-accesstoken': TOKEN,
        'apim-signature': '9c7e8810c67a4c1642b41acf89c6d8ebdb697d19ba45a6ee9f170dbbc8ad0e0a',
        'apim-timestamp': '1572574909697',
    }
    assert SECRET not in ''.join(headers.values())


def test_token_encryption_matches_the_vector():
    # Doc sample appKey and timestamp; the doc gives no appSecret, so the vector uses ours (B.2.1).
    assert enos_token_encryption('5acb82e7-a11e-4300-9164-c8b20b638e8b', TIMESTAMP, SECRET) == \
        '83e2f674e53f1a71943b6c5fc9bd0eb27864c83075af8b4bf528f3faa8c7ca38'


def test_token_encryption_depends_on_every_part():
    base = enos_token_encryption('key', TIMESTAMP, SECRET)
    assert enos_token_encryption('key2', TIMESTAMP, SECRET) != base
    assert enos_token_encryption('key', TIMESTAMP + 1, SECRET) != base
    assert enos_token_encryption('key', TIMESTAMP, SECRET + 'x') != base
    assert base == base.lower() and len(base) == 64
