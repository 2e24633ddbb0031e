"""Secrets at rest: encrypted, bound to their purpose, and loud when the key changed."""

from __future__ import annotations

import pytest

from helpdesk.crypto import SecretBox
from helpdesk.errors import ConfigError


def test_encrypted_value_decrypts_to_the_original() -> None:
    box = SecretBox("k" * 40, "imap")
    token = box.encrypt("hunter2 ünïcode")
    assert box.decrypt(token) == "hunter2 ünïcode"
    assert b"hunter2" not in token


def test_same_value_encrypts_differently_each_time() -> None:
    box = SecretBox("k" * 40, "imap")
    assert box.encrypt("hunter2") != box.encrypt("hunter2")


def test_value_of_one_purpose_cannot_be_read_under_another() -> None:
    token = SecretBox("k" * 40, "imap").encrypt("hunter2")
    with pytest.raises(ConfigError):
        SecretBox("k" * 40, "intake").decrypt(token)


def test_changed_secret_key_fails_with_a_message_naming_it() -> None:
    token = SecretBox("old-secret-key", "imap").encrypt("hunter2")
    with pytest.raises(ConfigError, match="HELPDESK_SECRET_KEY changed"):
        SecretBox("new-secret-key", "imap").decrypt(token)


def test_tampered_value_is_refused() -> None:
    box = SecretBox("k" * 40, "imap")
    token = bytearray(box.encrypt("hunter2"))
    token[-5] ^= 1
    with pytest.raises(ConfigError):
        box.decrypt(bytes(token))


def test_empty_secret_key_is_a_configuration_error() -> None:
    with pytest.raises(ConfigError, match="HELPDESK_SECRET_KEY"):
        SecretBox("", "imap")
