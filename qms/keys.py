"""The secret keys that the database never holds: the audit-trail key and the backup key.

Each is a *keyring*: one or more keys, each with an id, so a key can be rotated.  The last key
listed makes new MACs (audit entries, backup signatures); every key listed still verifies what
it made, found by the id stored beside the MAC.

Where a keyring comes from, first match wins:

* the environment, ``QMS_AUDIT_KEY`` / ``QMS_BACKUP_KEY``: ``id:secret`` pairs separated by
  commas (``2026a:…,2027a:…``), or one bare secret (its id is then ``env``);
* a key file, ``QMS_AUDIT_KEY_FILE`` / ``QMS_BACKUP_KEY_FILE``, by default ``audit.key`` /
  ``backup.key`` in the instance folder: one ``id secret`` pair per line, ``#`` comments;
  created with one random key (mode 0600) when it does not exist yet.

A secret is at least 32 characters (``qms keys rotate`` writes 64 hex digits).
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
from dataclasses import dataclass
from pathlib import Path

KEY_ID = re.compile(r"^[A-Za-z0-9._-]{1,40}$")
MIN_SECRET_LENGTH = 32


class KeyringError(ValueError):
    """A keyring that cannot be used, with a message for the operator."""


@dataclass(frozen=True)
class Keyring:
    """Keys by id; ``current`` is the id that makes new MACs; ``source`` says where they came from."""

    keys: dict[str, bytes]
    current: str
    source: str
    #: the key file, when the keys come from one (rotation appends to it)
    path: Path | None = None

    def key(self, key_id: str) -> bytes | None:
        return self.keys.get(key_id)

    @property
    def current_key(self) -> bytes:
        return self.keys[self.current]


def _parse_pairs(pairs: list[tuple[str, str]], source: str) -> tuple[dict[str, bytes], str]:
    keys: dict[str, bytes] = {}
    current = ""
    for key_id, secret in pairs:
        if not KEY_ID.match(key_id):
            raise KeyringError(f"{source}: the key id {key_id!r} must be 1–40 letters, digits, '.', '_' or '-'")
        if len(secret) < MIN_SECRET_LENGTH:
            raise KeyringError(f"{source}: the key {key_id!r} is shorter than {MIN_SECRET_LENGTH} characters")
        if key_id in keys:
            raise KeyringError(f"{source}: the key id {key_id!r} is listed twice")
        keys[key_id] = secret.encode("utf-8")
        current = key_id
    if not keys:
        raise KeyringError(f"{source} holds no key")
    return keys, current


def _from_environment(value: str, variable: str) -> Keyring:
    value = value.strip()
    if ":" not in value and "," not in value:
        keys, current = _parse_pairs([("env", value)], variable)
        return Keyring(keys, current, variable)
    pairs = []
    for part in value.split(","):
        key_id, sep, secret = part.strip().partition(":")
        if not sep:
            raise KeyringError(f"{variable}: write each key as id:secret, separated by commas")
        pairs.append((key_id.strip(), secret.strip()))
    keys, current = _parse_pairs(pairs, variable)
    return Keyring(keys, current, variable)


def read_key_file(path: Path) -> Keyring:
    pairs = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        parts = line.split()
        if len(parts) != 2:
            raise KeyringError(f"{path} line {number}: write one 'id secret' pair per line")
        pairs.append((parts[0], parts[1]))
    keys, current = _parse_pairs(pairs, str(path))
    return Keyring(keys, current, str(path), path)


def new_secret() -> str:
    return secrets.token_hex(32)


def _create_key_file(path: Path, first_id: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write(
            "# qmsflow keys: one 'id secret' pair per line; the last one makes new MACs.\n"
            "# Keep a copy somewhere safe and NOT with the database or its backups.\n"
            f"{first_id} {new_secret()}\n"
        )


def load_keyring(kind: str, instance_path: Path, environ: os._Environ[str] | dict[str, str] | None = None) -> Keyring:
    """The ``kind`` ("audit" or "backup") keyring of this installation, creating its key file if needed."""
    environ = os.environ if environ is None else environ
    variable = f"QMS_{kind.upper()}_KEY"
    value = environ.get(variable, "").strip()
    if value:
        return _from_environment(value, variable)
    path = Path(environ.get(f"{variable}_FILE", "").strip() or instance_path / f"{kind}.key")
    if not path.exists():
        with contextlib.suppress(FileExistsError):  # another process created it first
            _create_key_file(path, f"{kind}-1")
    return read_key_file(path)


def rotate(keyring: Keyring) -> str:
    """Append a new key to the keyring's key file; returns its id.  Old keys stay to verify old MACs."""
    if keyring.path is None:
        raise KeyringError(f"the keys come from {keyring.source}: add the new key there (id:secret, last)")
    prefix = re.sub(r"-\d+$", "", keyring.current) if re.search(r"-\d+$", keyring.current) else keyring.current
    number = len(keyring.keys) + 1
    while f"{prefix}-{number}" in keyring.keys:
        number += 1
    key_id = f"{prefix}-{number}"
    with open(keyring.path, "a", encoding="utf-8") as out:
        out.write(f"{key_id} {new_secret()}\n")
    return key_id
