"""The load test of issue 24, small enough for CI: bench/load.py's pieces (the
workspace's user, segment and keys, gunicorn on the production settings, locust
with loadtest/locustfile.py, an import started during the run) against the test
database, with the session's real Celery worker running the import. 10 users for
15 s on 2,000 contacts: no error at all, every endpoint hit, events stored, the
import done. bench/load.py runs the same at 1,000,000 contacts and 50 users."""

import pytest
from django.db import connection

from bench import load
from contacts.demo_data import seed
from contacts.models import Contact
from jobs.models import Job
from tests.conftest import _test_database_url
from tests.factories import WorkspaceFactory

pytestmark = pytest.mark.services

USERS, SECONDS, CONTACTS, IMPORT_ROWS = 10, 15, 2000, 500


def test_a_small_load_run_has_no_error_and_hits_every_endpoint(
    celery_worker_process, redis_url, tmp_path
):
    workspace = WorkspaceFactory()
    seed(workspace, contacts=CONTACTS, events=CONTACTS, seed=24)
    env = load.server_env(
        _test_database_url(connection.settings_dict["NAME"]), redis_url, tmp_path / "var"
    )
    summary = load.run(
        workspace,
        env=env,
        folder=tmp_path,
        users=USERS,
        seconds=SECONDS,
        workers=2,
        import_rows=IMPORT_ROWS,
        import_after=3,
        import_wait=30,
        celery=False,  # the session's worker takes the import
    )
    print("\n".join(load.summary_lines(summary)))
    assert load.problems_of(summary) == []
    assert summary["errors"] == 0 and summary["locust_exit"] == 0
    for name in load.ENDPOINTS:
        assert summary["endpoints"][name]["requests"] > 0, name
        assert summary["endpoints"][name]["p95"] is not None, name
    assert summary["events_stored"] > 0
    assert summary["events_stored"] % load.EVENTS_PER_POST == 0  # whole batches, none lost
    assert summary["import_status"] == Job.Status.DONE
    assert Contact.objects.filter(workspace=workspace).count() == CONTACTS + IMPORT_ROWS
