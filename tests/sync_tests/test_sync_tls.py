"""A node checks central's certificate: refused when it cannot be verified, accepted with the
CA that signed it (central behind TLS, as behind its reverse proxy)."""

from __future__ import annotations

import ssl
import subprocess
from pathlib import Path

import pytest
from synckit import Central

from fieldapp.extensions import db
from sync import errors
from sync.node.transport import enrol
from testing.servers import ThreadServer


def _certificates(folder: Path) -> tuple[Path, Path, Path]:
    """A CA, and a certificate it signs for 127.0.0.1 (openssl, as an administrator would)."""
    ca_key, ca_crt = folder / "ca.key", folder / "ca.crt"
    key, csr, crt = folder / "server.key", folder / "server.csr", folder / "server.crt"
    ext = folder / "san.ext"
    ext.write_text("subjectAltName=IP:127.0.0.1\n")
    run = lambda *args: subprocess.run(["openssl", *args], check=True,  # noqa: E731, S603, S607
                                       capture_output=True)
    run("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj",
        "/CN=Alto Mayo test CA", "-keyout", str(ca_key), "-out", str(ca_crt))
    run("req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=127.0.0.1", "-keyout", str(key),
        "-out", str(csr))
    run("x509", "-req", "-in", str(csr), "-CA", str(ca_crt), "-CAkey", str(ca_key),
        "-CAcreateserial", "-days", "2", "-extfile", str(ext), "-out", str(crt))
    return ca_crt, crt, key


@pytest.fixture
def tls_central(central: Central, tmp_path: Path):
    ca, crt, key = _certificates(tmp_path)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(str(crt), str(key))
    server = ThreadServer(central.app, ssl_context=context).start()
    yield central, server.url, ca
    server.stop()


def test_a_node_refuses_an_unverified_certificate_and_accepts_its_ca(tls_central, make_node):
    central, url, ca = tls_central
    central.add_community("C1")
    code = central.register("TLS", ("C1",))
    node = make_node("TLS")
    with node.app.app_context(), pytest.raises(errors.TLSFailure):
        enrol(node.state, url, code)
    with node.app.app_context():
        creds = enrol(node.state, url, code, ca_file=str(ca))
        db.session.rollback()
    assert creds["ca_file"] == str(ca)
    report = node.sync()
    assert report.ok
    assert report.pulled == 1
