"""PostgreSQL restarted under load (issue 24, faults): the site and the worker come
back on their own. A PostgreSQL cluster of this test only (initdb in a temporary
folder, a free port: the shared server is never touched), the site under gunicorn and
a real worker and beat on it, and a private Redis. While API calls, page views and a
job run, the database is stopped (pg_ctl stop -m fast, as a restart begins), left
down a moment, and started again. During the outage every request is a 503 that says
so (workspaces.middleware), never a 500 or a dropped connection; a write answered 503
left nothing; afterwards both come back with no restart of theirs, and the job,
resumed from its last saved step, ends with every step done once."""

import json
import os
import pwd
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

import psycopg
import pytest
import requests

from tests.conftest import ROOT, _free_port, service_unavailable
from tests.killable import KillableWorker
from workspaces.middleware import DATABASE_AWAY

pytestmark = pytest.mark.services
DOWN_SECONDS = 3
NAP_SECONDS = 15  # the job: steps of 0.1 s, each saved (tests/test_broker_restart.py)
LEASE_SECONDS = 5
BACK_WITHIN = 30  # seconds after the database is back


class PrivatePostgres:
    """initdb + pg_ctl in a temporary folder (as the postgres user when run as root,
    which initdb refuses), trust authentication on 127.0.0.1, fsync off."""

    def __init__(self):
        self.bin = Path(os.path.realpath(shutil.which("initdb") or "")).parent
        self.folder = Path(tempfile.mkdtemp(prefix="kith-pg-"))
        self.data = self.folder / "data"
        self.port = _free_port()
        self.user = None
        if os.geteuid() == 0:
            self.user = "postgres"
            entry = pwd.getpwnam(self.user)
            os.chown(self.folder, entry.pw_uid, entry.pw_gid)

    def _run(self, *command, check=True):
        return subprocess.run(
            [str(self.bin / command[0]), *command[1:]],
            user=self.user, capture_output=True, text=True, check=check, timeout=120,
        )  # fmt: skip

    def init(self) -> None:
        self._run("initdb", "-D", str(self.data), "-U", "postgres", "--auth=trust",
                  "-E", "UTF8", "--no-sync", "--no-instructions")  # fmt: skip
        self.start()
        with self.connect("postgres") as conn:
            conn.execute("CREATE DATABASE kith")

    def start(self) -> None:
        options = f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1 -c fsync=off"
        self._run("pg_ctl", "-D", str(self.data), "-o", options,
                  "-l", str(self.folder / "log"), "-w", "start")  # fmt: skip

    def stop(self, mode: str = "fast") -> None:
        self._run("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "stop", check=False)

    def url(self, name: str = "kith") -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/{name}"

    def connect(self, name: str = "kith"):
        return psycopg.connect(self.url(name), autocommit=True, connect_timeout=5)

    def remove(self) -> None:
        self.stop("immediate")
        shutil.rmtree(self.folder, ignore_errors=True)


@pytest.fixture
def private_postgres():
    if not shutil.which("initdb"):
        service_unavailable("initdb is not installed: no PostgreSQL cluster of the test's own")
    server = PrivatePostgres()
    try:
        server.init()
        yield server
    finally:
        server.remove()


def environment(database: str, redis_url: str) -> dict:
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.test",
        "DATABASE_URL": database,
        "REDIS_URL": redis_url,
        "CELERY_TASK_ALWAYS_EAGER": "0",
        "JOB_LEASE_SECONDS": str(LEASE_SECONDS),
        "BACKGROUND_SWEEP_SECONDS": "1",
    }


SETUP = """
import json, django
django.setup()
from django.core.management import call_command
call_command("migrate", verbosity=0)
from tests.factories import MembershipFactory, UserFactory, WorkspaceFactory
import tests.test_broker_restart as nap  # the job kind "test_nap"
from workspaces.models import Role
from workspaces.services import api_key_create
ws = WorkspaceFactory(name="Acme", slug="acme")
MembershipFactory(workspace=ws, user=UserFactory(username="ann"), role=Role.OWNER)
key = api_key_create(workspace=ws, name="load")[1]
print(json.dumps({"key": key, "workspace": ws.pk}))
"""

