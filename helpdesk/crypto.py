"""Secrets at rest: values encrypted under a key derived from the installation's secret key."""

from __future__ import annotations

import base64

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives.hashes import SHA256
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from helpdesk.errors import ConfigError

# A fixed, product-specific salt: HKDF stays sound without a random one
# (RFC 5869 §3.1), and the key must be derivable again from the secret alone.
_SALT = b"helpdesk.crypto.SecretBox.v1"


class SecretBox:
    """Encrypts and decrypts short secrets (IMAP passwords, intake secrets).

    Each purpose gets its own key, so a value encrypted for one purpose cannot
    be passed off as another's. Fernet authenticates what it encrypts:
    AES-128-CBC with an HMAC-SHA256 over the ciphertext.
    """

    def __init__(self, secret_key: str, purpose: str) -> None:
        if not secret_key:
            raise ConfigError("HELPDESK_SECRET_KEY is empty; set it to a long random value")
        if not purpose:
            raise ValueError("a SecretBox needs a purpose")
        self._purpose = purpose
        self._fernet = Fernet(_derive_key(secret_key, purpose))

    def encrypt(self, plaintext: str) -> bytes:
        """Return the authenticated ciphertext of `plaintext`."""
        return self._fernet.encrypt(plaintext.encode("utf-8"))

    def decrypt(self, token: bytes) -> str:
        """Return the plaintext of a value this box (or one with the same key) encrypted.

        Raises:
            ConfigError: the value cannot be decrypted, most likely because
                HELPDESK_SECRET_KEY changed since it was stored.
        """
        try:
            return self._fernet.decrypt(token).decode("utf-8")
        except InvalidToken as exc:
            raise ConfigError(
                f"cannot decrypt a stored {self._purpose} secret: HELPDESK_SECRET_KEY "
                "changed since it was saved; restore the previous key or enter the "
                "secret again"
            ) from exc


def _derive_key(secret_key: str, purpose: str) -> bytes:
    hkdf = HKDF(algorithm=SHA256(), length=32, salt=_SALT, info=purpose.encode("utf-8"))
    return base64.urlsafe_b64encode(hkdf.derive(secret_key.encode("utf-8")))
