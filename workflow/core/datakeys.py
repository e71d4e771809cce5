"""Personal data at rest (mobile numbers, e-mail addresses, where a message went), encrypted in the database.

A column typed `Sealed` stores `enc1:<key id>:<base64 of nonce, ciphertext and tag>`: SM4 in GCM mode (GB/T 32907,
national cryptography) or AES-256-GCM, under the key named by ZYZ_DATA_KEY (`sm4:<base64 of 16 bytes>` or
`aes:<base64 of 32 bytes>`; `zyz keys new` makes one). The column's own name is the authenticated data, so a value
copied into another column does not open. Older keys stay readable while listed in ZYZ_DATA_KEYS_PREVIOUS;
`zyz keys rotate` re-encrypts every value not under the current key, in batches, and can be run again after an
interruption. Without a key, values are stored as they are (development, tests), and a value stored before a key
was set reads as it is until the rotation seals it.

No lookup compares these columns (users are found by username and id): a lookup by mobile or e-mail, if one is ever
needed, goes through a keyed hash column, not through the ciphertext.

A case's data is a JSON mapping typed `SealedFields`: the value of each key definitions/visibility.yaml names
`personal` (a mobile number, an address) is stored as such a sealed string, the JSON text of the value under
`case_file.data.<key>`; every other key stays as it is, so that the JSON-path queries and indexes on the case's data
work as before.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from sqlalchemy.dialects.postgresql import JSONB

PREFIX = "enc1"
KEY_BYTES = {"sm4": 16, "aes": 32}
NONCE_BYTES, TAG_BYTES = 12, 16


class DataKeyError(ValueError):
    """A key in the configuration that cannot be used, or a stored value no configured key opens."""


@dataclass(frozen=True)
class DataKey:
    cipher: str  # sm4 | aes
    secret: bytes = field(repr=False)

    @property
    def kid(self) -> str:
        """A short name of the key, stored with each value it seals (not a secret: a keyed hash of nothing)."""
        return hmac.new(self.secret, b"zyz data key id", hashlib.sha256).hexdigest()[:8]

    def _algorithm(self) -> Any:
        return algorithms.SM4(self.secret) if self.cipher == "sm4" else algorithms.AES(self.secret)

    def seal(self, text: str, purpose: str) -> str:
        nonce = os.urandom(NONCE_BYTES)
        encryptor = Cipher(self._algorithm(), modes.GCM(nonce)).encryptor()
        encryptor.authenticate_additional_data(purpose.encode())
        body = encryptor.update(text.encode()) + encryptor.finalize()
        return f"{PREFIX}:{self.kid}:{base64.b64encode(nonce + body + encryptor.tag).decode()}"

    def open(self, blob: bytes, purpose: str) -> str:
        nonce, body, tag = blob[:NONCE_BYTES], blob[NONCE_BYTES:-TAG_BYTES], blob[-TAG_BYTES:]
        decryptor = Cipher(self._algorithm(), modes.GCM(nonce, tag)).decryptor()
        decryptor.authenticate_additional_data(purpose.encode())
        return (decryptor.update(body) + decryptor.finalize()).decode()


def parse_key(text: str) -> DataKey:
    """`sm4:<base64 of 16 bytes>` or `aes:<base64 of 32 bytes>`."""
    cipher, _, encoded = text.strip().partition(":")
    cipher = cipher.lower()
    if cipher not in KEY_BYTES:
        raise DataKeyError("a data key is written sm4:<base64> or aes:<base64>")
    try:
        secret = base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError):
        raise DataKeyError(f"the {cipher} data key is not valid base64") from None
    if len(secret) != KEY_BYTES[cipher]:
        raise DataKeyError(f"an {cipher} data key is {KEY_BYTES[cipher]} bytes, not {len(secret)}")
    return DataKey(cipher, secret)


def new_key(cipher: str = "sm4") -> str:
    return f"{cipher}:{base64.b64encode(os.urandom(KEY_BYTES[cipher])).decode()}"


@dataclass
class Keyring:
    current: DataKey | None = None
    known: dict[str, DataKey] = field(default_factory=dict)

    def seal(self, text: str, purpose: str) -> str:
        return self.current.seal(text, purpose) if self.current is not None else text

    def open(self, stored: str, purpose: str) -> str:
        if not stored.startswith(PREFIX + ":"):
            return stored  # written before a key was set: read as it is until `zyz keys rotate` seals it
        _, kid, encoded = stored.split(":", 2)
        key = self.known.get(kid)
        if key is None:
            raise DataKeyError(f"{purpose}: sealed with key {kid}, which is neither ZYZ_DATA_KEY nor in "
                               "ZYZ_DATA_KEYS_PREVIOUS")
        try:
            return key.open(base64.b64decode(encoded), purpose)
        except (InvalidTag, binascii.Error, ValueError):
            raise DataKeyError(f"{purpose}: a sealed value does not open with key {kid} (altered or moved)") from None

    def is_current(self, stored: str) -> bool:
        if self.current is None:
            return not stored.startswith(PREFIX + ":")
        return stored.startswith(f"{PREFIX}:{self.current.kid}:")


KEYRING = Keyring()


def configure(current: str | None, previous: str | None = None) -> Keyring:
    """Use ZYZ_DATA_KEY (None: store values as they are) and the older keys still to be read."""
    keys = [parse_key(k) for k in (previous or "").split(",") if k.strip()]
    now = parse_key(current) if current and current.strip() else None
    KEYRING.current = now
    KEYRING.known = {k.kid: k for k in [*keys, *([now] if now else [])]}
    return KEYRING


class Sealed(sa.types.TypeDecorator):
    """A text column whose values are encrypted under the current data key (see the module's text)."""

    impl = sa.String
    cache_ok = True

    def __init__(self, length: int, purpose: str):
        super().__init__(length)
        self.purpose = purpose

    def process_bind_param(self, value: Any, dialect: sa.Dialect) -> Any:
        return None if value is None else KEYRING.seal(str(value), self.purpose)

    def process_result_value(self, value: Any, dialect: sa.Dialect) -> Any:
        return None if value is None else KEYRING.open(value, self.purpose)


def is_sealed(value: Any) -> bool:
    return isinstance(value, str) and value.startswith(PREFIX + ":")


@dataclass
class PersonalKeys:
    """The keys of a case's data that hold personal data: definitions/visibility.yaml's `personal`, read through the
    source workflow.core.visibility gives when it is imported (the data model cannot import it: it imports the
    model)."""

    source: Callable[[], Iterable[str]] | None = None

    def __call__(self) -> frozenset[str]:
        if self.source is None:
            raise DataKeyError("case_file.data: which keys are personal is not known (workflow.core.visibility is "
                               "not loaded)")
        return frozenset(self.source())


PERSONAL = PersonalKeys()


class SealedFields(sa.types.TypeDecorator):
    """A JSON mapping whose values under the personal keys are sealed one by one (see the module's text). Compared
    and queried as JSON: `column[key].as_string()` reads a key that is not personal as before."""

    impl = sa.JSON().with_variant(JSONB(), "postgresql")
    cache_ok = True

    def __init__(self, purpose: str):
        super().__init__()
        self.purpose = purpose

    def purpose_of(self, key: str) -> str:
        return f"{self.purpose}.{key}"

    def seal_values(self, data: dict[str, Any]) -> dict[str, Any]:
        """`data` with each personal value sealed under the current key (as it is without a key; None stays)."""
        if KEYRING.current is None:
            return data
        personal = PERSONAL()
        return {k: KEYRING.seal(json.dumps(v, ensure_ascii=False), self.purpose_of(k))
                if k in personal and v is not None else v for k, v in data.items()}

    def open_values(self, data: dict[str, Any]) -> dict[str, Any]:
        """`data` with each sealed personal value opened; a value stored before a key was set reads as it is."""
        if not any(is_sealed(v) for v in data.values()):
            return data
        personal = PERSONAL()
        return {k: json.loads(KEYRING.open(v, self.purpose_of(k))) if k in personal and is_sealed(v) else v
                for k, v in data.items()}

    def stale(self, data: dict[str, Any]) -> int:
        """How many personal values are not sealed under the current key (stored plain, or under an older key)."""
        personal = PERSONAL()
        return sum(1 for k, v in data.items() if k in personal and v is not None
                   and not KEYRING.is_current(v if isinstance(v, str) else ""))

    def process_bind_param(self, value: Any, dialect: sa.Dialect) -> Any:
        return self.seal_values(value) if isinstance(value, dict) else value

    def process_result_value(self, value: Any, dialect: sa.Dialect) -> Any:
        return self.open_values(value) if isinstance(value, dict) else value
