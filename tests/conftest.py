"""Shared fixtures.

Services (PostgreSQL, Redis, a real Celery worker): tests marked `services` run when
DATABASE_URL points at PostgreSQL and REDIS_URL at a Redis server; otherwise they are
skipped, or, with REQUIRE_SERVICES=1 (CI), they fail, so a missing service is never
mistaken for a pass.
"""

import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest

from config.env import DATABASE_URL, REDIS_URL, REQUIRE_SERVICES
from tests.factories import MembershipFactory, UserFactory, WorkspaceFactory
from workspaces.models import Role

ROOT = Path(__file__).resolve().parent.parent
WORKER_START_TIMEOUT = 60


@pytest.fixture
def workspace(db):
    return WorkspaceFactory(name="Acme", slug="acme")


@pytest.fixture
def other_workspace(db):
    return WorkspaceFactory(name="Globex", slug="globex")


@pytest.fixture
def user(workspace):
    user = UserFactory(username="owner")
    MembershipFactory(workspace=workspace, user=user, role=Role.OWNER)
    return user


@pytest.fixture
def client_in(client, user):
    """A browser session signed in as the workspace's owner."""
    client.force_login(user)
    return client


@pytest.fixture
def member_client(client, workspace):
    """member_client(role) -> a client signed in as a new member with that role."""

    def make(role=Role.MARKETER):
        member = UserFactory()
        MembershipFactory(workspace=workspace, user=member, role=role)
        client.force_login(member)
        return client

    return make


# ---------------------------------------------------------------- services


def service_unavailable(reason: str):
    """Skip, or fail when REQUIRE_SERVICES=1 says the services must be there."""
    if REQUIRE_SERVICES:
        pytest.fail(f"{reason} (REQUIRE_SERVICES=1, so this fails instead of skipping)")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def redis_url() -> str:
    """REDIS_URL, checked to answer a PING."""
    import redis

    if not REDIS_URL:
        service_unavailable("REDIS_URL is not set")
    problem = None
    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=3).ping()
    except (redis.RedisError, OSError) as exc:
        problem = f"Redis at {REDIS_URL} cannot be reached: {exc}"
    if problem:  # outside the except block: one line, not a chained traceback
        service_unavailable(problem)
    return REDIS_URL


@pytest.fixture(scope="session")
def postgres(django_db_setup, django_db_blocker) -> str:
    """The test database, checked to be PostgreSQL and to answer."""
    from django.db import connection

    if not DATABASE_URL or connection.vendor != "postgresql":
        service_unavailable("DATABASE_URL does not point at PostgreSQL")
    name = connection.settings_dict["NAME"]
    if not name.startswith("test_"):
        # pytest-django makes the test database only for tests that name a database
        # fixture; a real worker must never be pointed at the real database.
        pytest.fail(f"'{name}' is not a test database: the test needs transactional_db")
    with django_db_blocker.unblock(), connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return name


@pytest.fixture(autouse=True)
def _services_marker(request):
    """A test marked `services` needs PostgreSQL and Redis."""
    if request.node.get_closest_marker("services"):
        request.getfixturevalue("redis_url")
        request.getfixturevalue("postgres")


class WorkerProcess:
    """A real `celery -A config worker` in a subprocess, on its own queue."""

    def __init__(self, queue: str, log_path: Path, process: subprocess.Popen):
        self.queue = queue
        self.log_path = log_path
        self.process = process

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


def _test_database_url(test_db_name: str) -> str:
    """DATABASE_URL with the database pytest-django made ("test_" + name)."""
    parts = urlsplit(DATABASE_URL)
    return urlunsplit(parts._replace(path="/" + test_db_name))


def _wait_until_ready(app, worker: WorkerProcess, node: str) -> None:
    deadline = time.monotonic() + WORKER_START_TIMEOUT
    while time.monotonic() < deadline:
        if worker.process.poll() is not None:
            pytest.fail(f"The Celery worker exited at start:\n{worker.log()[-3000:]}")
        if app.control.ping(destination=[node], timeout=1.0):
            return
        time.sleep(0.5)
    pytest.fail(f"The Celery worker was not ready in {WORKER_START_TIMEOUT} s:\n{worker.log()}")


@pytest.fixture(scope="session")
def _celery_worker(redis_url, postgres, tmp_path_factory):
    from config.celery import app

    queue = f"kith-test-{uuid.uuid4().hex[:10]}"
    node = f"{queue}@localhost"
    log_path = tmp_path_factory.mktemp("celery") / "worker.log"
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.test",
        "DATABASE_URL": _test_database_url(postgres),
        "REDIS_URL": redis_url,
        "CELERY_TASK_ALWAYS_EAGER": "0",
    }
    command = [
        *(sys.executable, "-m", "celery", "-A", "config", "worker"),
        *("--queues", queue, "--hostname", node, "--concurrency", "2"),
        *("--loglevel", "INFO", "--without-gossip", "--without-mingle"),
    ]
    with log_path.open("wb") as log:
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    worker = WorkerProcess(queue, log_path, process)
    try:
        _wait_until_ready(app, worker, node)
        yield worker
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture
def celery_worker_process(_celery_worker, transactional_db):
    """A real Celery worker on Redis and the test database. The test runs outside a
    transaction (transactional_db) so the worker sees what it writes. Started once per
    session; during the test, .delay() sends to it instead of running inline."""
    from config.celery import app

    # The worker's own queue, so test runs that share a Redis database never take
    # each other's tasks.
    saved = (app.conf.task_always_eager, app.conf.task_default_queue)
    app.conf.task_always_eager, app.conf.task_default_queue = False, _celery_worker.queue
    try:
        yield _celery_worker
    finally:
        app.conf.task_always_eager, app.conf.task_default_queue = saved
