# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The IoT Core RPC signature (vendors/tuya.md B.3), pinned to the published and derived vectors."""

import base64
import hashlib
import hmac

import pytest

from ansible_collections.fleetota.cloud.plugins.module_utils._platforms.tuya_iotcore import flatten_list
from ansible_collections.fleetota.cloud.plugins.module_utils._signing import (
    iotcore_canonical_query,
    iotcore_percent_encode,
    iotcore_signature,
    iotcore_signed_query,
    iotcore_string_to_sign,
    iotcore_timestamp,
)

ALIBABA_DOC = {
    'Action': 'Pub', 'AccessKeyId': 'testid', 'Format': 'XML', 'MessageContent': 'aGVsbG93b3JsZA=', 'ProductKey': '12345abcdeZ',
    'Qos': '0', 'RegionId': 'cn-shanghai', 'ServiceCode': 'iot', 'SignatureMethod': 'HMAC-SHA1',
    'SignatureNonce': '0715a395-aedf-4a41-bab7-746b43d38d88', 'SignatureVersion': '1.0', 'Timestamp': '2017-10-02T09:39:41Z',
    'TopicFullName': '/productKey/testdevice/get', 'Version': '2017-04-20',
}
TUYA_STYLE = {
    'Action': 'ListOTAFirmware', 'AccessKeyId': 'testid', 'CurrentPage': '1', 'PageSize': '10', 'ProductKey': 'k1nhvyl0000',
    'SignatureMethod': 'HMAC-SHA1', 'SignatureNonce': '8d6131cab4e6465d975ba65ba4d45aad', 'Timestamp': '2024-11-17T09:41:41Z',
}
ENCODING_STRESS = {
    'Action': 'CancelOTATaskByDevice', 'AccessKeyId': 'testid', 'DeviceName.1': 'dev 1', 'DeviceName.2': u'灯*~', 'FirmwareId': '168',
    'ProductKey': 'k1nhvyl0000', 'SignatureMethod': 'HMAC-SHA1', 'SignatureNonce': '9e6189124f5a4716ad2de849467b0000',
    'Timestamp': '2024-11-19T09:47:43Z',
}


@pytest.mark.parametrize('params, expected', [
    (ALIBABA_DOC, 'Y9eWn4nF8QPh3c4zAFkM/k/u7eA='),     # [DOC]+[VERIFIED] Alibaba's published example
    (TUYA_STYLE, '01A3Aup+8/kKNKfxkHJr+i5FuZ0='),      # [VERIFIED] derived, Tuya's ListOTAFirmware shape
    (ENCODING_STRESS, 'xKpkpgDjP0oxDgh99QVksd4NS2Q='),  # [VERIFIED] derived, identical from aliyunsdkcore
])
def test_signature_matches_the_vendor_vectors(params, expected):
    assert iotcore_signature('GET', params, 'testsecret') == expected


def test_string_to_sign_of_the_published_example():
    text = iotcore_string_to_sign('GET', ALIBABA_DOC)
    assert text.startswith('GET&%2F&AccessKeyId%3Dtestid%26Action%3DPub%26Format%3DXML%26MessageContent%3DaGVsbG93b3JsZA%253D%26')
    assert '%26Timestamp%3D2017-10-02T09%253A39%253A41Z%26TopicFullName%3D%252FproductKey%252Ftestdevice%252Fget%26Version%3D2017-04-20' in text
    assert text.endswith('Version%3D2017-04-20')


def test_canonical_part_of_the_encoding_stress_vector():
    text = iotcore_string_to_sign('GET', ENCODING_STRESS)
    assert 'DeviceName.1%3Ddev%25201%26DeviceName.2%3D%25E7%2581%25AF%252A~' in text


@pytest.mark.parametrize('raw, encoded', [
    ('~', '~'),                      # unreserved, literal
    ('*', '%2A'),
    ('+', '%2B'),
    (' ', '%20'),                    # never '+'
    ('a-b_c.d', 'a-b_c.d'),
    ('/', '%2F'),
    ('=', '%3D'),
    ('&', '%26'),
    ('%', '%25'),
    (u'é', '%C3%A9'),                # UTF-8 bytes, uppercase hex
    (u'灯', '%E7%81%AF'),
    (u'😀', '%F0%9F%98%80'),
    ('', ''),
    (12, '12'),
])
def test_percent_encoding_edge_cases(raw, encoded):
    assert iotcore_percent_encode(raw) == encoded


