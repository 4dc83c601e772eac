"""Configuration from the environment (12-factor); every variable starts with QMS_."""

from __future__ import annotations

import os
import secrets
from pathlib import Path


def normalise_database_url(url: str) -> str:
    """Accept plain ``postgresql://`` URLs and use psycopg 3 for them."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def _secret_key(instance_path: Path) -> str:
    """QMS_SECRET_KEY, or a random key kept in the instance folder (embedded default)."""
    key = os.environ.get("QMS_SECRET_KEY")
    if key:
        return key
    key_file = instance_path / "secret_key"
    if key_file.exists():
        return key_file.read_text().strip()
    key = secrets.token_hex(32)
    key_file.touch(mode=0o600)
    key_file.write_text(key)
    return key


def _flag(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in ("1", "true", "yes", "on")


def from_environment(instance_path: Path) -> dict[str, object]:
    """The settings of a running app, read once when it is created."""
    env = os.environ.get("QMS_ENV", "production")
    url = os.environ.get("QMS_DATABASE_URL") or f"sqlite:///{instance_path / 'qms.sqlite3'}"
    return {
        "QMS_ENV": env,
        "SECRET_KEY": _secret_key(instance_path),
        "SQLALCHEMY_DATABASE_URI": normalise_database_url(url),
        "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True},
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        # Secure cookies outside development. Browsers accept them on http://127.0.0.1 and
        # http://localhost too, so the embedded default keeps working; anything else needs HTTPS.
        "SESSION_COOKIE_SECURE": _flag("QMS_SECURE_COOKIES", env != "development"),
        "REMEMBER_COOKIE_SECURE": _flag("QMS_SECURE_COOKIES", env != "development"),
        "MAX_CONTENT_LENGTH": int(os.environ.get("QMS_MAX_UPLOAD_BYTES", 25 * 1024 * 1024)),
        "QMS_ORGANISATION": os.environ.get("QMS_ORGANISATION", "Demo Organisation"),
        "QMS_RATELIMIT_STORAGE_URI": os.environ.get("QMS_RATELIMIT_STORAGE_URI", "memory://"),
        "QMS_FORCE_HTTPS": _flag("QMS_FORCE_HTTPS", False),
        "QMS_UPLOAD_FOLDER": os.environ.get("QMS_UPLOAD_FOLDER", str(instance_path / "uploads")),
        "QMS_COMPLAINT_ACK_DAYS": _days("QMS_COMPLAINT_ACK_DAYS", 2),
        "QMS_COMPLAINT_RESOLVE_DAYS": _days("QMS_COMPLAINT_RESOLVE_DAYS", 20),
    }


def _days(name: str, default: int) -> int:
    """A whole number of days (1–365) from the environment; anything else stops the app at start."""
    raw = os.environ.get(name)
    if raw is None:
        return default
    try:
        days = int(raw)
    except ValueError:
        raise ValueError(f"{name} must be a whole number of days, not {raw!r}") from None
    if not 1 <= days <= 365:
        raise ValueError(f"{name} must be between 1 and 365 days, not {days}")
    return days
