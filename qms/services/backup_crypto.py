"""Passphrase encryption of backup archives: AES-256-GCM in authenticated chunks, the key derived by scrypt.

The file::

    QMSFLOW-ENCRYPTED-BACKUP\\n
    {"cipher": "AES-256-GCM", "kdf": "scrypt", "n": …, "r": 8, "p": 1, "salt": …, "nonce": …,
     "check": …, "chunk": 1048576, "version": 1}\\n
    then chunks: a 4-byte big-endian length and that many bytes of ciphertext (with its 16-byte tag)

scrypt turns the passphrase and the random salt into 64 bytes: the first 32 are the AES key, the
last 32 make ``check`` (an HMAC of a fixed text), so a wrong passphrase is told apart from an
altered file.  Chunk ``i`` is sealed with the nonce ``prefix ‖ i ‖ last`` and the header as
associated data: a changed, removed, re-ordered or appended chunk, a truncated file and an
edited header all fail authentication.  Memory stays at one chunk whatever the backup's size.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import secrets
import struct
from pathlib import Path
from typing import IO

MAGIC = b"QMSFLOW-ENCRYPTED-BACKUP\n"
CHUNK = 1024 * 1024
#: scrypt cost for new backups (2**17 × 8 × 128 bytes = 128 MiB, about half a second)
SCRYPT_N = 2**17
SCRYPT_R = 8
SCRYPT_P = 1
#: the most a header may ask for when decrypting (a crafted header must not exhaust memory)
MAX_SCRYPT_N = 2**20
_CHECK_TEXT = b"qmsflow backup passphrase check"
_TAG = 16


class CryptoError(Exception):
    """An encrypted backup that cannot be opened, with the reason for the person restoring it."""


def is_encrypted(path: str | os.PathLike[str]) -> bool:
    with open(path, "rb") as source:
        return source.read(len(MAGIC)) == MAGIC


def _derive(passphrase: str, salt: bytes, n: int, r: int, p: int) -> tuple[bytes, bytes]:
    from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

    material = Scrypt(salt=salt, length=64, n=n, r=r, p=p).derive(passphrase.encode("utf-8"))
    return material[:32], material[32:]


def _nonce(prefix: bytes, index: int, last: bool) -> bytes:
    return prefix + struct.pack(">IB", index, 1 if last else 0)


def encrypt_file(source: str | os.PathLike[str], target: str | os.PathLike[str], passphrase: str) -> None:
    """Encrypt the file ``source`` into ``target`` (which is created or replaced)."""
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    salt, prefix = secrets.token_bytes(16), secrets.token_bytes(7)
    key, check_key = _derive(passphrase, salt, SCRYPT_N, SCRYPT_R, SCRYPT_P)
    header = {
        "version": 1,
        "cipher": "AES-256-GCM",
        "kdf": "scrypt",
        "n": SCRYPT_N,
        "r": SCRYPT_R,
        "p": SCRYPT_P,
        "salt": base64.b64encode(salt).decode(),
        "nonce": base64.b64encode(prefix).decode(),
        "check": hmac.new(check_key, _CHECK_TEXT, hashlib.sha256).hexdigest(),
        "chunk": CHUNK,
    }
    head = MAGIC + json.dumps(header, sort_keys=True).encode() + b"\n"
    aead = AESGCM(key)
    with open(source, "rb") as plain, open(target, "wb") as out:
        out.write(head)
        index = 0
        chunk = plain.read(CHUNK)
        while True:
            following = plain.read(CHUNK)
            last = not following
            sealed = aead.encrypt(_nonce(prefix, index, last), chunk, head)
            out.write(struct.pack(">I", len(sealed)) + sealed)
            if last:
                break
            chunk, index = following, index + 1
        out.flush()
        os.fsync(out.fileno())


def _read_header(source: IO[bytes]) -> tuple[bytes, dict]:
    magic = source.read(len(MAGIC))
    if magic != MAGIC:
        raise CryptoError("not an encrypted qmsflow backup")
    line = source.readline(4096)
    try:
        header = json.loads(line)
        salt = base64.b64decode(header["salt"], validate=True)
        prefix = base64.b64decode(header["nonce"], validate=True)
        n, r, p = header["n"], header["r"], header["p"]
        valid = (
            header.get("version") == 1
            and header.get("cipher") == "AES-256-GCM"
            and header.get("kdf") == "scrypt"
            and all(isinstance(v, int) and not isinstance(v, bool) for v in (n, r, p))
            and 2 <= n <= MAX_SCRYPT_N
            and n & (n - 1) == 0
            and 1 <= r <= 32
            and 1 <= p <= 4
            and len(salt) >= 16
            and len(prefix) == 7
            and isinstance(header.get("check"), str)
            and header.get("chunk") == CHUNK
        )
    except (ValueError, KeyError, TypeError):
        valid = False
    if not valid:
        raise CryptoError("the encrypted backup's header is damaged or not one this version reads: restore refused")
    header["salt"], header["nonce"] = salt, prefix
    return magic + line, header


def decrypt_file(source: str | os.PathLike[str], target: str | os.PathLike[str], passphrase: str) -> None:
    """Decrypt ``source`` into ``target``; CryptoError (and ``target`` removed) on a wrong passphrase or any change."""
    from cryptography.exceptions import InvalidTag
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    target = Path(target)
    try:
        with open(source, "rb") as encrypted:
            head, header = _read_header(encrypted)
            key, check_key = _derive(passphrase, header["salt"], header["n"], header["r"], header["p"])
            check = hmac.new(check_key, _CHECK_TEXT, hashlib.sha256).hexdigest()
            if not hmac.compare_digest(check, header["check"]):
                raise CryptoError("the passphrase is wrong: the backup cannot be decrypted, restore refused")
            aead = AESGCM(key)
            fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "wb") as out:
                index = 0
                while True:
                    size_bytes = encrypted.read(4)
                    if len(size_bytes) < 4:
                        raise CryptoError(
                            "the encrypted backup is truncated: its last part is missing, restore refused"
                        )
                    (size,) = struct.unpack(">I", size_bytes)
                    if not _TAG <= size <= CHUNK + _TAG:
                        raise CryptoError("the encrypted backup is damaged (a part has an impossible size)")
                    sealed = encrypted.read(size)
                    if len(sealed) < size:
                        raise CryptoError("the encrypted backup is truncated: restore refused")
                    following = encrypted.peek(1)[:1] if hasattr(encrypted, "peek") else b""
                    last = not following
                    try:
                        out.write(aead.decrypt(_nonce(header["nonce"], index, last), sealed, head))
                    except InvalidTag:
                        raise CryptoError(
                            f"part {index + 1} of the encrypted backup does not authenticate: the file was altered "
                            "(or truncated) after it was made, restore refused"
                        ) from None
                    if last:
                        break
                    index += 1
    except BaseException:
        target.unlink(missing_ok=True)
        raise
