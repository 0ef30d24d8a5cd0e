"""The import engine on real-world messy files: exact counts, what is stored, and the
error file's rows and reasons (commands.md, "Imports")."""

from datetime import datetime

import pytest
from django.db.models.functions import Lower
from django.utils import timezone

from contacts.models import Contact, CustomAttribute
from imports import engine, services
from imports.reading import FileRefused
from jobs import runner
from jobs.models import Job
from segments import pending
from segments.models import Segment, SegmentMember
from tests.factories import ContactFactory, SegmentFactory
from tests.imports.helpers import (
    error_rows,
    make,
    review,
    run,
    run_cancelled_after_first_chunk,
    upload,
    with_doctype,
    xlsx,
)

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


def counts(imp) -> dict:
    return {k: v for k, v in imp.counts.items() if v}


MESSY = (
    "\ufeffEmail,First Name,Last Name,Score,Signed up,Tags\r\n"
    'ann@example.com,Ann,Lee,10,2024-05-01,"vip, fair"\r\n'
    "\r\n"
    '"bob@example.com","Bob ""The Builder""","Smith, Jr.",5,2024-06-01,new\r\n'
    "ANN@Example.com,Annie,,12,,fair;press\r\n"
    "not-an-email,Carl,Doe,3,2024-01-01,\r\n"
    'dan@example.com,Dan,"Multi\r\nLine",lots,2024-01-01,\r\n'
    "eve@example.com,Eve,Stone,7,31/12/2024,\r\n"
    ",,,,,\r\n"
    "fay@example.com,Fay,,,,\r\n"
).encode()
MESSY_MAPPING = [
    {"target": "email"},
    {"target": "first_name"},
    {"target": "last_name"},
    {"target": "score"},
    {"target": "attributes.signed_up", "new_type": "date"},
    {"target": "tags"},
]


def test_a_messy_csv_is_imported_with_exact_counts_and_an_error_file(workspace, user):
    imp = make(workspace, user, MESSY, mapping=MESSY_MAPPING)
    job = run(imp, user)

    assert job.status == Job.Status.DONE
    assert imp.status == "done" and imp.step == "result"
    # 7 rows: the header, the blank line and the line of empty cells are not rows.
    assert counts(imp) == {"rows": 7, "create": 3, "update": 1, "reject": 3}
    assert job.message == "7 rows: 3 created, 1 updated, 0 unchanged, 3 rejected."
    assert Contact.objects.filter(workspace=workspace).count() == 3
    ann = Contact.objects.get(email__iexact="ann@example.com")
    # The repeated email (another case) updated the contact the first row made; its
    # empty cells erased nothing. The email is spelled as the later row spells it.
    assert (ann.email, ann.first_name, ann.last_name, ann.score) == (
        "ANN@Example.com",
        "Annie",
        "Lee",
        12,
    )
    assert ann.attributes == {"signed_up": "2024-05-01"}
    assert sorted(ann.tags.values_list("name", flat=True)) == ["fair", "press", "vip"]
    bob = Contact.objects.get(email="bob@example.com")
    assert (bob.first_name, bob.last_name) == ('Bob "The Builder"', "Smith, Jr.")
    assert CustomAttribute.objects.get(workspace=workspace, key="signed_up").type == "date"

    rows = error_rows(job)
    assert [r["row"] for r in rows] == ["6", "7", "9"]
    assert [r["Email"] for r in rows] == ["not-an-email", "dan@example.com", "eve@example.com"]
    assert rows[1]["Last Name"] == "Multi\r\nLine"  # the original cells, as they were
    assert list(rows[0]) == [*imp.columns, "row", "error"]
    assert "not a valid email" in rows[0]["error"]
    assert rows[1]["error"] == "Score: 'lots' is not a whole number."
    assert "signed_up" in rows[2]["error"] and "31/12/2024" in rows[2]["error"]


