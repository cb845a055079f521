"""Signing webhooks the way RealtimeKit does (RSA PKCS#1 v1.5, SHA-256, base64), for the local
stand-in, replays against local mode, and tests. The private key never leaves dev tooling."""

from __future__ import annotations

import base64
from pathlib import Path

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

DEFAULT_KEY_DIR = Path(".meeting-vault")


class WebhookSigner:
    def __init__(self, private_key: rsa.RSAPrivateKey) -> None:
        self._key = private_key

    @classmethod
    def generate(cls) -> WebhookSigner:
        return cls(rsa.generate_private_key(public_exponent=65537, key_size=2048))

    @classmethod
    def from_pem(cls, pem: bytes) -> WebhookSigner:
        key = serialization.load_pem_private_key(pem, password=None)
        if not isinstance(key, rsa.RSAPrivateKey):
            raise ValueError("the webhook signing key must be an RSA private key")
        return cls(key)

    @classmethod
    def local_dev(cls, key_dir: Path = DEFAULT_KEY_DIR) -> WebhookSigner:
        """The key pair shared by ``meeting-vault dev`` and ``demo`` on this machine, made on first use."""
        path = key_dir / "dev-webhook-signing-key.pem"
        if path.exists():
            return cls.from_pem(path.read_bytes())
        signer = cls.generate()
        key_dir.mkdir(parents=True, exist_ok=True)
        path.write_bytes(signer.private_pem())
        path.chmod(0o600)
        (key_dir / "dev-webhook-public-key.pem").write_text(signer.public_pem())
        return signer

    def sign(self, body: bytes) -> str:
        return base64.b64encode(self._key.sign(body, padding.PKCS1v15(), hashes.SHA256())).decode()

    def public_pem(self) -> str:
        return (
            self._key.public_key()
            .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
            .decode()
        )

    def private_pem(self) -> bytes:
        return self._key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
