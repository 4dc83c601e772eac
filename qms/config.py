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
        # how many reverse proxies in front set X-Forwarded-For/-Proto/-Host (0: trust none)
        "QMS_PROXY_COUNT": _proxy_count(),
        "QMS_UPLOAD_FOLDER": os.environ.get("QMS_UPLOAD_FOLDER", str(instance_path / "uploads")),
        "QMS_COMPLAINT_ACK_DAYS": _days("QMS_COMPLAINT_ACK_DAYS", 2),
        "QMS_COMPLAINT_RESOLVE_DAYS": _days("QMS_COMPLAINT_RESOLVE_DAYS", 20),
        # a competence record expiring within this many days is flagged (matrix, My work, digest)
        "QMS_COMPETENCE_EXPIRY_WARNING_DAYS": _days("QMS_COMPETENCE_EXPIRY_WARNING_DAYS", 60),
        # the risk register: likelihood and impact from 1 to the scale; review cadence by rating
        "QMS_RISK_SCALE": _risk_scale(),
        "QMS_RISK_REVIEW_DAYS": {
            "high": _days("QMS_RISK_REVIEW_DAYS_HIGH", 90),
            "medium": _days("QMS_RISK_REVIEW_DAYS_MEDIUM", 180),
            "low": _days("QMS_RISK_REVIEW_DAYS_LOW", 365),
        },
        # how long each server process reuses the dashboard's figures (0: count on every view)
        "QMS_DASHBOARD_CACHE_SECONDS": _cache_seconds(),
        "QMS_DASHBOARD_PANELS_SECONDS": _cache_seconds("QMS_DASHBOARD_PANELS_SECONDS", 900, 86400),
        **_session_limits(),
        **_background_and_mail(),
        **_upload_limits(),
        **_keys_and_checkpoints(instance_path),
    }


def _keys_and_checkpoints(instance_path: Path) -> dict[str, object]:
    """The audit-trail and backup keyrings (never in the database) and where checkpoints go."""
    from .keys import load_keyring

    return {
        "QMS_AUDIT_KEYRING": load_keyring("audit", instance_path),
        "QMS_BACKUP_KEYRING": load_keyring("backup", instance_path),
        # an append-only folder (chattr +a, or a mount of another machine) for the chain's heads
        "QMS_AUDIT_CHECKPOINT_DIR": os.environ.get(
            "QMS_AUDIT_CHECKPOINT_DIR", str(instance_path / "audit-checkpoints")
        ).strip(),
        # also e-mail each checkpoint to this address (empty: file and log only)
        "QMS_AUDIT_CHECKPOINT_EMAIL": os.environ.get("QMS_AUDIT_CHECKPOINT_EMAIL", "").strip(),
    }


def _background_and_mail() -> dict[str, object]:
    """Celery (no broker: tasks run in-process), e-mail (no server: messages are logged, not sent)."""
    broker = os.environ.get("QMS_CELERY_BROKER_URL", "").strip()
    port = os.environ.get("QMS_MAIL_PORT", "25").strip()
    if not port.isdigit() or not 1 <= int(port) <= 65535:
        raise ValueError(f"QMS_MAIL_PORT must be a port number (1–65535), not {port!r}")
    hour = os.environ.get("QMS_DIGEST_HOUR", "6").strip()
    if not hour.isdigit() or not 0 <= int(hour) <= 23:
        raise ValueError(f"QMS_DIGEST_HOUR must be an hour of the day (0–23), not {hour!r}")
    return {
        "QMS_CELERY_BROKER_URL": broker,
        "QMS_CELERY_RESULT_BACKEND": os.environ.get("QMS_CELERY_RESULT_BACKEND", broker).strip(),
        "QMS_TIMEZONE": _timezone(),
        "QMS_DIGEST_HOUR": int(hour),
        "QMS_DIGEST_DAYS_AHEAD": _days("QMS_DIGEST_DAYS_AHEAD", 7),
        "QMS_EXPORT_KEEP_DAYS": _days("QMS_EXPORT_KEEP_DAYS", 2),
        "QMS_BASE_URL": os.environ.get("QMS_BASE_URL", "http://127.0.0.1:5000").strip().rstrip("/"),
        # Flask-Mail reads MAIL_*; an empty server means mail is not configured.
        "MAIL_SERVER": os.environ.get("QMS_MAIL_SERVER", "").strip(),
        "MAIL_PORT": int(port),
        "MAIL_USE_TLS": _flag("QMS_MAIL_USE_TLS", False),
        "MAIL_USE_SSL": _flag("QMS_MAIL_USE_SSL", False),
        "MAIL_USERNAME": os.environ.get("QMS_MAIL_USERNAME") or None,
        "MAIL_PASSWORD": os.environ.get("QMS_MAIL_PASSWORD") or None,
        # sent even under TESTING: the tests send to a real local SMTP server
        "MAIL_SUPPRESS_SEND": False,
        "MAIL_DEFAULT_SENDER": os.environ.get("QMS_MAIL_SENDER", "qmsflow@localhost").strip(),
    }


def _timezone() -> str:
    """QMS_TIMEZONE (an IANA name such as Europe/Berlin): when the day of the scheduled jobs begins."""
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    name = os.environ.get("QMS_TIMEZONE", "UTC").strip() or "UTC"
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"QMS_TIMEZONE must be a time zone name such as Europe/Berlin, not {name!r}") from None
    return name


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