def test_the_review_foretells_the_run_and_writes_nothing(workspace, user):
    imp = make(workspace, user, MESSY, mapping=MESSY_MAPPING)
    imp = review(imp, user)

    assert imp.status == "reviewed" and imp.step == "run"
    assert {k: v for k, v in imp.review.items() if k != "rejected"} == {
        "rows": 7,
        "create": 3,
        "update": 1,
        "unchanged": 0,
        "reject": 3,
    }
    assert [r["row"] for r in imp.review["rejected"]] == [6, 7, 9]
    assert imp.review["rejected"][0]["values"][:2] == ["not-an-email", "Carl"]
    assert not Contact.objects.exists()
    assert not CustomAttribute.objects.filter(key="signed_up").exists()

    run(imp, user)
    assert imp.counts == {k: v for k, v in imp.review.items() if k != "rejected"}


def test_windows_1252_and_semicolons_are_detected(workspace, user):
    content = "email;first_name;city\r\nzoe@example.com;Zoë;Köln\r\n".encode("cp1252")
    imp = make(workspace, user, content)
    assert imp.detected["encoding"] == "cp1252" and imp.detected["delimiter"] == ";"
    run(imp, user)
    zoe = Contact.objects.get(email="zoe@example.com")
    assert (zoe.first_name, zoe.city) == ("Zoë", "Köln")


def test_the_encoding_and_delimiter_can_be_chosen(workspace, user):
    content = "email,first_name\r\nzoe@example.com,Zoë\r\n".encode("cp1252")
    imp = make(workspace, user, content, encoding="utf-8", delimiter=",")
    run(imp, user)  # read as UTF-8, as chosen: the byte that is not UTF-8 is replaced
    assert Contact.objects.get().first_name == "Zo\ufffd"


def test_tabs_in_utf16_as_excel_saves_unicode_text(workspace, user):
    content = "email\tfirst_name\tcompany\r\nx@example.com\tXiù\tA, B & C\r\n".encode("utf-16")
    imp = make(workspace, user, content, name="export.txt")
    assert imp.detected["encoding"] == "utf-16" and imp.detected["delimiter"] == "\t"
    run(imp, user)
    assert Contact.objects.values_list("first_name", "company").get() == ("Xiù", "A, B & C")


def test_pipes_with_quoted_delimiters(workspace, user):
    content = b'email|company|city\nq@example.com|"Acme | Co"|Paris\nr@example.com|Beta|"Lyon"\n'
    imp = make(workspace, user, content)
    assert imp.detected["delimiter"] == "|"
    run(imp, user)
    assert Contact.objects.get(email="q@example.com").company == "Acme | Co"
    assert counts(imp) == {"rows": 2, "create": 2}


def test_extra_and_missing_columns_and_empty_cells_that_erase_nothing(workspace, user):
    ContactFactory(workspace=workspace, email="a@x.co", first_name="A", last_name="Old")
    content = b"email,first_name,last_name\na@x.co,A\nb@x.co,B,Bee,EXTRA\nc@x.co,C,Cee,\n"
    imp = make(workspace, user, content)
    job = run(imp, user)

    assert counts(imp) == {"rows": 3, "create": 1, "unchanged": 1, "reject": 1}
    assert Contact.objects.get(email="a@x.co").last_name == "Old"
    assert Contact.objects.get(email="c@x.co").last_name == "Cee"
    (rejected,) = error_rows(job)
    assert (rejected["row"], rejected["email"], rejected["last_name"]) == ("3", "b@x.co", "Bee")
    assert "4 cells, 1 more than the 3 columns: 'EXTRA'" in rejected["error"]


