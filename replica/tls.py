"""A self-signed certificate for the network's hosts, made at start-up, and the server-side
TLS context that terminates CONNECT tunnels with it.

Scrapy does not verify certificates by default; the certificate still names every network
host (and ``*.`` of each) so that a client can verify against :attr:`TlsMaterial.cert_pem`.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
import ssl
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID


@dataclass(frozen=True, slots=True)
class TlsMaterial:
    context: ssl.SSLContext
    cert_pem: bytes


def make_tls(domains: Iterable[str]) -> TlsMaterial:
    """Generate a key and certificate in memory and load them into a server context."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, "Space Media Network replica"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "smn-crawler tests"),
        ]
    )
    alt_names: list[x509.GeneralName] = [x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
    alt_names.append(x509.DNSName("localhost"))
    for domain in domains:
        alt_names += [x509.DNSName(domain), x509.DNSName(f"*.{domain}")]
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=30))
        .add_extension(x509.SubjectAlternativeName(alt_names), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_pem = cert.public_bytes(serialization.Encoding.PEM)
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.set_alpn_protocols(["http/1.1"])
    # ssl can only load a chain from files: write them to a private temporary directory and
    # delete them at once, the context keeps its own copy.
    with tempfile.TemporaryDirectory(prefix="smn-replica-tls-") as tmp:
        cert_path = os.path.join(tmp, "cert.pem")
        key_path = os.path.join(tmp, "key.pem")
        with open(cert_path, "wb") as f:
            f.write(cert_pem)
        with os.fdopen(os.open(key_path, os.O_WRONLY | os.O_CREAT, 0o600), "wb") as f:
            f.write(key_pem)
        context.load_cert_chain(cert_path, key_path)
    return TlsMaterial(context, cert_pem)
