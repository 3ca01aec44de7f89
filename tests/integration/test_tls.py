# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""TLS against an endpoint with a private CA (tls_proxy.TlsProxy in front of the emulator), through ansible-playbook,
ansible-inventory and the AWX credential type, with REQUESTS_CA_BUNDLE and CURL_CA_BUNDLE naming another bundle, as
they do in many execution environments and CI machines."""

import json

import certifi
import pytest

import awx_runner  # pylint: disable=import-error
import tls_proxy  # pylint: disable=import-error
from conftest import CONNECTIONS, PASSWORD, collections_path, inventory_file, run_inventory, task  # pylint: disable=import-error

# A bundle that does not hold the test CA: with it in the environment, only what the user set can make a request succeed.
OTHER_BUNDLE = {'REQUESTS_CA_BUNDLE': certifi.where(), 'CURL_CA_BUNDLE': certifi.where()}
# No proxy, whatever the machine has (an empty lower-case variable also cancels its upper-case twin).
NO_PROXY = {'HTTPS_PROXY': '', 'https_proxy': '', 'ALL_PROXY': '', 'all_proxy': '', 'NO_PROXY': '', 'no_proxy': ''}
FAIL_UNPARSED = {'ANSIBLE_INVENTORY_UNPARSED_FAILED': 'True'}  # a source that fails fails ansible-inventory
INFO = 'fleetota.cloud.firmware_info'


@pytest.fixture(scope='module')
def pki(tmp_path_factory):
    return tls_proxy.make_pki(tmp_path_factory.mktemp('pki'))


@pytest.fixture(scope='module')
def tls_server(emulator_server, pki):
    proxy = tls_proxy.TlsProxy(emulator_server.url, pki.server_cert, pki.server_key).start()
    try:
        yield proxy
    finally:
        proxy.stop()


@pytest.fixture
def tls(emulator, tls_server):
    """The emulator (reset) behind TLS: tls.url is its https URL, tls.connection() the connection options for it."""
    tls_server.emulator = emulator
    tls_server.connection = lambda **overrides: emulator.connection(endpoint=tls_server.url, **overrides)
    return tls_server


def env(*parts):
    merged = dict(NO_PROXY)
    for part in parts:
        merged.update(part)
    return merged


def succeeded(run, name='out'):
    """The registered result of a task that must have worked (tasks ignore errors, so rc alone says nothing)."""
    assert run.data is not None, run.output
    result = run.data[name]
    assert result.get('failed') is not True, result
    assert result['firmwares'], result
    return result


def no_traceback(output):
    assert 'Traceback' not in output and 'Exception' not in output, output
    assert PASSWORD not in output


def test_what_the_user_set_wins_over_the_environment_bundle(tls, playbook, pki):
    run = playbook([task(INFO, register='default'),
                    task(INFO, register='trusted', ca_path=str(pki.ca_cert)),
                    task(INFO, register='insecure', validate_certs=False)],
                   keep=('default', 'trusted', 'insecure'), connection=tls.connection(), env=env(OTHER_BUNDLE), args=('-vvv',))
    assert run.data is not None, run.output
    no_traceback(run.output)

    default = run.data['default']
    assert default['failed'] is True
    assert default['msg'].startswith('TLS certificate verification failed for 127.0.0.1 (%s): ' % tls.url), default['msg']
    assert 'checked against the CA bundle %s from REQUESTS_CA_BUNDLE' % certifi.where() in default['msg']
    assert 'Set ca_path (or FLEETOTA_CA_PATH)' in default['msg'] and 'validate_certs=false' in default['msg']

    trusted = succeeded(run, 'trusted')
    assert not trusted.get('warnings')

    insecure = succeeded(run, 'insecure')
    assert insecure['firmwares'] == trusted['firmwares']
    assert insecure['warnings'] == ['TLS certificate verification is disabled for %s' % tls.url]
    assert 'InsecureRequestWarning' not in run.output
    assert tls.emulator.writes() == {}


def test_ca_path_from_the_environment(tls, playbook, pki):
    run = playbook([task(INFO)], connection=tls.connection(), env=env(OTHER_BUNDLE, {'FLEETOTA_CA_PATH': str(pki.ca_cert)}))
    no_traceback(run.output)
    succeeded(run)


def test_missing_or_unreadable_ca_path_is_an_option_error_before_any_request(tls, playbook, tmp_path):
    missing = tmp_path / 'no-such-dir' / 'ca.pem'
    garbage = tmp_path / 'garbage.pem'
    garbage.write_text('-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n')
    handshakes = tls.handshake_failures
    run = playbook([task(INFO, register='missing', ca_path=str(missing)),
                    task(INFO, register='from_env'),
                    task(INFO, register='garbage', ca_path=str(garbage))],
                   keep=('missing', 'from_env', 'garbage'), connection=tls.connection(),
                   env=env(OTHER_BUNDLE, {'FLEETOTA_CA_PATH': str(missing)}))
    assert run.data is not None, run.output
    no_traceback(run.output)
    expected = "ca_path '%s' is not a file or directory: expected the path of a PEM file of the CA certificates" % missing
    assert run.data['missing']['failed'] is True and expected in run.data['missing']['msg']
    assert run.data['from_env']['failed'] is True and expected in run.data['from_env']['msg']
    assert run.data['garbage']['failed'] is True
    assert "ca_path '%s' holds no CA certificate that can be read" % garbage in run.data['garbage']['msg']
    assert tls.emulator.stats() == {}  # nothing reached the API
    assert tls.handshake_failures == handshakes  # nor even a TLS handshake


def test_an_empty_ca_path_variable_counts_as_not_set(tls, playbook, pki, tmp_path):
    """AWX injects FLEETOTA_CA_PATH='' for a credential without CA bundle; then the environment's bundle applies."""
    own_bundle = {'REQUESTS_CA_BUNDLE': str(pki.ca_cert), 'CURL_CA_BUNDLE': str(pki.ca_cert), 'FLEETOTA_CA_PATH': ''}
    run = playbook([task(INFO)], connection=tls.connection(), env=env(own_bundle))
    no_traceback(run.output)
    succeeded(run)
    options = dict(tls.connection(), firmware_versions=False)
    proc = run_inventory(inventory_file(tmp_path, **options), env=env(own_bundle))
    no_traceback(proc.stdout + proc.stderr)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert len(json.loads(proc.stdout)['_meta']['hostvars']) == len(tls.emulator.devices())