def test_an_xlsx_sheet_is_chosen_among_several(workspace, user):
    book = xlsx(
        {
            "Notes": [["Nothing to import here"]],
            "People": [
                ["E-mail", "Score", "Joined", "VIP"],
                ["a@x.co", 3, datetime(2024, 5, 1), True],
                [None, None],
                ["b@x.co", "lots", datetime(2024, 5, 2), False],
                ["c@x.co", 4.0, "not a date", "yes"],
            ],
        }
    )
    imp = services.import_create(workspace=workspace, user=user, upload=upload(book, "people.xlsx"))
    assert imp.format == "xlsx" and imp.detected["sheets"] == ["Notes", "People"]
    assert imp.columns == ["Nothing to import here"]
    mapping = [
        {"target": "email"},
        {"target": "score"},
        {"target": "attributes.joined", "new_type": "date"},
        {"target": "attributes.vip", "new_type": "boolean"},
    ]
    imp = make(workspace, user, book, name="people.xlsx", sheet="People", mapping=mapping)
    assert imp.columns == ["E-mail", "Score", "Joined", "VIP"]
    job = run(imp, user)

    assert counts(imp) == {"rows": 3, "create": 1, "reject": 2}
    a = Contact.objects.get(email="a@x.co")
    assert (a.score, a.attributes) == (3, {"joined": "2024-05-01", "vip": True})
    rows = error_rows(job)
    assert [(r["row"], r["E-mail"]) for r in rows] == [("4", "b@x.co"), ("5", "c@x.co")]
    assert rows[0]["Score"] == "lots" and rows[0]["error"].startswith("Score:")
    assert "not a date" in rows[1]["error"]


def test_an_xlsx_declaring_a_dtd_is_refused_before_anything_is_saved(workspace, user):
    book = with_doctype(xlsx({"People": [["email"], ["a@x.co"]]}))
    with pytest.raises(FileRefused) as refused:
        services.import_create(workspace=workspace, user=user, upload=upload(book, "x.xlsx"))
    assert "DTD" in refused.value.message
    assert not workspace.imports.exists()


def test_a_file_over_the_row_limit_is_refused_before_any_row_is_written(workspace, user, settings):
    imp = make(workspace, user, b"email\na@x.co\nb@x.co\nc@x.co\n")
    settings.IMPORT_MAX_ROWS = 2
    job = run(imp, user)
    assert job.status == Job.Status.FAILED and imp.status == "failed"
    assert job.message.startswith("This file has more than 2 rows")
    assert not Contact.objects.exists()


def test_every_imported_contact_joins_the_chosen_segment(workspace, user):
    ContactFactory(workspace=workspace, email="old@x.co", first_name="Old")
    segment = SegmentFactory(workspace=workspace, name="Fair")
    content = b"email,first_name\nold@x.co,Old\nnew@x.co,New\nbad,Bad\n"
    imp = make(workspace, user, content, segment=segment)
    run(imp, user)
    assert counts(imp) == {"rows": 3, "create": 1, "unchanged": 1, "reject": 1}
    members = SegmentMember.objects.filter(segment=segment)
    assert sorted(members.values_list("contact__email", flat=True)) == ["new@x.co", "old@x.co"]
    assert set(members.values_list("source", flat=True)) == {"import"}


def test_add_to_segment_names_existing_people_and_rejects_the_others(workspace, user):
    a = ContactFactory(workspace=workspace, email="a@x.co")
    b = ContactFactory(workspace=workspace, email="b@x.co")
    segment = SegmentFactory(workspace=workspace, name="VIP")
    services_add = __import__("segments.services", fromlist=["x"]).segment_members_add
    services_add(segment=segment, lookup="email", values=["b@x.co"])
    content = b"Email,Name\na@x.co,A\nB@X.CO,B\nnobody@x.co,N\n\na@x.co,A\n"
    imp = make(workspace, user, content, mode="add_to_segment", segment=segment)

    imp = review(imp, user)
    assert imp.review["update"] == 1 and imp.review["reject"] == 1
    assert SegmentMember.objects.filter(segment=segment).count() == 1

    job = run(imp, user)
    assert counts(imp) == {"rows": 4, "update": 1, "unchanged": 2, "reject": 1}
    assert job.message == "4 rows: 1 added to the segment, 2 already in it, 1 rejected."
    assert set(SegmentMember.objects.filter(segment=segment).values_list("contact", flat=True)) == {
        a.pk,
        b.pk,
    }
    assert Contact.objects.count() == 2  # nobody is created
    (rejected,) = error_rows(job)
    assert (rejected["row"], rejected["error"]) == ("4", "No contact with email nobody@x.co.")


