"""Secrets that wait in the database for a moment (a one-time password in an outbox row until the dispatcher sends
it), always encrypted: under the data key when ZYZ_DATA_KEY is set (workflow.core.datakeys), else under a key
derived from the application's secret key, so that such a secret is never stored in clear, configured key or not.

An outbox row's parameter `x_sealed` holds the sealed `x`; its authenticated data names the row's source and the
parameter, so that a value copied into another row does not open."""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Mapping
from typing import Any

from workflow.core.datakeys import KEYRING, PREFIX, DataKey
from workflow.core.settings import settings

SUFFIX = "_sealed"


def _derived() -> DataKey:
    secret = (settings.pseudonym_key or "zyz-development").encode()
    return DataKey("aes", hmac.new(secret, b"zyz sealed secret", hashlib.sha256).digest())


def seal_secret(text: str, purpose: str) -> str:
    """`text` encrypted: under the data key, or the key derived from the secret key when there is none."""
    return KEYRING.current.seal(text, purpose) if KEYRING.current is not None else _derived().seal(text, purpose)


def open_secret(stored: str, purpose: str) -> str:
    """What `seal_secret` sealed (under the data key, an older one still configured, or the derived key)."""
    derived = _derived()
    if stored.startswith(f"{PREFIX}:{derived.kid}:"):
        return derived.open(base64.b64decode(stored.split(":", 2)[2]), purpose)
    if not stored.startswith(PREFIX + ":"):
        raise ValueError(f"{purpose}: not a sealed value")
    return KEYRING.open(stored, purpose)


def param_purpose(source: str, name: str) -> str:
    return f"outbox_message.params.{name}:{source}"


def sealed_param(source: str, name: str, text: str) -> dict[str, str]:
    """The outbox parameter that carries `text` sealed: {"<name>_sealed": ...}."""
    return {name + SUFFIX: seal_secret(text, param_purpose(source, name))}


def open_params(params: Mapping[str, Any], source: str) -> dict[str, Any]:
    """An outbox row's parameters with each sealed one opened under its plain name."""
    opened: dict[str, Any] = {}
    for key, value in params.items():
        if key.endswith(SUFFIX) and isinstance(value, str):
            name = key[:-len(SUFFIX)]
            opened[name] = open_secret(value, param_purpose(source, name))
        else:
            opened[key] = value
    return opened

# A message param saying that the row's address was fixed when it was written (a password goes where the approver
# saw it), not read from the user's contact details when it is sent.
FIXED_ADDRESS = "fixed_address"
