"""Uploads read on a Celery worker when a broker is configured (issue 14, item 5).

A real worker (prefork, one process, as in production) on the Redis broker at 127.0.0.1 reads the
files the uploads send it: a normal file, the XLSX and DOCX bombs (a 422 within 10 s, the worker
process's memory under the ceiling), its memory and time limits; and with no worker the upload
falls back to the web server's limited child process, or is refused with a clear message, and
leaves nothing in the store.  Redis unreachable: skipped, except under CI where it fails.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from sqlalchemy import select

from qms.database import db
from qms.jobs import celery_init_app, is_eager
from qms.jobs.uploads import WorkerUnavailable, inspect_on_worker
from qms.models import DocumentRevision
from qms.services.upload_inspection import DOCX, XLSX, UploadLimits, UploadRefused

from .test_services import pdf_bytes
from .test_upload_limits import MEMORY_CEILING_MB, _document, _upload, docx_bomb, store_listing, xlsx_bomb

REDIS_URL = os.environ.get("QMS_TEST_REDIS_URL", "redis://127.0.0.1:6379/5")
#: a port nothing listens on: the broker is down
NO_BROKER = "redis://127.0.0.1:9/5"


def _redis_or_skip() -> None:
    import redis

    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2).ping()
    except redis.exceptions.RedisError as exc:
        if os.environ.get("CI"):
            pytest.fail(f"Redis at {REDIS_URL} is unreachable under CI: {exc}")
        pytest.skip(f"Redis at {REDIS_URL} is unreachable: {exc}")


class Worker:
    def __init__(self, queue: str, folder: Path, log: Path, process: subprocess.Popen) -> None:
        self.queue, self.folder, self.log, self.process = queue, folder, log, process

    def output(self) -> str:
        return self.log.read_text(errors="replace")


@pytest.fixture(scope="module")
def worker(tmp_path_factory) -> Worker:
    """One Celery worker for the module, on a queue of its own, reading from a shared upload folder."""
    _redis_or_skip()
    import redis

    home = tmp_path_factory.mktemp("upload-worker")
    folder = home / "uploads"
    folder.mkdir()
    queue = f"qms-test-uploads-{uuid.uuid4().hex[:8]}"
    env = {
        **os.environ,
        "QMS_DATABASE_URL": f"sqlite:///{home / 'unused.db'}",  # reading an upload needs no database
        "QMS_INSTANCE_PATH": str(home),
        "QMS_UPLOAD_FOLDER": str(folder),
        "QMS_CELERY_BROKER_URL": REDIS_URL,
        "QMS_SECRET_KEY": "test-upload-worker",
    }
    log = home / "worker.log"
    celery_bin = Path(sys.executable).with_name("celery")
    with log.open("wb") as out:
        process = subprocess.Popen(
            [
                *(str(celery_bin), "-A", "qms.jobs.worker", "worker", "--pool", "prefork", "--concurrency", "1"),
                *("-Q", queue, "--loglevel", "INFO", "--without-gossip", "--without-mingle", "--without-heartbeat"),
            ],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=home,
        )
    deadline = time.monotonic() + 60
    while "ready." not in log.read_text(errors="replace"):
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            pytest.fail("the worker did not start:\n" + log.read_text(errors="replace"))
        time.sleep(0.1)
    yield Worker(queue, folder, log, process)
    process.terminate()
    process.wait(timeout=30)
    broker = redis.Redis.from_url(REDIS_URL)
    broker.delete(queue, *broker.keys(f"*{queue}*"))


def _use_broker(app, worker: Worker, broker: str = REDIS_URL, **settings) -> None:
    app.config.update(
        QMS_CELERY_BROKER_URL=broker,
        QMS_CELERY_RESULT_BACKEND=broker,
        QMS_UPLOAD_FOLDER=str(worker.folder),
        QMS_UPLOAD_PARSE_QUEUE=worker.queue,
        **settings,
    )
    celery_init_app(app)
    assert not is_eager(app)


def _file(worker: Worker, name: str, data: bytes) -> Path:
    path = worker.folder / f"{uuid.uuid4().hex}-{name}"
    path.write_bytes(data)
    return path


def test_an_upload_is_read_on_the_worker(app, api, org, worker):
    _use_broker(app, worker)
    document = _document(org)
    response = _upload(api, "quality", document.id, pdf_bytes("Calibration of the torque wrenches"), "torque.pdf")
    assert response.status_code == 201, response.get_data(as_text=True)
    revision = db.session.get(DocumentRevision, response.get_json()["id"])
    assert "torque wrenches" in revision.extracted_text
    assert "qms.inspect_upload" in worker.output() and "succeeded" in worker.output()

    found = inspect_on_worker(
        _file(worker, "a.pdf", pdf_bytes("ordinary")), "application/pdf", UploadLimits(), extract=True
    )
    assert found.text == "ordinary" and found.pages == 1
    assert 0 < found.peak_memory_mb < MEMORY_CEILING_MB


@pytest.mark.parametrize(("kind", "name"), [("xlsx", "prices.xlsx"), ("docx", "manual.docx")])
def test_a_bomb_read_on_the_worker_is_a_quick_422_and_leaves_nothing(app, api, org, worker, kind, name):
    _use_broker(app, worker)
    bomb = {"xlsx": xlsx_bomb, "docx": docx_bomb}[kind]()
    document = _document(org)
    before = store_listing(app)
    started = time.perf_counter()
    response = _upload(api, "quality", document.id, bomb, name)
    elapsed = time.perf_counter() - started
    assert response.status_code == 422, response.get_data(as_text=True)
    assert "more than 1,000,000 XML elements" in response.get_json()["errors"]["file"]
    assert elapsed < 10, elapsed
    assert store_listing(app) == before
    assert db.session.scalar(select(DocumentRevision).where(DocumentRevision.document_id == document.id)) is None

    # the worker process's own peak memory, whatever it read before
    with pytest.raises(UploadRefused, match="XML elements") as refused:
        inspect_on_worker(_file(worker, name, bomb), {"xlsx": XLSX, "docx": DOCX}[kind], UploadLimits(), extract=True)
    assert 0 < refused.value.peak_memory_mb < MEMORY_CEILING_MB


def test_the_workers_memory_and_time_limits_hold_and_are_lifted_after(app, worker):
    _use_broker(app, worker)
    pages = _file(worker, "fine.pdf", pdf_bytes("x"))
    large = _file(worker, "large.pdf", pdf_bytes("x") + b"%" + b"0" * (24 * 1024 * 1024) + b"\n")
    with pytest.raises(UploadRefused, match="needs more than the 1 MB of memory"):
        inspect_on_worker(large, "application/pdf", UploadLimits(memory_mb=1), extract=True)
    started = time.perf_counter()
    with pytest.raises(UploadRefused, match="took longer than 1 seconds"):
        limits = UploadLimits(seconds=1, max_xml_elements=100_000_000)
        inspect_on_worker(_file(worker, "slow.xlsx", xlsx_bomb()), XLSX, limits, extract=True)
    assert time.perf_counter() - started < 10
    # the same worker process reads the next file normally: its limits were lifted
    assert inspect_on_worker(pages, "application/pdf", UploadLimits(), extract=True).text == "x"


def test_a_message_naming_a_file_outside_the_upload_folder_is_not_read(app, worker, tmp_path):
    _use_broker(app, worker)
    outside = tmp_path / "secret.pdf"
    outside.write_bytes(pdf_bytes("secret"))
    with pytest.raises(UploadRefused, match="not a file in the upload folder"):
        inspect_on_worker(outside, "application/pdf", UploadLimits(), extract=True)


@pytest.mark.parametrize("down", ["broker", "worker"])
def test_without_a_worker_the_upload_falls_back_or_is_refused_cleanly(app, api, org, worker, down):
    """The broker unreachable, or no worker on the queue: read in the web server's limited child
    process (the default), or refused with a message saying to try again; never a 500, nothing stored."""
    if down == "broker":
        _use_broker(app, worker, NO_BROKER)
    else:
        _use_broker(app, worker, QMS_UPLOAD_WORKER_WAIT_SECONDS=1)
        app.config["QMS_UPLOAD_PARSE_QUEUE"] = f"{worker.queue}-nobody"
    document = _document(org)
    started = time.perf_counter()
    response = _upload(api, "quality", document.id, pdf_bytes("read here instead"), "here.pdf")
    assert response.status_code == 201, response.get_data(as_text=True)
    assert time.perf_counter() - started < 15
    assert "read here instead" in db.session.get(DocumentRevision, response.get_json()["id"]).extracted_text
    with pytest.raises(WorkerUnavailable):
        inspect_on_worker(_file(worker, "b.pdf", pdf_bytes("b")), "application/pdf", UploadLimits(), extract=True)

    app.config["QMS_UPLOAD_PARSE_FALLBACK"] = "refuse"
    before = store_listing(app)
    other = _document(org, title="Torque")
    response = _upload(api, "quality", other.id, pdf_bytes("not now"), "later.pdf")
    assert response.status_code == 422, response.get_data(as_text=True)
    assert "could not be checked now" in response.get_json()["errors"]["file"]
    assert "try again" in response.get_json()["errors"]["file"]
    assert store_listing(app) == before