def test_inventory_takes_ca_path_from_the_environment_and_warns_once_when_insecure(tls, pki, tmp_path):
    options = dict(tls.connection(), firmware_versions=False)
    path = inventory_file(tmp_path, **options)
    devices = len(tls.emulator.devices())

    proc = run_inventory(path, env=env(OTHER_BUNDLE, FAIL_UNPARSED))
    no_traceback(proc.stdout + proc.stderr)
    assert proc.returncode != 0
    assert 'TLS certificate verification failed for 127.0.0.1' in proc.stdout + proc.stderr

    proc = run_inventory(path, env=env(OTHER_BUNDLE, {'FLEETOTA_CA_PATH': str(pki.ca_cert)}))
    no_traceback(proc.stdout + proc.stderr)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert len(json.loads(proc.stdout)['_meta']['hostvars']) == devices

    proc = run_inventory(path, env=env(OTHER_BUNDLE, {'FLEETOTA_VALIDATE_CERTS': 'false'}))
    no_traceback(proc.stdout + proc.stderr)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert len(json.loads(proc.stdout)['_meta']['hostvars']) == devices
    assert 'TLS certificate verification is disabled for %s' % tls.url in proc.stderr
    assert 'InsecureRequestWarning' not in proc.stderr and 'Unverified HTTPS request' not in proc.stderr

    proc = run_inventory(path, env=env(OTHER_BUNDLE, FAIL_UNPARSED, {'FLEETOTA_CA_PATH': str(tmp_path / 'missing.pem')}))
    no_traceback(proc.stdout + proc.stderr)
    assert proc.returncode != 0
    assert "ca_path '%s' is not a file or directory" % (tmp_path / 'missing.pem') in proc.stdout + proc.stderr


def test_https_proxy_from_the_environment_is_still_used(tls, playbook, pki):
    proxy = tls_proxy.ConnectProxy().start()
    try:
        run = playbook([task(INFO, ca_path=str(pki.ca_cert))], connection=tls.connection(),
                       env=env(OTHER_BUNDLE, {'HTTPS_PROXY': proxy.url, 'https_proxy': proxy.url}))
    finally:
        proxy.stop()
    no_traceback(run.output)
    succeeded(run)
    assert proxy.tunnels and set(proxy.tunnels) == {'127.0.0.1:%d' % tls.port}


def awx_inputs(tls, **extra):
    return dict(CONNECTIONS['magewell'], endpoint=tls.url, **extra)


def test_awx_credential_ca_bundle_and_certificate_validation(tls, pki, tmp_path):
    """The credential type's CA bundle is injected as a file named by FLEETOTA_CA_PATH; its checkbox turns validation off."""
    bundle_env = awx_runner.injected_env('magewell', awx_inputs(tls, ca_bundle=pki.ca_cert.read_text()), files_dir=tmp_path)
    assert bundle_env['FLEETOTA_VALIDATE_CERTS'] == 'true'
    assert open(bundle_env['FLEETOTA_CA_PATH'], encoding='utf-8').read() == pki.ca_cert.read_text()
    hosts = awx_runner.inventory_update(tmp_path, collections_path(), env(OTHER_BUNDLE, bundle_env))
    assert len(hosts) == len(tls.emulator.devices())

    plain_env = awx_runner.injected_env('magewell', awx_inputs(tls), files_dir=tmp_path)
    assert plain_env['FLEETOTA_CA_PATH'] == '' and plain_env['FLEETOTA_VALIDATE_CERTS'] == 'true'  # unset: verify, as by default
    with pytest.raises(RuntimeError, match='TLS certificate verification failed for 127.0.0.1'):
        awx_runner.inventory_update(tmp_path, collections_path(), env(OTHER_BUNDLE, plain_env))

    insecure_env = awx_runner.injected_env('magewell', awx_inputs(tls, disable_certificate_validation=True), files_dir=tmp_path)
    assert insecure_env['FLEETOTA_VALIDATE_CERTS'] == 'false'
    hosts = awx_runner.inventory_update(tmp_path, collections_path(), env(OTHER_BUNDLE, insecure_env))
    assert len(hosts) == len(tls.emulator.devices())
