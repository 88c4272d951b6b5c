"""Start the real processes a test needs (Celery worker, uvicorn) against the test
database, and stop them for sure. Used by integration and fault tests."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from django.conf import settings

ROOT = Path(__file__).resolve().parents[1]
VENV_BIN = Path(sys.executable).parent


def test_database_url() -> str:
    db = settings.DATABASES["default"]
    return f"postgresql://{db.get('USER') or 'postgres'}@{db.get('HOST') or '127.0.0.1'}:{db.get('PORT') or 5432}/{db['NAME']}"


def process_env(**extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        DATABASE_URL=test_database_url(),
        REDIS_URL=settings.REDIS_URL,
        KEFU_TASK_MODE="celery",
        PYTHONUNBUFFERED="1",
        KEFU_TORCH_THREADS="1",
    )
    env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
    env.pop("KEFU_DB_POOL", None)  # set by importing config.asgi in this process; uvicorn sets its own
    env.update(extra)
    return env


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Worker:
    """A Celery worker subprocess; `kill()` is a SIGKILL (no warm shutdown, no ack)."""

    def __init__(self, queues: str, log_path: Path, env: dict[str, str], beat: bool = False) -> None:
        self.queues, self.log_path, self.env, self.beat = queues, log_path, env, beat
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, ready_timeout: float = 180) -> None:
        log = open(self.log_path, "ab")  # noqa: SIM115 - closed with the process
        self.proc = subprocess.Popen(
            [str(VENV_BIN / "celery"), "-A", "config", "worker", "-Q", self.queues, "--concurrency", "1",
             "--pool", "prefork", "--prefetch-multiplier", "1", "--without-gossip", "--without-mingle",
             "--without-heartbeat", "-n", f"test-{os.getpid()}-{time.monotonic_ns()}@%h", "--loglevel", "INFO",
             *(["-B", "--schedule", str(self.log_path.parent / "beat-schedule")] if self.beat else [])],
            cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )
        deadline = time.monotonic() + ready_timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"celery worker exited: {self.log_path.read_text()[-3000:]}")
            if b"ready." in self.log_path.read_bytes():
                return
            time.sleep(0.2)
        raise RuntimeError(f"celery worker not ready: {self.log_path.read_text()[-3000:]}")

    def kill(self) -> None:
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(10)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.kill()


@contextmanager
def celery_worker(
    tmp_path: Path, queues: str = "inference,default,training", beat: bool = False, name: str = "worker", **env: str
) -> Iterator[Worker]:
    """A worker (with beat inside it when `beat`); its log is tmp_path/<name>.log."""
    worker = Worker(queues, tmp_path / f"{name}.log", process_env(**env), beat=beat)
    worker.start()
    try:
        yield worker
    finally:
        worker.stop()
        worker.kill()


@contextmanager
def uvicorn_server(tmp_path: Path, port: int | None = None, **env: str) -> Iterator[str]:
    """Serves config.asgi on loopback (a free port unless given); yields the base URL."""
    port = port or free_port()
    log = open(tmp_path / "uvicorn.log", "ab")  # noqa: SIM115
    proc = subprocess.Popen(
        [str(VENV_BIN / "uvicorn"), "config.asgi:application", "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"],
        cwd=ROOT, env=process_env(**env), stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise RuntimeError((tmp_path / "uvicorn.log").read_text()[-3000:])
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                    break
            except OSError:
                time.sleep(0.2)
        yield f"http://127.0.0.1:{port}"
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
