"""Every uploaded PDF, DOCX and XLSX is opened in a child process with a memory and time budget.

An upload is hostile until read: a 50 KB spreadsheet can inflate to 48 MB of XML, a 120 KB
PDF can hold 20,000 pages.  The parsers are already capped (see
:mod:`qms.services.text_extraction`), and on top of that the file is read by a short-lived
child process whose address space is limited with ``RLIMIT_AS`` and which is killed after a
number of seconds.  Whatever the file does, the web worker's own memory does not grow and the
request answers within the budget: a file over it is refused with :class:`UploadRefused`,
whose message says why, and nothing is stored.

The child runs this very file as a script.  It loads only the text extractor and the PDF
reader (not Flask, not the database: starting takes a fraction of a second) and prints one
line of JSON: the text, the PDF's page count and its own peak memory.

The check answers the upload, so it runs while the person waits, with or without a Celery
broker: a background task could not turn the upload down with a form error.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

__all__ = ["Inspection", "UploadLimits", "UploadRefused", "inspect_upload", "limits_from_config"]

PDF = "application/pdf"
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
#: the types whose reading is bounded in a child process (plain text and images need no parser)
PARSED_TYPES = frozenset({PDF, DOCX, XLSX})


class UploadRefused(ValueError):
    """The upload is refused; the message is meant for the person who uploaded it.

    ``peak_memory_mb`` and ``seconds`` say what reading it cost before it was refused (0 when unknown).
    """

    def __init__(self, message: str, *, peak_memory_mb: float = 0.0, seconds: float = 0.0) -> None:
        super().__init__(message)
        self.peak_memory_mb = peak_memory_mb
        self.seconds = seconds


@dataclass(frozen=True)
class UploadLimits:
    """What reading one upload may cost (the defaults are those of a fresh installation)."""

    max_pdf_pages: int = 2000
    seconds: float = 20.0
    memory_mb: int = 256
    max_xml_elements: int = 1_000_000
    max_part_mb: int = 50
    max_unpacked_mb: int = 100
    text_limit: int = 1_000_000


@dataclass(frozen=True)
class Inspection:
    """What the child found: the searchable text, the PDF's pages, and what reading it cost."""

    text: str
    pages: int | None
    peak_memory_mb: float
    seconds: float


def limits_from_config(config: Any) -> UploadLimits:
    """The limits set by the QMS_UPLOAD_* and QMS_PDF_MAX_PAGES settings (see ``qms.config``)."""
    defaults = UploadLimits()
    return UploadLimits(
        max_pdf_pages=int(config.get("QMS_PDF_MAX_PAGES", defaults.max_pdf_pages)),
        seconds=float(config.get("QMS_UPLOAD_PARSE_SECONDS", defaults.seconds)),
        memory_mb=int(config.get("QMS_UPLOAD_PARSE_MEMORY_MB", defaults.memory_mb)),
        max_xml_elements=int(config.get("QMS_UPLOAD_MAX_XML_ELEMENTS", defaults.max_xml_elements)),
        max_part_mb=int(config.get("QMS_UPLOAD_MAX_PART_MB", defaults.max_part_mb)),
        max_unpacked_mb=int(config.get("QMS_UPLOAD_MAX_UNPACKED_MB", defaults.max_unpacked_mb)),
    )


