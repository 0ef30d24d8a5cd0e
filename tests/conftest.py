"""Shared fixtures.

Services (PostgreSQL, Redis, a real Celery worker): tests marked `services` run when
DATABASE_URL points at PostgreSQL and REDIS_URL at a Redis server; otherwise they are
skipped, or, with REQUIRE_SERVICES=1 (CI), they fail, so a missing service is never
mistaken for a pass.
"""

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest
from django.core.cache import caches
from django.core.cache.backends.locmem import LocMemCache

from config.env import DATABASE_URL, REDIS_URL, REQUIRE_SERVICES
from jobs import dispatch
from tests.factories import MembershipFactory, UserFactory, WorkspaceFactory
from workspaces import api_auth
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

    def __init__(self, queue: str, node: str, log_path: Path, process: subprocess.Popen):
        self.queue = queue
        self.node = node
        self.log_path = log_path
        self.process = process

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def alive(self) -> bool:
        return self.process.poll() is None

    def stop(self) -> None:
        if self.alive():
            self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def _test_database_url(test_db_name: str) -> str:
    """DATABASE_URL with the database pytest-django made ("test_" + name)."""
    parts = urlsplit(DATABASE_URL)
    return urlunsplit(parts._replace(path="/" + test_db_name))


def _wait_until_ready(app, worker: WorkerProcess) -> None:
    deadline = time.monotonic() + WORKER_START_TIMEOUT
    while time.monotonic() < deadline:
        if not worker.alive():
            pytest.fail(f"The Celery worker exited at start:\n{worker.log()[-3000:]}")
        if app.control.ping(destination=[worker.node], timeout=1.0):
            return
        time.sleep(0.2)
    pytest.fail(f"The Celery worker was not ready in {WORKER_START_TIMEOUT} s:\n{worker.log()}")


def new_queue() -> str:
    """A queue of one worker, so test runs that share a Redis never take each other's
    tasks."""
    return f"kith-test-{uuid.uuid4().hex[:10]}"


def start_worker(app, *, broker_url: str, test_db_name: str, log_dir: Path, queue: str, include=()):
    """Start a worker on `broker_url` (broker and cache), the test database and
    `queue`, and wait until it answers a ping through `app`, which must already be
    pointed at the same broker. `include`: modules the worker imports too (kinds of
    job that tests register)."""
    node = f"{queue}@localhost"
    log_path = log_dir / f"{queue}.log"
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.test",
        "DATABASE_URL": _test_database_url(test_db_name),
        "REDIS_URL": broker_url,
        "CELERY_TASK_ALWAYS_EAGER": "0",
    }
    command = [
        *(sys.executable, "-m", "celery", "-A", "config", "worker"),
        *("--queues", queue, "--hostname", node, "--concurrency", "2"),
        *("--loglevel", "INFO", "--without-gossip", "--without-mingle", "--without-heartbeat"),
        *(f"--include={module}" for module in include),
    ]
    with log_path.open("wb") as log:
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    worker = WorkerProcess(queue, node, log_path, process)
    try:
        _wait_until_ready(app, worker)
    except BaseException:
        worker.stop()
        raise
    return worker


@contextmanager
def sending_to(app, queue: str, broker_url: str | None = None):
    """While inside, .delay() and jobs.dispatch send to `queue` (on `broker_url`, when
    given) instead of running tasks inline."""
    conf = app.conf
    saved = (conf.task_always_eager, conf.task_default_queue, conf.broker_url)
    conf.task_always_eager, conf.task_default_queue = False, queue
    if broker_url:
        _repoint(app, broker_url)
    try:
        yield
    finally:
        conf.task_always_eager, conf.task_default_queue = saved[:2]
        if broker_url:
            _repoint(app, saved[2])


def _repoint(app, broker_url: str) -> None:
    """Make `app` connect to `broker_url` from now on: kombu's pools (one registry for
    the process, keyed by URL) are closed and made anew."""
    from kombu import pools

    pools.reset()
    app.conf.broker_url = broker_url
    app._pool = None
    app.amqp._producer_pool = None


