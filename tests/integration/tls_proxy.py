# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""TLS in front of the emulator, for tests of certificate handling. Loopback only.

- make_pki(directory): a private CA and a server certificate it signed (for 127.0.0.1 and localhost), as PEM files.
- TlsProxy(target_url, cert, key): terminates TLS with that certificate and forwards the plain bytes to the
  emulator's HTTP port; its url is https://127.0.0.1:<port>.
- ConnectProxy(): a plain HTTP proxy that only tunnels (CONNECT), counting tunnels, to see that HTTPS_PROXY is used.

Each connection is served by its own thread, which relays both ways with select (an SSL socket must not be read
and written from two threads at once).
"""

import datetime
import ipaddress
import pathlib
import select
import socket
import ssl
import threading
from urllib.parse import urlparse

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID


class Pki:
    def __init__(self, ca_cert, server_cert, server_key):
        self.ca_cert = ca_cert          # PEM file of the CA certificate: what a client needs as ca_path
        self.server_cert = server_cert  # PEM file of the server certificate followed by the CA's
        self.server_key = server_key


def _name(common_name):
    return x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, 'fleetota tests'), x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def make_pki(directory, hosts=('127.0.0.1', 'localhost')):
    """A CA and a server certificate for `hosts` signed by it, written under directory; returns a Pki."""
    directory = pathlib.Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    now = datetime.datetime.now(datetime.timezone.utc)
    not_before, not_after = now - datetime.timedelta(hours=1), now + datetime.timedelta(days=2)

    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = _name('fleetota test CA')
    ca = (x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name).public_key(ca_key.public_key())
          .serial_number(x509.random_serial_number()).not_valid_before(not_before).not_valid_after(not_after)
          .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
          .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True, content_commitment=False,
                                       key_encipherment=False, data_encipherment=False, key_agreement=False,
                                       encipher_only=False, decipher_only=False), critical=True)
          .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
          .sign(ca_key, hashes.SHA256()))

    key = ec.generate_private_key(ec.SECP256R1())
    names = []
    for host in hosts:
        try:
            names.append(x509.IPAddress(ipaddress.ip_address(host)))
        except ValueError:
            names.append(x509.DNSName(host))
    server = (x509.CertificateBuilder().subject_name(_name(hosts[0])).issuer_name(ca_name).public_key(key.public_key())
              .serial_number(x509.random_serial_number()).not_valid_before(not_before).not_valid_after(not_after)
              .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
              .add_extension(x509.SubjectAlternativeName(names), critical=False)
              .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
              .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
              .sign(ca_key, hashes.SHA256()))

    pem = serialization.Encoding.PEM
    pki = Pki(directory / 'ca.pem', directory / 'server.pem', directory / 'server.key')
    pki.ca_cert.write_bytes(ca.public_bytes(pem))
    pki.server_cert.write_bytes(server.public_bytes(pem) + ca.public_bytes(pem))
    pki.server_key.write_bytes(key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    pki.server_key.chmod(0o600)
    return pki


def _relay(first, second, idle=120.0):
    """Copy bytes both ways until either side closes or nothing moves for `idle` seconds."""
    sockets = (first, second)
    try:
        while True:
            ready = [sock for sock in sockets if isinstance(sock, ssl.SSLSocket) and sock.pending()]
            if not ready:
                ready, _unused, _unused = select.select(sockets, [], [], idle)
                if not ready:
                    return
            for sock in ready:
                data = sock.recv(65536)
                if not data:
                    return
                (second if sock is first else first).sendall(data)
    except (OSError, ssl.SSLError):
        return
    finally:
        for sock in sockets:
            try:
                sock.close()
            except OSError:
                pass


class _Listener:
    """Accepts on a loopback port and hands every connection to self._serve in its own thread."""

    def __init__(self):
        self._sock = socket.create_server(('127.0.0.1', 0))
        self.port = self._sock.getsockname()[1]
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._accept, name=type(self).__name__, daemon=True)

    def start(self):
        self._thread.start()
        return self

    def stop(self):
        self._stopped.set()
        self._sock.close()
        self._thread.join(timeout=5)

    def _accept(self):
        while not self._stopped.is_set():
            try:
                conn, _address = self._sock.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn):
        raise NotImplementedError


class TlsProxy(_Listener):
    """https://127.0.0.1:<port> -> the plain HTTP server at target_url, with the given certificate chain and key."""

    def __init__(self, target_url, cert, key):
        super().__init__()
        target = urlparse(target_url)
        self.target = (target.hostname, target.port)
        self.context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.context.load_cert_chain(str(cert), str(key))
        self.url = 'https://127.0.0.1:%d' % self.port
        self.handshake_failures = 0  # clients that refused the certificate (or failed otherwise)

    def _serve(self, conn):
        conn.settimeout(30)
        try:
            tls = self.context.wrap_socket(conn, server_side=True)
        except (OSError, ssl.SSLError):
            self.handshake_failures += 1
            conn.close()
            return
        tls.settimeout(None)
        try:
            upstream = socket.create_connection(self.target, timeout=30)
        except OSError:
            tls.close()
            return
        upstream.settimeout(None)
        _relay(tls, upstream)


class ConnectProxy(_Listener):
    """http://127.0.0.1:<port>: an HTTP proxy that tunnels CONNECT requests to loopback ports, and nothing else."""

    def __init__(self):
        super().__init__()
        self.url = 'http://127.0.0.1:%d' % self.port
        self.tunnels = []  # 'host:port' of every CONNECT

    def _serve(self, conn):
        conn.settimeout(30)
        try:
            head = b''
            while b'\r\n\r\n' not in head:
                chunk = conn.recv(4096)
                if not chunk:
                    raise OSError('client closed')
                head += chunk
            method, target = head.split(b'\r\n', 1)[0].decode('latin-1').split(' ')[:2]
            host, port = target.rsplit(':', 1)
            if method != 'CONNECT' or host not in ('127.0.0.1', 'localhost'):
                conn.sendall(b'HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n')
                conn.close()
                return
            upstream = socket.create_connection((host, int(port)), timeout=30)
        except (OSError, ValueError):
            conn.close()
            return
        self.tunnels.append(target)
        conn.sendall(b'HTTP/1.1 200 Connection established\r\n\r\n')
        conn.settimeout(None)
        upstream.settimeout(None)
        _relay(conn, upstream)