def inspect_upload(path: Path, content_type: str, limits: UploadLimits, *, extract: bool = True) -> Inspection:
    """Read the file at ``path`` within ``limits``: its text (when ``extract``) and, for a PDF, its pages.

    Raises :class:`UploadRefused` naming why: too many pages, too many XML elements, parts too
    large, damaged or protected, or over the time or memory budget.
    """
    kind = (content_type or "").split(";", 1)[0].strip().lower()
    started = time.perf_counter()
    if kind not in PARSED_TYPES or (kind != PDF and not extract):  # nothing to parse
        text = ""
        if extract and kind == "text/plain":
            from .text_extraction import extract_text

            text = extract_text(Path(path).read_bytes(), kind, limit=limits.text_limit)
        return Inspection(text, None, 0.0, time.perf_counter() - started)
    request = {"path": str(path), "content_type": kind, "extract": extract, "limits": asdict(limits)}
    try:
        done = subprocess.run(  # noqa: S603 (our own interpreter and script; the file travels as data)
            [sys.executable, str(Path(__file__).resolve())],
            input=json.dumps(request).encode(),
            capture_output=True,
            timeout=limits.seconds,
            close_fds=True,
            env=_child_environment(),
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise UploadRefused(
            f"took longer than {limits.seconds:g} seconds to read, the limit for one upload; "
            "split it into smaller files or ask an administrator to raise QMS_UPLOAD_PARSE_SECONDS",
            seconds=time.perf_counter() - started,
        ) from None
    seconds = time.perf_counter() - started
    try:
        answer = json.loads(done.stdout.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        answer = None
    if not isinstance(answer, dict):  # killed by the memory limit, or crashed before it could say why
        raise UploadRefused(
            f"could not be read within the memory limit of {limits.memory_mb} MB for one upload "
            "(files built to exhaust a server's memory look like this)",
            peak_memory_mb=float(limits.memory_mb),
            seconds=seconds,
        )
    peak = float(answer.get("peak_mb") or 0)
    if not answer.get("ok"):
        raise UploadRefused(str(answer.get("error") or "could not be read"), peak_memory_mb=peak, seconds=seconds)
    return Inspection(str(answer.get("text") or ""), answer.get("pages"), peak, seconds)


def _child_environment() -> dict[str, str]:
    """The child's environment: the parent's, so that it finds the same packages, minus secrets."""
    return {
        name: value
        for name, value in os.environ.items()
        if not name.startswith("QMS_") and "SECRET" not in name and "PASSWORD" not in name
    }


# --- the child ---------------------------------------------------------------------------------


def _limit_self(limits: dict[str, Any]) -> None:
    """Cap this process: address space, CPU seconds, no files written, no children."""
    import resource

    memory = int(limits["memory_mb"]) * 1024 * 1024
    cpu = int(float(limits["seconds"])) + 1
    for which, value in (
        (resource.RLIMIT_AS, memory),
        (resource.RLIMIT_CPU, cpu),
        (resource.RLIMIT_FSIZE, 0),
    ):
        resource.setrlimit(which, (value, value))


def _load_extractor() -> Any:
    """``qms.services.text_extraction`` without running the ``qms`` package's ``__init__`` (Flask, the database)."""
    import importlib
    import types

    root = Path(__file__).resolve().parent.parent
    for name, folder in (("qms", root), ("qms.services", root / "services"), ("qms.reports", root / "reports")):
        if name not in sys.modules:
            package = types.ModuleType(name)
            package.__path__ = [str(folder)]
            sys.modules[name] = package
    return importlib.import_module("qms.services.text_extraction")


def _child_main() -> int:
    request = json.loads(sys.stdin.buffer.read())
    limits = request["limits"]
    _limit_self(limits)
    answer: dict[str, Any]
    try:
        answer = _read(request, limits)
    except MemoryError:
        answer = {
            "ok": False,
            "error": f"needs more than the {limits['memory_mb']} MB of memory allowed for reading one upload "
            "(files built to exhaust a server's memory look like this)",
        }
    answer["peak_mb"] = _peak_memory_mb()
    sys.stdout.write(json.dumps(answer))
    sys.stdout.flush()
    return 0


def _peak_memory_mb() -> float:
    """This process's peak resident memory since it started its own program (``VmHWM``; ``ru_maxrss``
    would also count the parent's memory from before the ``exec``)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return round(int(line.split()[1]) / 1024, 1)
    except (OSError, ValueError, IndexError):
        pass
    return 0.0


def _read(request: dict[str, Any], limits: dict[str, Any]) -> dict[str, Any]:
    extraction = _load_extractor()
    from qms.reports.pdf_input import PdfProblem, count_pages, open_pdf

    extraction.MAX_ELEMENTS = int(limits["max_xml_elements"])
    extraction.MAX_MEMBER_SIZE = int(limits["max_part_mb"]) * 1024 * 1024
    extraction.MAX_TOTAL_SIZE = int(limits["max_unpacked_mb"]) * 1024 * 1024
    data = Path(request["path"]).read_bytes()
    kind = request["content_type"]
    pages = None
    try:
        if kind == PDF:
            pages = count_pages(open_pdf(data), int(limits["max_pdf_pages"]))
            if pages > int(limits["max_pdf_pages"]):
                return {
                    "ok": False,
                    "error": f"has {pages:,} pages; a PDF may have at most {int(limits['max_pdf_pages']):,} "
                    "(split it, or ask an administrator to raise QMS_PDF_MAX_PAGES)",
                }
        text = extraction.extract_text(data, kind, limit=int(limits["text_limit"])) if request["extract"] else ""
    except (PdfProblem, extraction.UnreadableDocument) as exc:
        if not request["extract"]:
            # evidence is stored and handed back as it is, never parsed again: a PDF that
            # cannot be read is the uploader's business, one over the page limit is not
            return {"ok": True, "text": "", "pages": None}
        return {"ok": False, "error": f"cannot be read: {exc}"}
    return {"ok": True, "text": text, "pages": pages}


if __name__ == "__main__":
    sys.exit(_child_main())
