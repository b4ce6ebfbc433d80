"""Secrets the product must use again (a mail server's password), encrypted at rest with MAIL_PASSWORD_KEY.

Fernet (the `cryptography` package): AES-128-CBC with an HMAC, so a changed or foreign key is
detected rather than decrypting to garbage.
"""
from __future__ import annotations

from cryptography.fernet import Fernet, InvalidToken


class KeyMissing(RuntimeError):
    """MAIL_PASSWORD_KEY is unset or not a Fernet key."""


class Undecryptable(RuntimeError):
    """The secret was encrypted under another key (MAIL_PASSWORD_KEY was lost or changed), or is damaged."""


def new_key() -> str:
    return Fernet.generate_key().decode()


def _fernet(key: str) -> Fernet:
    if not key:
        raise KeyMissing("MAIL_PASSWORD_KEY is not set")
    try:
        return Fernet(key.encode())
    except ValueError:
        raise KeyMissing("MAIL_PASSWORD_KEY is not a Fernet key (32 bytes, url-safe base64)") from None


def encrypt(key: str, secret: str) -> bytes:
    return _fernet(key).encrypt(secret.encode())


def decrypt(key: str, token: bytes) -> str:
    try:
        return _fernet(key).decrypt(bytes(token)).decode()
    except InvalidToken:
        raise Undecryptable("the password was encrypted under another MAIL_PASSWORD_KEY") from None