def test_add_to_segment_by_external_id(workspace, user):
    a = ContactFactory(workspace=workspace, email="a@x.co", external_id="CRM-1")
    segment = SegmentFactory(workspace=workspace)
    content = b"id\ncrm-1\nCRM-2\n"
    imp = make(
        workspace, user, content, mode="add_to_segment", segment=segment, lookup="external_id"
    )
    job = run(imp, user)
    assert counts(imp) == {"rows": 2, "update": 1, "reject": 1}
    assert list(SegmentMember.objects.values_list("contact", flat=True)) == [a.pk]
    assert error_rows(job)[0]["error"] == "No contact with external ID CRM-2."


def test_membership_follows_the_imported_data(workspace, user):
    french = Segment.objects.create(
        workspace=workspace,
        name="French",
        kind="filter",
        conditions={"all": [{"field": "country", "op": "eq", "value": "FR"}]},
    )
    ContactFactory(workspace=workspace, email="moved@x.co", country="FR")
    pending.work_through(workspace.pk)
    content = b"email,country\nmoved@x.co,DE\nnew@x.co,FR\nother@x.co,IT\n"
    run(make(workspace, user, content), user)
    pending.work_through(workspace.pk)
    members = SegmentMember.objects.filter(segment=french)
    assert list(members.values_list("contact__email", flat=True)) == ["new@x.co"]


# ---------------------------------------------------------------- interrupted runs


class Killed(BaseException):
    """What a SIGKILL looks like from inside: nothing below catches it."""


def expire_lease(job: Job) -> None:
    Job.objects.filter(pk=job.pk).update(lease_expires_at=timezone.now())


REPEATS = b"email,first_name,score\n" + b"".join(
    f"p{i % 7}@x.co,P{i},{'lots' if i % 5 == 0 else i}\n".encode() for i in range(23)
)


def uninterrupted(workspace, user, settings) -> dict:
    settings.IMPORT_CHUNK_ROWS = 4
    imp = make(workspace, user, REPEATS)
    job = run(imp, user)
    outcome = {
        "counts": imp.counts,
        "contacts": sorted(Contact.objects.values_list("email", "first_name", "score")),
        "errors": [(r["row"], r["error"]) for r in error_rows(job)],
    }
    Contact.objects.all().delete()
    return outcome


# 1000: every chunk of 4 rows; 1: chunks of 1, 2, then 4 rows (the first chunks
# grow), so the crash falls in a chunk of another size than the one before it.
@pytest.mark.parametrize("first_chunk", [1000, 1])
@pytest.mark.parametrize("crash_in", ["write", "save_rejected", "advance"])
def test_a_worker_killed_mid_chunk_is_resumed_with_nothing_lost_or_applied_twice(
    workspace, user, settings, monkeypatch, crash_in, first_chunk
):
    monkeypatch.setattr(engine, "FIRST_CHUNK_ROWS", first_chunk)
    expected = uninterrupted(workspace, user, settings)
    imp = make(workspace, user, REPEATS)
    job = services.import_run_start(imp=imp, user=user)

    calls = {"n": 0}
    targets = {
        "write": (engine._Work, "apply"),
        "save_rejected": (engine._Work, "save_rejected"),
        "advance": (runner.JobContext, "advance"),
    }
    owner, name = targets[crash_in]
    original = getattr(owner, name)

    def crashing(self, *args, **kwargs):
        result = original(self, *args, **kwargs)
        calls["n"] += 1
        if calls["n"] == 3:  # in the middle of the third chunk's transaction
            raise Killed()
        return result

    monkeypatch.setattr(owner, name, crashing)
    with pytest.raises(Killed):
        runner.run(job.pk)
    job.refresh_from_db()
    assert job.status == Job.Status.RUNNING and 0 < job.done < 23
    monkeypatch.setattr(owner, name, original)

    expire_lease(job)  # the lease runs out; the sweep sends it to another worker
    assert runner.run(job.pk) == Job.Status.DONE
    job.refresh_from_db()
    imp.refresh_from_db()
    assert imp.counts == expected["counts"]
    assert (
        sorted(Contact.objects.values_list("email", "first_name", "score")) == expected["contacts"]
    )
    assert [(r["row"], r["error"]) for r in error_rows(job)] == expected["errors"]
    emails = Contact.objects.annotate(key=Lower("email")).values_list("key", flat=True)
    assert len(emails) == len(set(emails)) == 7