def _cache_seconds(name: str = "QMS_DASHBOARD_CACHE_SECONDS", default: int = 60, most: int = 3600) -> int:
    """QMS_DASHBOARD_CACHE_SECONDS: 0–3600 seconds (default 60), QMS_DASHBOARD_PANELS_SECONDS: 0–86400
    (default 900); anything else stops the app at start."""
    raw = os.environ.get(name, str(default)).strip()
    if not raw.isdigit() or int(raw) > most:
        raise ValueError(f"{name} must be a number of seconds (0–{most}), not {raw!r}")
    return int(raw)


def _proxy_count() -> int:
    """QMS_PROXY_COUNT: 0–5 trusted proxies; anything else stops the app at start."""
    raw = os.environ.get("QMS_PROXY_COUNT", "0").strip()
    if not raw.isdigit() or int(raw) > 5:
        raise ValueError(f"QMS_PROXY_COUNT must be the number of reverse proxies (0–5), not {raw!r}")
    return int(raw)


#: (setting, default, smallest, largest) of what reading one upload may cost; see docs/deploying.md
UPLOAD_LIMITS = (
    ("QMS_PDF_MAX_PAGES", 2000, 1, 100_000),
    ("QMS_UPLOAD_PARSE_SECONDS", 20, 1, 600),
    ("QMS_UPLOAD_PARSE_MEMORY_MB", 256, 64, 8192),
    ("QMS_UPLOAD_MAX_XML_ELEMENTS", 1_000_000, 1000, 100_000_000),
    ("QMS_UPLOAD_MAX_PART_MB", 50, 1, 4096),
    ("QMS_UPLOAD_MAX_UNPACKED_MB", 100, 1, 8192),
    # with a Celery broker: how long an upload waits for a worker to take its file before falling back
    ("QMS_UPLOAD_WORKER_WAIT_SECONDS", 5, 1, 60),
    # with a Celery broker: a worker process that grew past this after a task is replaced (MB)
    ("QMS_CELERY_MAX_MEMORY_PER_CHILD_MB", 512, 128, 65536),
)


def _upload_limits() -> dict[str, object]:
    """The upload budget: whole numbers within their range; anything else stops the app at start."""
    values = {}
    for name, default, low, high in UPLOAD_LIMITS:
        raw = os.environ.get(name, str(default)).strip().replace("_", "")
        if not raw.isdigit() or not low <= int(raw) <= high:
            raise ValueError(f"{name} must be a whole number from {low:,} to {high:,}, not {raw!r}")
        values[name] = int(raw)
    # with a Celery broker, uploads are read on a worker (1, the default) or in the web server (0)
    values["QMS_UPLOAD_PARSE_ON_WORKER"] = _flag("QMS_UPLOAD_PARSE_ON_WORKER", True)
    # when no worker takes the file in time: read it in the web server's limited child process
    # ("local", the default) or refuse the upload with a message to try again ("refuse")
    fallback = os.environ.get("QMS_UPLOAD_PARSE_FALLBACK", "local").strip().lower()
    if fallback not in ("local", "refuse"):
        raise ValueError(f"QMS_UPLOAD_PARSE_FALLBACK must be 'local' or 'refuse', not {fallback!r}")
    values["QMS_UPLOAD_PARSE_FALLBACK"] = fallback
    # the Celery queue of upload reading ("" : the default queue), to give it workers of its own
    values["QMS_UPLOAD_PARSE_QUEUE"] = os.environ.get("QMS_UPLOAD_PARSE_QUEUE", "").strip()
    return values


def _session_limits() -> dict[str, object]:
    """QMS_SESSION_IDLE_MINUTES (1–1440, default 30) and QMS_SESSION_MAX_HOURS (1–720, default 12)."""
    import datetime as dt

    idle = os.environ.get("QMS_SESSION_IDLE_MINUTES", "30").strip()
    if not idle.isdigit() or not 1 <= int(idle) <= 1440:
        raise ValueError(f"QMS_SESSION_IDLE_MINUTES must be a number of minutes (1–1440), not {idle!r}")
    hours = os.environ.get("QMS_SESSION_MAX_HOURS", "12").strip()
    if not hours.isdigit() or not 1 <= int(hours) <= 720:
        raise ValueError(f"QMS_SESSION_MAX_HOURS must be a number of hours (1–720), not {hours!r}")
    return {
        "QMS_SESSION_IDLE_MINUTES": int(idle),
        "QMS_SESSION_MAX_HOURS": int(hours),
        # the session cookie lives no longer than the session may
        "PERMANENT_SESSION_LIFETIME": dt.timedelta(hours=int(hours)),
    }


def _risk_scale() -> int:
    """QMS_RISK_SCALE: the points of the likelihood and impact scales (3–10, default 5: a 5 × 5 matrix)."""
    raw = os.environ.get("QMS_RISK_SCALE")
    if raw is None:
        return 5
    if not raw.strip().isdigit() or not 3 <= int(raw) <= 10:
        raise ValueError(f"QMS_RISK_SCALE must be a whole number from 3 to 10, not {raw!r}")
    return int(raw)