def test_canonical_query_sorts_by_encoded_name_and_leaves_out_signature():
    query = iotcore_canonical_query({'b': '2', 'B': '1', 'a.10': 'x', 'a.2': 'y', 'Signature': 'zzz'})
    assert query == 'B=1&a.10=x&a.2=y&b=2'   # byte order: uppercase first, '1' < '2'


def test_key_is_secret_plus_ampersand():
    params = {'Action': 'X'}
    expected = base64.b64encode(hmac.new(b'abc&', iotcore_string_to_sign('GET', params).encode(), hashlib.sha1).digest()).decode()
    assert iotcore_signature('GET', params, 'abc') == expected
    assert iotcore_signature('GET', params, 'abc&') != expected


def test_method_is_part_of_the_signature():
    assert iotcore_signature('GET', TUYA_STYLE, 'testsecret') != iotcore_signature('POST', TUYA_STYLE, 'testsecret')
    assert iotcore_string_to_sign('get', TUYA_STYLE).startswith('GET&%2F&')


def test_timestamp_is_utc_iso_seconds():
    assert iotcore_timestamp(1731836501) == '2024-11-17T09:41:41Z'
    assert iotcore_timestamp(0) == '1970-01-01T00:00:00Z'


def test_signed_query_is_a_pure_function_of_clock_and_nonce():
    args = ('GET', 'ListOTAFirmware', {'CurrentPage': 1, 'PageSize': 10, 'ProductKey': 'k1nhvyl0000', 'DestVersion': None},
            'testid', 'testsecret', 1731836501, '8d6131cab4e6465d975ba65ba4d45aad')
    query = iotcore_signed_query(*args)
    assert query == iotcore_signed_query(*args)
    pairs = dict(part.split('=', 1) for part in query.split('&'))
    assert 'DestVersion' not in pairs      # None means "not sent"
    assert pairs['Timestamp'] == '2024-11-17T09%3A41%3A41Z'
    assert pairs['SignatureMethod'] == 'HMAC-SHA1' and pairs['SignatureVersion'] == '1.0'
    assert pairs['Format'] == 'JSON' and pairs['Version'] == '2018-01-20'
    assert query.index('&Signature=') == len(query) - len('&Signature=' + pairs['Signature'])
    # The signature covers exactly what is sent: recompute it from the decoded pairs.
    sent = dict((k, v.replace('%3A', ':')) for k, v in pairs.items() if k != 'Signature')
    assert iotcore_percent_encode(iotcore_signature('GET', sent, 'testsecret')) == pairs['Signature']
    # Without our extra common parameters the same request gives the derived Tuya vector.
    assert iotcore_signature('GET', dict(TUYA_STYLE), 'testsecret') == '01A3Aup+8/kKNKfxkHJr+i5FuZ0='
    other = iotcore_signed_query(*(args[:6] + ('another-nonce',)))
    assert other.split('&Signature=')[1] != pairs['Signature']


def test_flatten_list_is_one_based():
    assert flatten_list('TargetDeviceName', ['a', 'b']) == {'TargetDeviceName.1': 'a', 'TargetDeviceName.2': 'b'}
    assert flatten_list('X', []) == {}


def test_emulator_implementation_agrees_with_the_vectors():
    pytest.importorskip('flask')   # the emulator is controller-side test tooling
    from emulator.tuya_iotcore import expected_signature  # pylint: disable=import-outside-toplevel  # an independent implementation
    for params, expected in ((ALIBABA_DOC, 'Y9eWn4nF8QPh3c4zAFkM/k/u7eA='), (ENCODING_STRESS, 'xKpkpgDjP0oxDgh99QVksd4NS2Q=')):
        assert expected_signature('GET', params, 'testsecret') == expected
