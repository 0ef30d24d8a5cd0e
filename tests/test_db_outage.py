"""A request that loses its database connection (issue 24): the page says so in a 503
("Kith could not reach its database; nothing was saved"), the API answers a JSON 503,
and nothing is half-written. The connection is cut for real: another connection
terminates the request's PostgreSQL backend (pg_terminate_backend) between two
statements of one write (the contact is inserted and tagged, its change not yet
announced), as a server restart or a network cut would."""

from datetime import timedelta

import psycopg
import pytest
from django.db import OperationalError, close_old_connections, connection, transaction
from django.utils import timezone

from contacts.models import Contact, Tag
from contacts.services import contacts as contact_services
from jobs import registry, runner
from jobs.models import Job
from jobs.services import job_start
from jobs.sweep import stalled_jobs
from tests.api_helpers import ApiClient, error_code
from tests.factories import WorkspaceFactory
from workspaces.errors import database_lost
from workspaces.middleware import DATABASE_AWAY
from workspaces.services import api_key_create

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _postgres_only():
    if connection.vendor != "postgresql":
        pytest.skip("cuts a PostgreSQL backend (pg_terminate_backend)")


def terminate(backend_pid: int) -> None:
    """Cut one backend's connection from another connection, as an outage would."""
    params = connection.get_connection_params()
    params.pop("cursor_factory", None)
    params.pop("context", None)
    params.pop("prepare_threshold", None)
    with psycopg.connect(**params, autocommit=True) as other:
        assert other.execute("SELECT pg_terminate_backend(%s)", [backend_pid]).fetchone()[0]


@pytest.fixture
def cut_after_tagging(monkeypatch):
    """While a contact is being created: once its row and its tags are written (in the
    write's transaction), its connection is terminated; the next statement fails."""
    tag_it = contact_services.tags_link
    cuts = []

    def then_cut(contact, names):
        linked = tag_it(contact, names)
        cuts.append(connection.connection.info.backend_pid)
        terminate(cuts[-1])
        return linked

    monkeypatch.setattr(contact_services, "tags_link", then_cut)
    return cuts


def assert_nothing_written(workspace) -> None:
    assert not Contact.objects.filter(workspace=workspace).exists()
    assert not Tag.objects.filter(workspace=workspace).exists()


def test_a_page_whose_connection_is_lost_mid_write_says_so_and_writes_nothing(
    client_in, workspace, cut_after_tagging
):
    client_in.raise_request_exception = False
    response = client_in.post(
        "/contacts/new/", {"email": "half@x.io", "score": "0", "tags": "vip, lead"}
    )
    assert cut_after_tagging, "the write did not reach the cut"
    assert response.status_code == 503
    assert response["Retry-After"]
    page = response.content.decode()
    assert "Kith could not reach its database" in page and "nothing was saved" in page
    assert_nothing_written(workspace)


def test_the_next_request_works_again(client_in, workspace, cut_after_tagging, monkeypatch):
    client_in.raise_request_exception = False
    first = client_in.post("/contacts/new/", {"email": "a@x.io", "score": "0", "tags": "vip"})
    assert first.status_code == 503
    monkeypatch.undo()  # the database is back: no more cuts
    second = client_in.post("/contacts/new/", {"email": "a@x.io", "score": "0", "tags": "vip"})
    assert second.status_code == 302, second.content[:500]
    contact = Contact.objects.get(workspace=workspace)
    assert [t.name for t in contact.tags.all()] == ["vip"]


def test_an_api_call_whose_connection_is_lost_mid_write_is_a_json_503(workspace, cut_after_tagging):
    api = ApiClient(api_key_create(workspace=workspace, name="CRM")[1])
    api.client.raise_request_exception = False
    response = api.post("/contacts", {"email": "half@x.io", "tags": ["vip", "lead"]})
    assert cut_after_tagging
    assert response.status_code == 503, response.content
    assert error_code(response) == "database_unavailable"
    assert response.json()["error"]["message"] == DATABASE_AWAY
    assert_nothing_written(workspace)


def test_a_connection_lost_before_the_request_is_a_503_too(client_in, workspace):
    """Lost between two requests (a restart): the session lookup, in a middleware,
    is the first to fail; the page is the same 503, not the generic 500."""
    client_in.raise_request_exception = False
    client_in.get("/contacts/")  # a connection, with its session loaded once
    connection.ensure_connection()
    terminate(connection.connection.info.backend_pid)
    response = client_in.get("/contacts/")
    assert response.status_code == 503
    assert DATABASE_AWAY in response.content.decode()
    # A server closes a connection that failed at the end of its request (Django's
    # close_old_connections); the test client leaves that to the test.
    close_old_connections()
    assert client_in.get("/contacts/").status_code == 200  # and then it is back


def test_other_errors_are_still_the_generic_500(client_in, monkeypatch):
    from contacts.views import contact as contact_views

    def broken(*args, **kwargs):
        raise RuntimeError("a bug")

    monkeypatch.setattr(contact_views.selectors, "attribute_list", broken)
    client_in.raise_request_exception = False
    response = client_in.get("/contacts/new/")
    assert response.status_code == 500
    assert "Something went wrong" in response.content.decode()
    assert "database" not in response.content.decode()


# ---------------------------------------------------------------- a job's connection


def three_steps(context):
    """Three saved steps; on its first attempt the connection is cut after the first."""
    for step in range(context.job.done, 3):
        if step == 1 and context.job.attempts == 1:
            terminate(connection.connection.info.backend_pid)
        with transaction.atomic():
            context.advance(done=step + 1, total=3)


registry.register(registry.JobKind("test_three_steps", "Three steps", three_steps))


def test_a_job_that_loses_its_connection_is_resumed_not_failed():
    """A database restart under a running job is not the job's failure: it stays
    running, its lease runs out, the sweep sends it again and it resumes."""
    with pytest.raises(OperationalError):  # tasks run inline in tests: the task fails
        job_start(workspace=WorkspaceFactory(), kind="test_three_steps", title="Steps")
    job = Job.objects.get(kind="test_three_steps")
    assert (job.status, job.done, job.attempts) == (Job.Status.RUNNING, 1, 1)
    assert job not in stalled_jobs()  # its lease still holds

    Job.objects.filter(pk=job.pk).update(
        lease_expires_at=timezone.now() - timedelta(seconds=1), dispatched_at=None
    )
    assert job in stalled_jobs()  # what the sweep sends again
    assert runner.run(job.pk) == Job.Status.DONE
    job.refresh_from_db()
    assert (job.status, job.done, job.total, job.attempts) == (Job.Status.DONE, 3, 3, 2)


@pytest.mark.parametrize(
    ("cause", "lost"),
    [
        (psycopg.errors.AdminShutdown("terminating connection"), True),
        (psycopg.OperationalError("server closed the connection unexpectedly"), True),
        (psycopg.errors.DeadlockDetected("deadlock detected"), False),
        (psycopg.errors.QueryCanceled("canceling statement due to statement timeout"), False),
    ],
)
def test_only_a_lost_connection_is_the_database_away(cause, lost):
    """A deadlock or a statement timeout is an OperationalError too, with a working
    connection: a bug to see (500), not 'could not reach its database'."""
    error = OperationalError(str(cause))
    error.__cause__ = cause
    assert database_lost(error) is lost
