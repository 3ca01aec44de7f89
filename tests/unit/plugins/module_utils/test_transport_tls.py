# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""TLS settings of the transport: what the user set wins over REQUESTS_CA_BUNDLE / CURL_CA_BUNDLE, proxies still
come from the environment, and ca_path is checked before any request."""

import warnings

import pytest
import requests

from ansible_collections.fleetota.cloud.plugins.module_utils._connection import checked_ca_path, create_client
from ansible_collections.fleetota.cloud.plugins.module_utils._errors import ConfigError
from ansible_collections.fleetota.cloud.plugins.module_utils._transport import Transport

ENDPOINT = 'https://cloud.example.com'


class RecordingAdapter(requests.adapters.BaseAdapter):
    """Answers every request with 200 {} and records the verify and proxies requests hands the adapter."""

    def __init__(self):
        super().__init__()
        self.sent = []

    def send(self, request, stream=False, timeout=None, verify=True, cert=None, proxies=None):  # pylint: disable=arguments-differ
        self.sent.append({'verify': verify, 'proxies': dict(proxies or {})})
        response = requests.Response()
        response.status_code = 200
        response._content = b'{}'  # pylint: disable=protected-access
        response.url = request.url
        response.request = request
        return response

    def close(self):
        pass


def sent_with(monkeypatch, environment, **settings):
    """What one GET through a Transport built with settings hands the adapter, with these environment variables."""
    for name in ('REQUESTS_CA_BUNDLE', 'CURL_CA_BUNDLE', 'HTTPS_PROXY', 'https_proxy', 'NO_PROXY', 'no_proxy', 'ALL_PROXY', 'all_proxy'):
        monkeypatch.delenv(name, raising=False)
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    transport = Transport(ENDPOINT, **settings)
    adapter = RecordingAdapter()
    transport.session.mount('https://', adapter)
    transport.request('GET', '/v1/ping')
    transport.close()
    return adapter.sent[0]


BUNDLES = {'REQUESTS_CA_BUNDLE': '/env/requests-bundle.pem', 'CURL_CA_BUNDLE': '/env/curl-bundle.pem'}


@pytest.mark.parametrize('environment', [BUNDLES, {'CURL_CA_BUNDLE': '/env/curl-bundle.pem'}, {}])
def test_validate_certs_false_wins_over_the_environment(monkeypatch, environment):
    assert sent_with(monkeypatch, environment, validate_certs=False)['verify'] is False
    # Also over ca_path: false means no verification at all.
    assert sent_with(monkeypatch, environment, validate_certs=False, ca_path='/user/ca.pem')['verify'] is False


@pytest.mark.parametrize('environment', [BUNDLES, {'CURL_CA_BUNDLE': '/env/curl-bundle.pem'}, {}])
def test_ca_path_wins_over_the_environment(monkeypatch, environment):
    assert sent_with(monkeypatch, environment, ca_path='/user/ca.pem')['verify'] == '/user/ca.pem'


def test_without_user_settings_the_environment_bundle_applies_as_requests_does(monkeypatch):
    assert sent_with(monkeypatch, BUNDLES)['verify'] == '/env/requests-bundle.pem'
    assert sent_with(monkeypatch, {'CURL_CA_BUNDLE': '/env/curl-bundle.pem'})['verify'] == '/env/curl-bundle.pem'
    assert sent_with(monkeypatch, {})['verify'] is True


def test_proxies_still_come_from_the_environment(monkeypatch):
    sent = sent_with(monkeypatch, dict(BUNDLES, HTTPS_PROXY='http://proxy.example.com:3128'), ca_path='/user/ca.pem')
    assert sent['verify'] == '/user/ca.pem'
    assert sent['proxies'].get('https') == 'http://proxy.example.com:3128'
    sent = sent_with(monkeypatch, {'HTTPS_PROXY': 'http://proxy.example.com:3128', 'NO_PROXY': 'cloud.example.com'}, validate_certs=False)
    assert 'https' not in sent['proxies']


def test_warning_only_when_verification_of_an_https_endpoint_is_off():
    assert Transport(ENDPOINT, validate_certs=False).warnings == ['TLS certificate verification is disabled for https://cloud.example.com']
    assert Transport(ENDPOINT).warnings == []
    assert Transport(ENDPOINT, ca_path='/user/ca.pem').warnings == []
    assert Transport('http://cloud.example.com', validate_certs=False).warnings == []  # nothing to verify over plain HTTP


def test_ca_path_must_be_a_file_or_directory_of_ca_certificates(tmp_path):
    assert checked_ca_path(None) is None
    assert checked_ca_path('') is None  # an empty FLEETOTA_CA_PATH, as AWX injects for a credential without CA bundle
    assert checked_ca_path(str(tmp_path)) == str(tmp_path)
    missing = tmp_path / 'nope' / 'ca.pem'
    with pytest.raises(ConfigError, match="ca_path '%s' is not a file or directory" % missing):
        checked_ca_path(str(missing))
    garbage = tmp_path / 'garbage.pem'
    garbage.write_text('not a certificate\n')
    with pytest.raises(ConfigError, match="ca_path '%s' holds no CA certificate" % garbage):
        checked_ca_path(str(garbage))


def test_create_client_rejects_a_missing_ca_path_before_any_request(tmp_path, monkeypatch):
    def no_request(*args, **kwargs):
        raise AssertionError('a request was sent')

    monkeypatch.setattr(requests.Session, 'request', no_request)
    missing = tmp_path / 'missing.pem'
    options = {'platform': 'magewell', 'endpoint': ENDPOINT, 'username': 'Admin', 'password': 'pw', 'ca_path': str(missing)}
    with pytest.raises(ConfigError, match=str(missing)):
        create_client(options)


def test_insecure_request_warning_is_silenced_for_the_insecure_endpoint_only():
    from urllib3.exceptions import InsecureRequestWarning  # pylint: disable=import-outside-toplevel

    def warned(host):
        # The text urllib3 gives the warning for a request without certificate verification.
        warnings.warn("Unverified HTTPS request is being made to host '%s'. Adding certificate verification is strongly advised." % host,
                      InsecureRequestWarning)

    with warnings.catch_warnings(record=True) as caught:  # restores the filters when done
        warnings.simplefilter('always', InsecureRequestWarning)
        Transport('https://lab-%s.example.com:8443' % id(caught), validate_certs=False)
        Transport('https://verified-%s.example.com' % id(caught))
        warned('lab-%s.example.com' % id(caught))
        warned('verified-%s.example.com' % id(caught))
        warned('other-%s.example.com' % id(caught))
    assert [str(item.message).split("'")[1].split('-')[0] for item in caught] == ['verified', 'other']


def test_tls_failure_names_the_host_the_reason_the_bundle_and_what_to_set(monkeypatch):
    import ssl  # pylint: disable=import-outside-toplevel
    monkeypatch.setenv('REQUESTS_CA_BUNDLE', '/env/requests-bundle.pem')
    verify_error = ssl.SSLCertVerificationError(1, '[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed')
    verify_error.verify_message = 'self-signed certificate in certificate chain'
    wrapped = requests.exceptions.SSLError(Exception('Max retries exceeded', verify_error))
    wrapped.reason = 'a text, not an exception'  # links that are not exceptions are skipped
    message = Transport(ENDPOINT)._tls_failure(wrapped)  # pylint: disable=protected-access
    assert message == ('TLS certificate verification failed for cloud.example.com (https://cloud.example.com): self-signed certificate '
                       'in certificate chain, checked against the CA bundle /env/requests-bundle.pem from REQUESTS_CA_BUNDLE. '
                       'Set ca_path (or FLEETOTA_CA_PATH) to the CA bundle that signed its certificate, or validate_certs=false for a lab endpoint.')
    assert 'checked against ca_path /user/ca.pem.' in Transport(ENDPOINT, ca_path='/user/ca.pem')._tls_failure(wrapped)  # pylint: disable=protected-access
    handshake = requests.exceptions.SSLError(ssl.SSLError(1, '[SSL: WRONG_VERSION_NUMBER] wrong version number'))
    other = Transport(ENDPOINT)._tls_failure(handshake)  # pylint: disable=protected-access
    assert other.startswith('TLS connection to cloud.example.com (https://cloud.example.com) failed: ') and 'HTTPS URL' in other
