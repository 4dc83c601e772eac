"""Reading uploads on a Celery worker, when a broker is configured.

The upload answers while the person waits (a bomb is a 422 with its reason, nothing stored), so
the request sends the file's path to a worker and waits for the answer:

- **the worker** (``read_on_worker``, task ``qms.inspect_upload``) reads the file with the same
  capped parsers as the child process of :mod:`qms.services.upload_inspection`, under the task's
  soft time limit (``QMS_UPLOAD_PARSE_SECONDS``; the hard limit, a few seconds later, kills the
  pool process) and an address-space limit of ``QMS_UPLOAD_PARSE_MEMORY_MB`` above what the
  process already uses, lifted again when the task ends; a pool process grown past
  ``QMS_CELERY_MAX_MEMORY_PER_CHILD_MB`` is replaced.  The task is acknowledged when taken, so a
  file that kills its process is never handed to another one.  Run workers with the prefork pool
  (the default): the solo pool has no time limits.
- **the web server** (``inspect_on_worker``) waits ``QMS_UPLOAD_WORKER_WAIT_SECONDS`` for a worker
  to take the file, then the parse budget plus a margin for the answer.  When the broker cannot be
  reached or no worker takes the file in time it raises :class:`WorkerUnavailable`, and the caller
  reads the file itself in its limited child process, or refuses the upload with a clear message
  (``QMS_UPLOAD_PARSE_FALLBACK``).

Workers must see the upload folder (``QMS_UPLOAD_FOLDER``) as the web server does, as they see the
instance folder for exports; they only read files inside it.
"""

from __future__ import annotations

import logging
import resource
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

from flask import current_app

from ..services.upload_inspection import Inspection, UploadLimits, UploadRefused, _peak_memory_mb, _read

log = logging.getLogger(__name__)

#: seconds the web server waits for the answer beyond the parse budget (the hard limit is 5)
ANSWER_MARGIN = 10
_POLL = 0.05


class WorkerUnavailable(RuntimeError):
    """No worker read the file: the broker cannot be reached, or no worker took the task in time."""


# --- the worker's side ---------------------------------------------------------------------------


