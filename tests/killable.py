"""A real Celery worker that a test can SIGKILL, and the queue it listens on: the
durability tests of membership, imports and campaigns kill one midway and start
another, which must finish the work with nothing lost or done twice."""

import os
import signal
import subprocess
import sys
import time
import uuid

import pytest

from tests.conftest import ROOT, _test_database_url


class KillableWorker:
    """`celery worker` in its own process group, so SIGKILL takes its pool too."""

    def __init__(
        self,
        queue: str,
        postgres: str,
        redis_url: str,
        log_path,
        *,
        lease_seconds: int,
        concurrency: int = 2,
        settings_module: str = "config.settings.test",
        env: dict | None = None,
        flags: tuple = (),
    ):
        environment = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": settings_module,
            "DATABASE_URL": _test_database_url(postgres),
            "REDIS_URL": redis_url,
            "CELERY_TASK_ALWAYS_EAGER": "0",
            "JOB_LEASE_SECONDS": str(lease_seconds),
            **(env or {}),
        }
        self.log_path = log_path
        node = f"{queue}-{uuid.uuid4().hex[:4]}@localhost"
        command = [
            *(sys.executable, "-m", "celery", "-A", "config", "worker", "--queues", queue),
            *("--hostname", node, "--concurrency", str(concurrency)),
            *("--loglevel", "INFO", "--without-gossip", "--without-mingle", *flags),
        ]
        with log_path.open("ab") as log:
            self.process = subprocess.Popen(
                command, cwd=ROOT, env=environment, stdout=log, stderr=subprocess.STDOUT,
                start_new_session=True,
            )  # fmt: skip

    def kill(self) -> None:
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.kill()

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-4000:]


def own_queue(prefix: str, settings, *, lease_seconds: int, sweep_seconds: int | None = None):
    """Send this test's tasks to a queue of its own (the body of a fixture: yields the
    queue's name), with a short lease so a killed worker's work moves on quickly."""
    from config.celery import app

    name = f"kith-{prefix}-{uuid.uuid4().hex[:8]}"
    saved = (app.conf.task_always_eager, app.conf.task_default_queue)
    app.conf.task_always_eager, app.conf.task_default_queue = False, name
    settings.JOB_LEASE_SECONDS = lease_seconds
    if sweep_seconds is not None:
        settings.BACKGROUND_SWEEP_SECONDS = sweep_seconds
    try:
        yield name
    finally:
        app.conf.task_always_eager, app.conf.task_default_queue = saved


def wait(check, seconds: float, what: str, log) -> float:
    """Poll check() until it is true (returns how long it took), or fail with the
    worker's log (log: a callable)."""
    start = time.monotonic()
    while time.monotonic() - start < seconds:
        if check():
            return time.monotonic() - start
        time.sleep(0.05)
    pytest.fail(f"{what}: not within {seconds} s. Worker log:\n{log()}")


def sweeping_until_ended(job, seconds: float, log, *, sweep_seconds: float = 2) -> None:
    """Sweep as beat would (every sweep_seconds) until the job has ended."""
    from jobs.sweep import sweep

    last = [0.0]

    def ended() -> bool:
        job.refresh_from_db()
        if job.is_open and time.monotonic() - last[0] >= sweep_seconds:
            sweep()
            last[0] = time.monotonic()
        return not job.is_open

    wait(ended, seconds, f"the job “{job.title}” to end", log)