def test_a_cancelled_import_keeps_what_it_applied_and_says_how_much(
    workspace, user, settings, monkeypatch
):
    settings.IMPORT_CHUNK_ROWS = 2
    imp = make(workspace, user, b"email\na@x.co\nb@x.co\nc@x.co\nd@x.co\ne@x.co\n")
    assert run_cancelled_after_first_chunk(imp, user, monkeypatch) == Job.Status.CANCELLED
    imp.refresh_from_db()
    job = imp.run_job
    assert imp.status == "cancelled"
    assert job.message.startswith("Cancelled after 2 of 5 rows. 2 rows: 2 created")
    assert sorted(Contact.objects.values_list("email", flat=True)) == ["a@x.co", "b@x.co"]
    assert imp.counts["rows"] == 2


def test_the_review_foretells_repeats_across_chunks(workspace, user, settings):
    settings.IMPORT_CHUNK_ROWS = 4
    content = b"email,first_name\n" + b"".join(
        f"p{i % 5}@x.co,{'Same' if i % 3 else f'N{i}'}\n".encode() for i in range(17)
    )
    imp = review(make(workspace, user, content), user)
    foretold = {k: v for k, v in imp.review.items() if k != "rejected"}
    run(imp, user)
    assert imp.counts == foretold
    assert foretold["create"] == 5 and foretold["unchanged"] > 0


def test_a_large_import_refreshes_the_affected_segments_whole(
    workspace, user, settings, monkeypatch
):
    """Past MEMBERSHIP_FULL_REFRESH_AFTER changed contacts, segments.pending refreshes
    the segments the import can affect whole instead of contact by contact."""
    french = Segment.objects.create(
        workspace=workspace,
        name="French",
        kind="filter",
        conditions={"all": [{"field": "country", "op": "eq", "value": "FR"}]},
    )
    pending.work_through(workspace.pk)
    settings.IMPORT_CHUNK_ROWS, settings.MEMBERSHIP_FULL_REFRESH_AFTER = 3, 5
    wholes = []
    original = pending._refresh_whole
    monkeypatch.setattr(
        pending,
        "_refresh_whole",
        lambda segment, *a: wholes.append(segment.pk) or original(segment, *a),
    )
    content = b"email,country\n" + b"".join(
        f"p{i}@x.co,{'FR' if i % 2 else 'DE'}\n".encode() for i in range(12)
    )
    run(make(workspace, user, content), user)
    pending.work_through(workspace.pk)
    assert wholes == [french.pk]
    members = SegmentMember.objects.filter(segment=french).values_list("contact__email", flat=True)
    assert sorted(members) == sorted(f"p{i}@x.co" for i in range(1, 12, 2))


@pytest.mark.skipif(
    __import__("django.db").db.connection.vendor != "postgresql", reason="PostgreSQL's planner"
)
def test_the_planner_learns_of_the_imported_contacts_as_they_double(
    workspace, user, settings, monkeypatch
):
    """A new workspace's contacts are found by key through a plan that believes the
    workspace holds what it held when last analyzed; the import refreshes the
    statistics as the contacts it created grow, never in the review."""
    from django.db import connection

    settings.IMPORT_CHUNK_ROWS = 4
    monkeypatch.setattr(engine, "ANALYZE_FIRST_AT", 4)
    monkeypatch.setattr(engine, "ANALYZE_GROWTH", 2)
    content = b"email\n" + b"".join(f"p{i}@x.co\n".encode() for i in range(20))

    def analyzes(step) -> int:
        seen = []  # (not CaptureQueriesContext: the import resets the query log per chunk)

        def spy(execute, sql, params, many, context):
            seen.append(sql)
            return execute(sql, params, many, context)

        with connection.execute_wrapper(spy):
            step()
        return sum(sql.startswith("ANALYZE contacts_contact") for sql in seen)

    imp = make(workspace, user, content)
    assert analyzes(lambda: review(imp, user)) == 0
    assert analyzes(lambda: run(imp, user)) == 3  # at 4, 8 and 16 created of 20
    assert imp.counts["create"] == 20