def _address_space() -> int:
    """This process's current address-space size in bytes (``VmSize``)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmSize:"):
            return int(line.split()[1]) * 1024
    raise OSError("no VmSize in /proc/self/status")


def read_on_worker(request: dict[str, Any]) -> dict[str, Any]:
    """Read the upload named by ``request`` (path, content type, extract, limits) within its budget.

    Returns what the child process of ``upload_inspection`` prints: ``ok``, ``text``, ``pages`` or
    ``error``, and ``peak_mb`` (this process's peak resident memory) and ``seconds``.
    """
    from celery.exceptions import SoftTimeLimitExceeded

    from ..services import text_extraction

    started = time.perf_counter()
    limits = dict(request["limits"])
    folder = Path(current_app.config["QMS_UPLOAD_FOLDER"]).resolve()
    path = Path(str(request["path"])).resolve()
    if folder not in path.parents:  # a message naming another file is not ours to read
        return {"ok": False, "error": "is not a file in the upload folder", "peak_mb": _peak_memory_mb()}
    if not path.is_file():
        return {"ok": False, "error": "was withdrawn before it could be read", "peak_mb": _peak_memory_mb()}
    saved = {name: getattr(text_extraction, name) for name in ("MAX_ELEMENTS", "MAX_MEMBER_SIZE", "MAX_TOTAL_SIZE")}
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    budget = _address_space() + int(limits["memory_mb"]) * 1024 * 1024
    answer: dict[str, Any]
    try:
        if hard == resource.RLIM_INFINITY or budget < hard:
            resource.setrlimit(resource.RLIMIT_AS, (budget, hard))
        answer = _read({**request, "path": str(path)}, limits)
    except MemoryError:
        answer = {
            "ok": False,
            "error": f"needs more than the {limits['memory_mb']} MB of memory allowed for reading one upload "
            "(files built to exhaust a server's memory look like this)",
        }
    except SoftTimeLimitExceeded:
        answer = {
            "ok": False,
            "error": f"took longer than {float(limits['seconds']):g} seconds to read, the limit for one upload; "
            "split it into smaller files or ask an administrator to raise QMS_UPLOAD_PARSE_SECONDS",
        }
    finally:
        resource.setrlimit(resource.RLIMIT_AS, (soft, hard))
        for name, value in saved.items():
            setattr(text_extraction, name, value)
    answer["peak_mb"] = _peak_memory_mb()
    answer["seconds"] = round(time.perf_counter() - started, 3)
    return answer


# --- the web server's side -----------------------------------------------------------------------


def inspect_on_worker(path: Path, content_type: str, limits: UploadLimits, *, extract: bool) -> Inspection:
    """Have a worker read the file at ``path`` and wait for its answer.

    Raises :class:`UploadRefused` naming why the file is refused, or :class:`WorkerUnavailable`
    when no worker read it (the caller decides what then).
    """
    from celery.exceptions import TimeLimitExceeded, WorkerLostError

    from .tasks import inspect_upload_task

    config = current_app.config
    wait = float(config.get("QMS_UPLOAD_WORKER_WAIT_SECONDS", 5))
    request = {"path": str(path), "content_type": content_type, "extract": extract, "limits": asdict(limits)}
    started = time.perf_counter()
    try:
        result = inspect_upload_task.apply_async(
            args=[request],
            queue=config.get("QMS_UPLOAD_PARSE_QUEUE") or None,
            soft_time_limit=limits.seconds,
            time_limit=limits.seconds + 5,
            expires=wait,  # a message no worker took in time is dropped, never read later
            retry=True,
            retry_policy={"max_retries": 1, "interval_start": 0.2, "interval_step": 0.2, "interval_max": 0.5},
        )
    except Exception as exc:  # kombu's OperationalError, the result store's RuntimeError, an OSError…
        raise WorkerUnavailable(f"the task queue cannot be reached ({type(exc).__name__}: {exc})") from exc
    try:
        answer = _wait_for(result, wait, limits.seconds + ANSWER_MARGIN)
    except WorkerUnavailable:
        _revoke(result)
        raise
    except Exception as exc:
        raise WorkerUnavailable(f"the task queue cannot be reached ({type(exc).__name__}: {exc})") from exc
    finally:
        _forget(result)
    seconds = time.perf_counter() - started
    if isinstance(answer, (TimeLimitExceeded, TimeoutError)):
        raise UploadRefused(
            f"took longer than {limits.seconds:g} seconds to read, the limit for one upload; "
            "split it into smaller files or ask an administrator to raise QMS_UPLOAD_PARSE_SECONDS",
            seconds=seconds,
        )
    if isinstance(answer, WorkerLostError):  # the process reading it died (killed by the memory limit)
        raise UploadRefused(
            f"could not be read within the memory limit of {limits.memory_mb} MB for one upload "
            "(files built to exhaust a server's memory look like this)",
            peak_memory_mb=float(limits.memory_mb),
            seconds=seconds,
        )
    if isinstance(answer, BaseException) or not isinstance(answer, dict):
        log.error("reading an upload on a worker failed: %r", answer)
        raise UploadRefused("could not be read: the background worker failed while reading it", seconds=seconds)
    peak = float(answer.get("peak_mb") or 0)
    if not answer.get("ok"):
        raise UploadRefused(str(answer.get("error") or "could not be read"), peak_memory_mb=peak, seconds=seconds)
    return Inspection(str(answer.get("text") or ""), answer.get("pages"), peak, seconds)


def _wait_for(result: Any, wait: float, budget: float) -> Any:
    """The task's return value (or its exception) once done; :class:`WorkerUnavailable` when no worker
    took it within ``wait`` seconds, ``TimeoutError`` when it took more than ``budget`` once taken."""
    taken_by = time.monotonic() + wait
    done_by: float | None = None
    while True:
        state = result.state
        if state in ("SUCCESS", "FAILURE"):
            return result.result
        if state == "REVOKED":  # expired before a worker could take it
            raise WorkerUnavailable(f"no worker took the file within {wait:g} seconds")
        now = time.monotonic()
        if state == "PENDING":
            if now > taken_by:
                raise WorkerUnavailable(f"no worker took the file within {wait:g} seconds")
        elif done_by is None:
            done_by = now + budget
        elif now > done_by:
            return TimeoutError()
        time.sleep(_POLL)


def _revoke(result: Any) -> None:
    try:
        result.revoke()
    except Exception:  # the message expires anyway: no worker reads it later
        log.warning("could not revoke the upload task %s", result.id)


def _forget(result: Any) -> None:
    try:
        result.forget()
    except Exception:  # the answer is had; a result left to expire is harmless
        log.warning("could not forget the upload task's result %s", result.id)
