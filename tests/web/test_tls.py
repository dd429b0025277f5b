"""Cases 19 and 27: TLS is verified and fails closed; https never silently downgrades to http.

Certificates are made in the test with ``cryptography``: a private CA (trusted through
``HttpOptions.ca_bundle``, which adds to the public roots), leaves that are good, expired or for
another name, and a self-signed certificate nobody trusts.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import ssl
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest
from faultserver import FaultServer, SleepRecorder, fast_options

from web import ErrorClass, Fetcher, FetchRequest

x509 = pytest.importorskip("cryptography.x509", reason="cryptography is needed to make test certificates")
from cryptography.hazmat.primitives import hashes, serialization  # noqa: E402
from cryptography.hazmat.primitives.asymmetric import ec  # noqa: E402
from cryptography.x509.oid import NameOID  # noqa: E402

NOW = dt.datetime.now(dt.UTC)


def _name(common: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common)])


def _cert(
    subject: str,
    key: ec.EllipticCurvePrivateKey,
    issuer: tuple[str, ec.EllipticCurvePrivateKey] | None,
    *,
    sans: list[str],
    ca: bool = False,
    expired: bool = False,
) -> x509.Certificate:
    issuer_name, issuer_key = issuer if issuer is not None else (subject, key)
    start, end = (
        (NOW - dt.timedelta(days=30), NOW - dt.timedelta(days=1))
        if expired
        else (
            NOW - dt.timedelta(days=1),
            NOW + dt.timedelta(days=30),
        )
    )
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(subject))
        .issuer_name(_name(issuer_name))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(end)
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    if sans:
        entries: list[x509.GeneralName] = []
        for san in sans:
            try:
                entries.append(x509.IPAddress(ipaddress.ip_address(san)))
            except ValueError:
                entries.append(x509.DNSName(san))
        builder = builder.add_extension(x509.SubjectAlternativeName(entries), critical=False)
    if ca:
        builder = builder.add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
    return builder.sign(issuer_key, hashes.SHA256())


class Pki:
    """A throwaway CA and server certificates written to a temp dir."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.ca_key = ec.generate_private_key(ec.SECP256R1())
        self.ca = _cert("newsflow test CA", self.ca_key, None, sans=[], ca=True)
        self.ca_pem = self._write("ca.pem", self.ca.public_bytes(serialization.Encoding.PEM))

    def _write(self, name: str, data: bytes) -> str:
        path = self.root / name
        path.write_bytes(data)
        return str(path)

    def server_context(
        self, name: str, *, sans: list[str], expired: bool = False, self_signed: bool = False
    ) -> ssl.SSLContext:
        key = ec.generate_private_key(ec.SECP256R1())
        issuer = None if self_signed else ("newsflow test CA", self.ca_key)
        cert = _cert(sans[0] if sans else "x", key, issuer, sans=sans, expired=expired)
        cert_path = self._write(f"{name}.pem", cert.public_bytes(serialization.Encoding.PEM))
        key_path = self._write(
            f"{name}.key",
            key.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            ),
        )
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(cert_path, key_path)
        return context


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    return Pki(tmp_path_factory.mktemp("pki"))


@pytest.fixture
def tls_server(pki: Pki) -> Iterator[FaultServer]:
    with FaultServer(ssl_context=pki.server_context("good", sans=["localhost", "127.0.0.1"])) as srv:
        yield srv


def test_trusted_certificate_works_through_the_pinned_connection(tls_server: FaultServer, pki: Pki) -> None:
    # The TCP connection goes to the checked IP while SNI and verification use the URL's host name.
    with Fetcher(fast_options(ca_bundle=pki.ca_pem)) as fetcher:
        [by_name] = fetcher.fetch(FetchRequest(tls_server.url("/ok", host="localhost"), kind="feed"))
        [by_ip] = fetcher.fetch(FetchRequest(tls_server.url("/ok"), kind="feed"))
    assert by_name.error_class is None, by_name.error_detail
    assert by_ip.error_class is None, by_ip.error_detail


@pytest.mark.parametrize(
    ("name", "kwargs"),
    [
        ("self-signed", {"sans": ["localhost", "127.0.0.1"], "self_signed": True}),
        ("expired", {"sans": ["localhost", "127.0.0.1"], "expired": True}),
        ("wrong-host", {"sans": ["other.example"]}),
    ],
)
def test_case_27_bad_certificates_fail_closed_without_retry(
    pki: Pki, sleeps: SleepRecorder, name: str, kwargs: dict[str, object]
) -> None:
    context = pki.server_context(name, **kwargs)  # type: ignore[arg-type]
    with (
        FaultServer(ssl_context=context) as server,
        Fetcher(fast_options(ca_bundle=pki.ca_pem), sleep=sleeps) as f,
    ):
        results = f.fetch(FetchRequest(server.url("/ok", host="localhost"), kind="feed"))
        assert server.hits["/ok"] == 0  # no request was ever sent over the bad channel
    assert [r.error_class for r in results] == [ErrorClass.TLS]
    assert results[0].body is None and sleeps.calls == []


def test_case_27_untrusted_ca_fails_without_the_bundle(tls_server: FaultServer) -> None:
    with Fetcher(fast_options()) as fetcher:
        [result] = fetcher.fetch(FetchRequest(tls_server.url("/ok", host="localhost"), kind="feed"))
    assert result.error_class is ErrorClass.TLS
    assert "CERTIFICATE_VERIFY_FAILED" in (result.error_detail or "")


def test_case_27_tls_to_a_plain_http_port_is_a_tls_error(server: FaultServer, sleeps: SleepRecorder) -> None:
    url = server.url("/ok").replace("http://", "https://")
    with Fetcher(fast_options(), sleep=sleeps) as fetcher:
        results = fetcher.fetch(FetchRequest(url, kind="feed"))
    assert [r.error_class for r in results] == [ErrorClass.TLS]


def test_case_19_https_to_http_downgrade_is_refused(
    tls_server: FaultServer, server: FaultServer, pki: Pki
) -> None:
    target = quote(server.url("/ok"), safe="")
    with Fetcher(fast_options(ca_bundle=pki.ca_pem)) as fetcher:
        results = fetcher.fetch(
            FetchRequest(tls_server.url(f"/to?url={target}", host="localhost"), kind="feed")
        )
    assert [r.error_class for r in results] == [ErrorClass.DOWNGRADE]
    assert results[0].status == 302
    assert server.hits["/ok"] == 0


def test_case_19_http_to_https_upgrade_is_followed(
    tls_server: FaultServer, server: FaultServer, pki: Pki
) -> None:
    target = quote(tls_server.url("/ok", host="localhost"), safe="")
    with Fetcher(fast_options(ca_bundle=pki.ca_pem)) as fetcher:
        [result] = fetcher.fetch(FetchRequest(server.url(f"/to?url={target}"), kind="feed"))
    assert result.error_class is None
    assert result.final_url == tls_server.url("/ok", host="localhost")


def test_a_stalled_tls_handshake_is_bounded_by_the_connect_timeout(sleeps: SleepRecorder) -> None:
    import socket

    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)  # the kernel completes TCP handshakes; nobody ever answers the ClientHello
    port = listener.getsockname()[1]
    try:
        with Fetcher(fast_options(connect_timeout=0.3, max_attempts=1), sleep=sleeps) as fetcher:
            [result] = fetcher.fetch(FetchRequest(f"https://127.0.0.1:{port}/", kind="feed"))
    finally:
        listener.close()
    assert result.error_class is ErrorClass.CONNECT_TIMEOUT
    assert result.elapsed_ms < 2000