START_JOB = """
import json, django
django.setup()
import tests.test_broker_restart as nap
from workspaces.models import Workspace
job = nap.start_nap(Workspace.objects.get(slug="acme"), %s, "Across the restart")
print(json.dumps({"job": job.pk}))
"""


def python(code: str, env: dict) -> dict:
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True,
        timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


class Site:
    """gunicorn serving config.wsgi on a free port."""

    def __init__(self, env: dict, log: Path):
        self.port = _free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        with log.open("ab") as out:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "gunicorn", "config.wsgi:application",
                 "-b", f"127.0.0.1:{self.port}", "-w", "2", "--timeout", "60"],
                cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
            )  # fmt: skip
        self.log = log
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                requests.get(f"{self.base}/accounts/login/", timeout=20)
                return
            except requests.RequestException:  # not listening yet, or still loading
                time.sleep(0.3)
        self.stop()  # not left serving after the test
        pytest.fail(f"gunicorn did not answer:\n{log.read_text()[-3000:]}")

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()


def signed_in(base: str) -> requests.Session:
    browser = requests.Session()
    browser.get(f"{base}/accounts/login/", timeout=10)
    token = browser.cookies["csrftoken"]
    answer = browser.post(
        f"{base}/accounts/login/",
        data={"username": "ann", "password": "pw", "csrfmiddlewaretoken": token},
        timeout=10,
    )
    assert answer.status_code == 200 and "/accounts/login" not in answer.url, answer.url
    return browser


class Load:
    """Threads that keep calling: the API's list and create, and a page; each answer
    recorded as (moment, what, status or the exception's name, body's start)."""

    def __init__(self, base: str, key: str, browser: requests.Session):
        self.seen: list[tuple] = []
        self.created: list[str] = []  # emails the API answered 201 for
        self.refused: list[str] = []  # emails it answered 503 for
        self.when: dict[str, tuple] = {}  # email: when it was sent, answered
        self.stopping = threading.Event()
        api = requests.Session()
        api.headers["Authorization"] = f"Bearer {key}"
        self.calls = {
            "api list": lambda: api.get(f"{base}/api/v1/contacts?limit=5", timeout=15),
            "api create": self._create(api, base),
            "page": lambda: browser.get(f"{base}/contacts/", timeout=15, allow_redirects=False),
        }
        self.threads = [threading.Thread(target=self._loop, args=(n,)) for n in self.calls]

    def _create(self, api, base):
        def call():
            email = f"{uuid.uuid4().hex[:12]}@load.io"
            started = time.monotonic()
            answer = api.post(f"{base}/api/v1/contacts", json={"email": email}, timeout=15)
            moment = time.monotonic()
            {201: self.created, 503: self.refused}.get(answer.status_code, []).append(email)
            self.when[email] = (started, moment)
            return answer

        return call

    def _loop(self, what: str) -> None:
        while not self.stopping.is_set():
            try:
                answer = self.calls[what]()
                self.seen.append((time.monotonic(), what, answer.status_code, answer.text[:2000]))
            except requests.RequestException as exc:
                self.seen.append((time.monotonic(), what, type(exc).__name__, ""))
            time.sleep(0.1)

    def __enter__(self):
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *exc):
        self.stopping.set()
        for thread in self.threads:
            thread.join(timeout=30)

    def first_ok_after(self, what: str, moment: float) -> float | None:
        for at, kind, status, _ in sorted(self.seen):
            if kind == what and at > moment and status in (200, 201):
                return at - moment
        return None


def job_row(server: PrivatePostgres, job_id: int) -> dict:
    try:
        with server.connect() as conn:
            row = conn.execute(
                "SELECT status, done, total, attempts FROM jobs_job WHERE id = %s", [job_id]
            ).fetchone()
    except psycopg.OperationalError:
        return {"status": "unknown"}
    return dict(zip(("status", "done", "total", "attempts"), row, strict=True))


