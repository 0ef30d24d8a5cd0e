"""What the import loop changes in the worker process to go faster (the cycle
collector's pace, the interpreter's switch interval, a reader thread) is its own for
the length of the loop: the worker finds its settings back and no thread left, after
an import that finished and after one that was cancelled."""

import gc
import sys
import threading

import pytest

from contacts.models import Contact
from imports import engine
from jobs.models import Job
from tests.imports.helpers import make, run, run_cancelled_after_first_chunk

pytestmark = pytest.mark.django_db

ROWS = b"email,first name\n" + b"".join(f"p{i}@x.co,P{i}\n".encode() for i in range(12))


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    settings.IMPORT_CHUNK_ROWS = 5


def worker_state() -> tuple:
    readers = [t for t in threading.enumerate() if t.name == "import-reader"]
    return sys.getswitchinterval(), gc.get_threshold(), gc.get_freeze_count(), readers


def test_a_finished_import_leaves_the_worker_as_it_found_it(workspace, user):
    before = worker_state()
    imp = make(workspace, user, ROWS)
    run(imp, user)
    assert imp.counts["create"] == 12
    assert Contact.objects.filter(workspace=workspace).count() == 12
    assert worker_state() == before


def test_a_cancelled_import_leaves_the_worker_as_it_found_it(workspace, user, monkeypatch):
    before = worker_state()
    imp = make(workspace, user, ROWS)
    assert run_cancelled_after_first_chunk(imp, user, monkeypatch) == Job.Status.CANCELLED
    assert worker_state() == before


def test_the_reader_checks_rows_only_while_the_import_waits():
    """The reader thread's turn comes while the import's thread waits (on the
    database, or for the next chunk), not while it runs Python itself."""
    turns = engine._Turns()
    checked = []

    def rows():
        for number in range(3):
            turns.wait()
            checked.append(number)
            yield number

    chunks = engine._ahead(rows(), depth=1, turns=turns)
    try:
        assert next(chunks) == 0  # waiting for the first chunk is the reader's turn
        # Python of the import's own: the reader waits for its turn (the row it was
        # on when the first one was handed over may be done, not the next one).
        threading.Event().wait(0.3)
        assert checked in ([0], [0, 1])
        with turns.away():  # a statement: the reader's turn
            threading.Event().wait(0.3)
        assert checked == [0, 1, 2]
        assert list(chunks) == [1, 2]
    finally:
        chunks.close()