@pytest.fixture(scope="session")
def _celery_worker(redis_url, postgres, tmp_path_factory):
    from config.celery import app

    worker = start_worker(
        app,
        broker_url=redis_url,
        test_db_name=postgres,
        log_dir=tmp_path_factory.mktemp("celery"),
        queue=new_queue(),
    )
    yield worker
    worker.stop()


@pytest.fixture
def celery_worker_process(_celery_worker, transactional_db):
    """A real Celery worker on Redis and the test database. The test runs outside a
    transaction (transactional_db) so the worker sees what it writes. Started once per
    session; during the test, .delay() sends to it instead of running inline."""
    from config.celery import app

    with sending_to(app, _celery_worker.queue):
        yield _celery_worker


# ---------------------------------------------------------------- a Redis to break


class PrivateRedis:
    """A redis-server of one test, on a free port, with nothing saved to disk: kill()
    it (SIGKILL, as a crash would) and start() it again, empty, on the same port;
    freeze() it (SIGSTOP: it accepts connections and never answers) and thaw() it."""

    def __init__(self, binary: str, directory: Path):
        self.binary = binary
        self.directory = directory
        self.port = _free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen | None = None
        self.frozen = False

    def start(self) -> None:
        assert self.process is None, "already running"
        command = [
            *(self.binary, "--port", str(self.port), "--bind", "127.0.0.1"),
            *("--save", "", "--appendonly", "no", "--dir", str(self.directory)),
        ]
        log = (self.directory / "redis.log").open("ab")
        self.process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
        log.close()
        deadline = time.monotonic() + 10
        while not self.answers():
            if self.process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"redis-server did not start on port {self.port}")
            time.sleep(0.02)

    def kill(self) -> None:
        if self.process is not None:
            self.thaw()
            self.process.kill()
            self.process.wait()
            self.process = None

    def freeze(self) -> None:
        self.process.send_signal(signal.SIGSTOP)
        self.frozen = True

    def thaw(self) -> None:
        if self.frozen:
            self.process.send_signal(signal.SIGCONT)
            self.frozen = False

    def answers(self) -> bool:
        import redis

        try:
            return redis.Redis.from_url(self.url, socket_timeout=0.5).ping()
        except (redis.RedisError, OSError):
            return False


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def private_redis(tmp_path):
    """A Redis server of this test only, to kill and restart (see PrivateRedis)."""
    binary = shutil.which("redis-server")
    if binary is None:
        service_unavailable("redis-server is not installed")
    server = PrivateRedis(binary, tmp_path)
    server.start()
    yield server
    server.kill()


@pytest.fixture
def app_on_private_redis(private_redis, transactional_db, settings):
    """The test's own Celery app and cache on the private Redis, tasks sent there (not
    run inline), so that what the web process does reaches that server or fails."""
    from config.celery import app

    settings.CACHES = {
        "default": {**settings.CACHES["default"], "LOCATION": private_redis.url},
    }
    with sending_to(app, new_queue(), private_redis.url):
        yield app


@pytest.fixture
def worker_on_private_redis(app_on_private_redis, private_redis, postgres, tmp_path, request):
    """A real worker on the private Redis and the test database. The test module may
    name modules for it to import in WORKER_INCLUDE (kinds of job it registers)."""
    app = app_on_private_redis
    worker = start_worker(
        app,
        broker_url=private_redis.url,
        test_db_name=postgres,
        log_dir=tmp_path,
        queue=app.conf.task_default_queue,
        include=getattr(request.module, "WORKER_INCLUDE", ()),
    )
    yield worker
    worker.stop()


@pytest.fixture(autouse=True)
def _rate_limit_counts_again():
    """The API rate limit leaves an unreachable cache alone for a while, and
    jobs.dispatch a broker that was away; not across tests. The in-process cache
    (SQLite runs) starts empty too: a test's rolled-back rows give their ids to the
    next test's, and a wake key left under a workspace id (segments.pending: "a worker
    was sent") would keep that next workspace's refresh from being sent. Redis's
    cache is left alone: its database is the broker's too, and PostgreSQL never
    gives an id twice."""
    api_auth._cache_down_until = 0.0
    dispatch.forget_broker_away()
    if isinstance(caches["default"], LocMemCache):
        caches["default"].clear()