def wait(check, seconds: float, what: str, logs) -> float:
    start = time.monotonic()
    while time.monotonic() - start < seconds:
        if check():
            return time.monotonic() - start
        time.sleep(0.1)
    pytest.fail(f"{what}: not within {seconds} s.\n" + "\n".join(log()[-3000:] for log in logs))


def test_the_site_and_the_worker_come_back_after_postgresql_restarts(
    transactional_db, private_postgres, private_redis, tmp_path
):  # (transactional_db: the `services` marker's check; the test's data is elsewhere)
    server = private_postgres
    env = environment(server.url(), private_redis.url)
    made = python(SETUP, env)

    site = Site(env, tmp_path / "gunicorn.log")
    worker = KillableWorker(
        "celery", "unused", private_redis.url, tmp_path / "worker.log",
        lease_seconds=LEASE_SECONDS, env=env,
        flags=("--include=tests.test_broker_restart",),
    )  # fmt: skip
    beat = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "config", "beat", "--loglevel", "INFO",
         "-s", str(tmp_path / "beat-schedule")],
        cwd=ROOT, env=env, stdout=(tmp_path / "beat.log").open("ab"), stderr=subprocess.STDOUT,
    )  # fmt: skip
    logs = [worker.log, lambda: (tmp_path / "gunicorn.log").read_text(errors="replace")]
    try:
        browser = signed_in(site.base)
        job_id = python(START_JOB % NAP_SECONDS, env)["job"]
        wait(lambda: job_row(server, job_id).get("done", 0) > 10, 60, "the job to run", logs)
        with Load(site.base, made["key"], browser) as load:
            time.sleep(2)  # answers before
            down_at = time.monotonic()
            server.stop("fast")
            time.sleep(DOWN_SECONDS)
            server.start()
            back_at = time.monotonic()
            wait(
                lambda: all(load.first_ok_after(w, back_at) for w in load.calls),
                BACK_WITHIN, "every request to be answered again", logs,
            )  # fmt: skip
            time.sleep(2)  # answers after
        done_in = wait(
            lambda: job_row(server, job_id)["status"] in ("done", "failed", "cancelled"),
            2 * BACK_WITHIN, "the job to end", logs,
        )  # fmt: skip
        worker_alive = worker.process.poll() is None
    finally:
        beat.terminate()
        site.stop()
        worker.stop()

    statuses = {status for _, _, status, _ in load.seen}
    assert statuses <= {200, 201, 503}, sorted(map(str, statuses))  # no 500, no drop
    outage = [s for s in load.seen if down_at <= s[0] <= back_at]
    away = [s for s in outage if s[2] == 503]
    assert {what for _, what, _, _ in away} == set(load.calls), outage  # each saw it
    for _, what, _, body in away:
        if what == "page":
            assert DATABASE_AWAY in re.sub(r"\s+", " ", body)
        else:
            assert json.loads(body)["error"]["code"] == "database_unavailable"
    settled = back_at + max(load.first_ok_after(w, back_at) for w in load.calls) + 0.5
    late = [s[:3] for s in load.seen if s[0] > settled and s[2] not in (200, 201)]
    assert not late, late  # once back, it stays back

    with server.connect() as conn:
        stored = {r[0] for r in conn.execute("SELECT email FROM contacts_contact")}
    assert set(load.created) <= stored  # every 201 was kept
    kept = [
        (round(load.when[e][0] - down_at, 2), round(load.when[e][1] - down_at, 2))
        for e in set(load.refused) & stored
    ]
    assert not kept, f"answered 503 but stored (sent, answered; s after the stop): {kept}"
    job = job_row(server, job_id)
    steps = NAP_SECONDS * 10
    assert (job["status"], job["done"], job["total"]) == ("done", steps, steps), job
    assert worker_alive, worker.log()  # the same process, never restarted
    recovery = {w: round(load.first_ok_after(w, back_at), 2) for w in load.calls}
    print(
        f"\n{len(load.seen)} requests; {len(away)} answered 503 while the database was down "
        f"{DOWN_SECONDS} s; first success after it was back: {recovery}; the job ended "
        f"{done_in:.1f} s later after {job['attempts']} attempt(s); "
        f"{len(load.created)} contacts created, {len(load.refused)} refused and not stored"
    )
