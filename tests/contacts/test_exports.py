"""Exports (contacts/exports.py and its pages): the file read back, CSV and XLSX, every
row and cell; formula safety; fields, tags, custom attributes, date ranges; the sets
(a segment, checked contacts, a list's filters); progress, notification, cancel and a
resumed attempt; the pages, their access and their fixed number of queries. On
PostgreSQL the CSV is written by COPY: one test holds it to the Python writer's bytes,
one exports a segment of 50,000 contacts."""

import csv
import io
import time
from datetime import UTC, datetime, timedelta

import pytest
from django.core.files.storage import default_storage
from django.db import connection
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from openpyxl import load_workbook

from contacts import exports
from contacts.models import Contact, ContactTag, CustomAttribute, Tag
from contacts.sets import ContactSet
from jobs import runner, sweep
from jobs.models import Job
from segments import services as segment_services
from tests.factories import ContactFactory, MembershipFactory, UserFactory
from workspaces.errors import KithError
from workspaces.models import Notification, Role

pytestmark = pytest.mark.django_db

FIELDS = [
    "email",
    "first_name",
    "phone",
    "company",
    "city",
    "score",
    "created_at",
    "attributes.plan",
    "attributes.seats",
    "attributes.trial",
    "attributes.note",
    "tags",
]
MOMENT = datetime(2026, 3, 14, 9, 26, 53, 589793, tzinfo=UTC)


@pytest.fixture(autouse=True)
def media(request, settings, tmp_path):
    if request.node.get_closest_marker("services"):
        return None  # a real worker writes where its settings say
    settings.MEDIA_ROOT = tmp_path
    return tmp_path


@pytest.fixture
def people(workspace, other_workspace):
    """Ann, Bob and Carl, with every kind of value a spreadsheet could run or
    misread; one contact of another workspace."""
    for key, kind in [
        ("plan", "text"),
        ("seats", "number"),
        ("trial", "boolean"),
        ("note", "text"),
    ]:
        CustomAttribute.objects.create(workspace=workspace, key=key, type=kind)
    ann = ContactFactory(
        workspace=workspace,
        email="ann@acme.test",
        first_name="Ann",
        phone="+33 6 12 34 56 78",
        company="=1+2",
        city="Paris",
        score=-5,
        attributes={"plan": "pro", "seats": -5, "trial": True, "note": "@SUM(A1:A9)"},
    )
    bob = ContactFactory(
        workspace=workspace,
        email="bob@acme.test",
        first_name="-bob",
        phone="",
        company="\tTabbed",
        city="\rReturn",
        score=0,
        attributes={"plan": "-free", "seats": 2.5, "trial": False},
    )
    carl = ContactFactory(
        workspace=workspace,
        email=None,
        first_name='Çarl, "the" one',
        phone="0612",
        company="Line\nbreak",
        city="",
        score=12,
        attributes={},
    )
    Contact.objects.filter(pk__in=[ann.pk, bob.pk, carl.pk]).update(created_at=MOMENT)
    vip = Tag.objects.create(workspace=workspace, name="vip")
    beta = Tag.objects.create(workspace=workspace, name="Beta")
    formula = Tag.objects.create(workspace=workspace, name="=HYPERLINK(1)")
    for contact, tags in [(ann, [vip, beta]), (carl, [formula])]:
        for tag in tags:
            ContactTag.objects.create(contact=contact, tag=tag)
    ContactFactory(workspace=other_workspace, email="eve@globex.test")
    return ann, bob, carl


# What each format holds for them: CSV as text, XLSX as typed cells.
CSV_ROWS = [
    FIELDS,
    [
        "ann@acme.test",
        "Ann",
        "'+33 6 12 34 56 78",
        "'=1+2",
        "Paris",
        "-5",
        "2026-03-14 09:26:53",
        "pro",
        "-5",
        "true",
        "'@SUM(A1:A9)",
        "Beta, vip",
    ],
    ["bob@acme.test", "'-bob", "", "'\tTabbed", "'\rReturn", "0", "2026-03-14 09:26:53"]
    + ["'-free", "2.5", "false", "", ""],
    ["", 'Çarl, "the" one', "0612", "Line\nbreak", "", "12", "2026-03-14 09:26:53"]
    + ["", "", "", "", "'=HYPERLINK(1)"],
]
XLSX_ROWS = [
    tuple(FIELDS),
    (
        "ann@acme.test",
        "Ann",
        "'+33 6 12 34 56 78",
        "'=1+2",
        "Paris",
        -5,
        datetime(2026, 3, 14, 9, 26, 53),
        "pro",
        -5,
        True,
        "'@SUM(A1:A9)",
        "Beta, vip",
    ),
    # XML reads a carriage return back as a line feed: the apostrophe is what counts.
    ("bob@acme.test", "'-bob", None, "'\tTabbed", "'\nReturn", 0)
    + (datetime(2026, 3, 14, 9, 26, 53), "'-free", 2.5, False, None, None),
    (None, 'Çarl, "the" one', "0612", "Line\nbreak", None, 12)
    + (datetime(2026, 3, 14, 9, 26, 53), None, None, None, None, "'=HYPERLINK(1)"),
]


@pytest.fixture
def percents(monkeypatch) -> list[int]:
    """The job's progress each time it is saved."""
    seen = []
    advance = runner.JobContext.advance

    def recording(context, **kwargs):
        advance(context, **kwargs)
        seen.append(context.job.percent)

    monkeypatch.setattr(runner.JobContext, "advance", recording)
    return seen


def one_a_chunk(monkeypatch, size: int = 1) -> None:
    monkeypatch.setattr(exports, "CHUNK_SIZE", size)
    monkeypatch.setattr(exports, "COPY_CHUNK_SIZE", size)


def export(workspace, user, contact_set=None, **kwargs) -> Job:
    """Start an export and run its job here, as a worker would."""
    kwargs.setdefault("format", "csv")
    kwargs.setdefault("fields", FIELDS)
    job = exports.export_start(
        workspace=workspace,
        user=user,
        contact_set=contact_set or ContactSet.matching(workspace, ""),
        **kwargs,
    )
    assert runner.run(job.pk) == Job.Status.DONE, Job.objects.get(pk=job.pk).message
    job.refresh_from_db()
    return job


def read_bytes(job: Job) -> bytes:
    with default_storage.open(job.result_file, "rb") as handle:
        return handle.read()


def read_csv(job: Job) -> list[list[str]]:
    return list(csv.reader(io.StringIO(read_bytes(job).decode("utf-8"), newline="")))


def read_xlsx(job: Job):
    book = load_workbook(io.BytesIO(read_bytes(job)))
    return book, book.worksheets[0]


# ---------------------------------------------------------------- formula safety


@pytest.mark.parametrize(
    ("value", "written"),
    [
        ("=1+2", "'=1+2"),
        ("+33 6 12 34 56 78", "'+33 6 12 34 56 78"),
        ("-5", "'-5"),  # text that looks like a number is still text
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tcmd", "'\tcmd"),
        ("\rcmd", "'\rcmd"),
        ("Ann", "Ann"),
        ("a=b", "a=b"),
        ("", ""),
        (-5, -5),  # a genuine number stays a number
        (2.5, 2.5),
        (True, True),
        (None, None),
    ],
)
def test_formula_safe(value, written):
    assert exports.formula_safe(value) == written


# ---------------------------------------------------------------- the files


def test_csv_holds_every_row_and_cell_formula_safe(workspace, user, people):
    job = export(workspace, user, name="My contacts")
    assert job.status == Job.Status.DONE and job.kind == "export"
    assert (job.done, job.total, job.percent) == (3, 3, 100)
    assert job.result_file.endswith("/My_contacts.csv")
    assert read_csv(job) == CSV_ROWS
    text = read_bytes(job).decode()
    assert text.startswith("email,first_name,phone,")  # no BOM, the names themselves
    # A genuine number is written bare; text is never left to run.
    assert ",Paris,-5,2026-03-14 09:26:53,pro,-5,true," in text
    assert "=1+2" not in text.replace("'=1+2", "")


def test_xlsx_holds_the_same_on_its_first_sheet_with_numbers_as_numbers(workspace, user, people):
    job = export(workspace, user, format="xlsx", name="book")
    assert job.result_file.endswith("/book.xlsx") and job.done == 3
    book, sheet = read_xlsx(job)
    assert book.sheetnames[0] == sheet.title
    assert list(sheet.iter_rows(values_only=True)) == XLSX_ROWS
    cells = {cell.value: cell for row in sheet.iter_rows() for cell in row}
    assert cells["'=1+2"].data_type == "s"  # text, never a formula
    assert not any(cell.data_type == "f" for row in sheet.iter_rows() for cell in row)
    ann = list(sheet.iter_rows(min_row=2, max_row=2))[0]
    assert [ann[5].data_type, ann[8].data_type, ann[9].data_type] == ["n", "n", "b"]
    assert ann[6].is_date


def test_every_field_by_default_built_in_then_attributes_then_tags(workspace, user, people):
    job = export(workspace, user, fields=None)
    header = read_csv(job)[0]
    assert header == [
        *exports.BUILTIN_FIELDS,
        "attributes.note",
        "attributes.plan",
        "attributes.seats",
        "attributes.trial",
        "tags",
    ]
    assert header[:3] == ["email", "phone", "first_name"]


def test_only_the_chosen_fields_in_the_order_given(workspace, user, people):
    job = export(workspace, user, fields=["tags", "ATTRIBUTES.PLAN", "email", "email"])
    assert read_csv(job) == [
        ["tags", "attributes.plan", "email"],
        ["Beta, vip", "pro", "ann@acme.test"],
        ["", "'-free", "bob@acme.test"],
        ["'=HYPERLINK(1)", "", ""],
    ]


def test_date_ranges_include_both_days(workspace, user, people):
    ann, bob, carl = people
    Contact.objects.filter(pk=ann.pk).update(created_at=datetime(2026, 1, 31, 23, 59, tzinfo=UTC))
    Contact.objects.filter(pk=bob.pk).update(created_at=datetime(2026, 2, 1, tzinfo=UTC))
    Contact.objects.filter(pk=carl.pk).update(
        created_at=datetime(2026, 2, 28, 23, 59, tzinfo=UTC),
        updated_at=datetime(2026, 5, 1, 12, tzinfo=UTC),
    )
    Contact.objects.exclude(pk=carl.pk).update(updated_at=datetime(2026, 4, 1, tzinfo=UTC))
    emails = lambda job: [row[0] for row in read_csv(job)[1:]]  # noqa: E731

    february = export(workspace, user, fields=["email"], created_from="2026-02-01",
                      created_to=datetime(2026, 2, 28).date())  # fmt: skip
    assert emails(february) == ["bob@acme.test", ""]
    assert "created from Feb 1, 2026 to Feb 28, 2026" in february.title
    since = export(workspace, user, fields=["email"], created_from="2026-02-01",
                   updated_from="2026-04-02")  # fmt: skip
    assert emails(since) == [""]
    until = export(workspace, user, fields=["email"], updated_to="2026-04-01")
    assert emails(until) == ["ann@acme.test", "bob@acme.test"]
    assert until.params["described"] == "all contacts, updated up to Apr 1, 2026"


def test_a_segments_members_only(workspace, user, people):
    ann, bob, carl = people
    segment = segment_services.segment_create(workspace=workspace, name="VIP", kind="manual")
    segment_services.segment_members_add(segment=segment, lookup="id", values=[ann.pk, carl.pk])
    members = ContactSet.matching(workspace, f"segment={segment.pk}")
    job = export(workspace, user, members, fields=["email", "first_name"], name="vip")
    assert read_csv(job) == [
        ["email", "first_name"],
        ["ann@acme.test", "Ann"],
        ["", 'Çarl, "the" one'],
    ]
    assert job.title == "Export vip.csv: all contacts that match segment VIP"


def test_checked_contacts_and_a_lists_filters(workspace, user, people):
    ann, bob, carl = people
    checked = ContactSet.checked(workspace, [bob.pk, carl.pk, 10**9])
    job = export(workspace, user, checked, fields=["email"])
    assert [r[0] for r in read_csv(job)] == ["email", "bob@acme.test", ""]
    assert job.total == 2 and job.title.endswith(": 2 checked contacts")
    paris = export(workspace, user, ContactSet.matching(workspace, "city=paris"), fields=["email"])
    assert read_csv(paris) == [["email"], ["ann@acme.test"]]


def test_nothing_to_export_is_a_file_with_its_header(workspace, user):
    job = export(workspace, user, fields=["email", "tags"])
    assert read_csv(job) == [["email", "tags"]] and job.done == 0 and job.percent == 100
    assert job.message == "Exported 0 contacts to " + job.params["name"] + "."


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"format": "pdf"}, "format"),
        ({"fields": ["email", "shoe_size"]}, "fields"),
        ({"fields": []}, "fields"),
        ({"created_from": "2026-02-02", "created_to": "2026-02-01"}, "created_to"),
        ({"updated_from": "yesterday"}, "updated_from"),
        ({"created_from": "2026-02-02", "created_to": "2026-02-01T23:00:00Z"}, "created_to"),
    ],
)
def test_bad_input_is_refused_naming_its_field(workspace, user, kwargs, field):
    with pytest.raises(KithError) as refused:
        exports.export_start(
            workspace=workspace,
            user=user,
            contact_set=ContactSet.matching(workspace, ""),
            **{"format": "csv", **kwargs},
        )
    assert refused.value.field == field
    assert not Job.objects.exists()


def test_the_last_day_there_is_ends_no_range(workspace, user, people):
    job = export(workspace, user, fields=["email"], created_to="9999-12-31")
    assert job.done == 3 and job.params["dates"] == {}


def test_file_names_are_safe(workspace):
    assert exports.file_name("../../etc/passwd", "csv", "x") == "etc_passwd.csv"
    assert exports.file_name("VIP (June).CSV", "csv", "x") == "VIP_June.csv"
    assert exports.file_name("  ", "xlsx", "contacts-2026") == "contacts-2026.xlsx"
    assert exports.file_name("a" * 300, "csv", "x") == "a" * 100 + ".csv"


# ---------------------------------------------------------------- the job


def test_progress_and_the_notification_with_the_file(
    workspace, user, people, monkeypatch, percents
):
    one_a_chunk(monkeypatch)
    job = export(workspace, user, name="people")
    assert percents == [0, 33, 66, 100]
    note = Notification.objects.get(user=user)
    assert note.title == f"Done: {job.title}" and note.level == "success"
    assert note.body == "Exported 3 contacts to people.csv." and note.url == "/exports/"
    page = Client()
    page.force_login(user)
    assert page.get(reverse("jobs:download", args=[job.pk])).status_code == 200


def test_a_cancelled_export_keeps_no_file(workspace, user, people, monkeypatch, media):
    one_a_chunk(monkeypatch)
    job = exports.export_start(
        workspace=workspace, user=user, contact_set=ContactSet.matching(workspace, ""),
        format="csv",
    )  # fmt: skip
    advance = runner.JobContext.advance

    def cancel_after_one(context, **kwargs):
        advance(context, **kwargs)
        if context.job.done == 1:
            Job.objects.filter(pk=job.pk).update(cancel_requested_at=job.created_at)

    monkeypatch.setattr(runner.JobContext, "advance", cancel_after_one)
    assert runner.run(job.pk) == Job.Status.CANCELLED
    job.refresh_from_db()
    assert job.result_file == "" and job.done == 1
    assert [p for p in media.rglob("*") if p.is_file()] == []


def test_a_job_taken_over_writes_its_file_again_whole(workspace, user, people, media):
    """A worker died half way (its attempt's file left behind, a checkpoint saved):
    the next attempt starts the file again and ends with every row."""
    job = exports.export_start(
        workspace=workspace, user=user, contact_set=ContactSet.matching(workspace, ""),
        format="csv", fields=FIELDS,
    )  # fmt: skip
    final = media / exports.storage_name(job)
    final.parent.mkdir(parents=True)
    leftover = final.with_name(f".{final.name}.attempt-1")
    leftover.write_text("email\nhalf")
    Job.objects.filter(pk=job.pk).update(
        status=Job.Status.RUNNING, attempts=1, done=2, total=3, checkpoint={"attempt": 1}
    )
    assert runner.run(job.pk) == Job.Status.DONE
    job.refresh_from_db()
    assert job.attempts == 2 and (job.done, job.total) == (3, 3)
    assert read_csv(job) == CSV_ROWS
    assert [p.name for p in final.parent.iterdir()] == [final.name]  # no attempt's file left


def test_an_xlsx_too_big_for_a_sheet_fails_saying_why(workspace, user, people, monkeypatch):
    monkeypatch.setattr(exports, "XLSX_MAX_ROWS", 2)
    job = exports.export_start(
        workspace=workspace, user=user, contact_set=ContactSet.matching(workspace, ""),
        format="xlsx",
    )  # fmt: skip
    assert runner.run(job.pk) == Job.Status.FAILED
    job.refresh_from_db()
    assert "An XLSX sheet holds at most 2 contacts" in job.message and not job.result_file


# ---------------------------------------------------------------- pages

NEW = reverse("contacts:export_new")
LIST = reverse("contacts:exports")


def test_the_form_from_a_segments_page(client_in, workspace, user, people):
    ann = people[0]
    segment = segment_services.segment_create(workspace=workspace, name="VIP", kind="manual")
    segment_services.segment_members_add(segment=segment, lookup="id", values=[ann.pk])
    page = client_in.get(reverse("segments:detail", args=[segment.pk])).content.decode()
    assert f'href="{NEW}?segment={segment.pk}"' in page
    response = client_in.get(NEW, {"segment": segment.pk})
    html = response.content.decode()
    assert response.status_code == 200
    assert "All contacts that match segment VIP: 1 contact" in html
    for group in ("Built-in fields", "Custom attributes", "Tags"):
        assert f'data-field-group="{group}"' in html
    assert 'value="attributes.plan"' in html and 'name="query"' in html

    data = {
        "all_matching": "1",
        "query": f"segment={segment.pk}",
        "columns": ["email", "attributes.plan", "tags"],
        "format": "xlsx",
        "created_from": "",
        "name": "vip list",
    }
    response = client_in.post(NEW, data)
    job = Job.objects.get()
    assert response.status_code == 302 and response["Location"] == job.get_absolute_url()
    assert job.params["fields"] == ["email", "attributes.plan", "tags"]
    assert job.params["format"] == "xlsx" and job.params["name"] == "vip_list.xlsx"
    assert job.created_by == user


def test_the_form_shows_errors_beside_their_fields(client_in, workspace, people):
    data = {"all_matching": "1", "query": "", "format": "csv", "created_from": "2026-02-02",
            "created_to": "2026-02-01", "columns": ["email"]}  # fmt: skip
    response = client_in.post(NEW, data)
    assert response.status_code == 400
    assert response.context["form"].errors == {"created_to": ["The end comes before the start."]}
    response = client_in.post(NEW, {**data, "created_to": "", "columns": []})
    assert response.context["form"].errors == {"columns": ["Choose at least one field to export."]}
    assert not Job.objects.exists()


def test_the_bulk_bar_sends_the_checked_contacts_to_the_form(client_in, workspace, people):
    ann, bob, _ = people
    listing = client_in.get(reverse("contacts:list")).content.decode()
    assert f'formaction="{reverse("contacts:export_selection")}"' in listing
    selection = reverse("contacts:export_selection")
    response = client_in.post(selection, {"ids": [ann.pk, bob.pk], "query": "city=paris"},
                              HTTP_HX_REQUEST="true")  # fmt: skip
    url = response["HX-Redirect"]
    assert url.startswith(f"{NEW}?selection=")
    html = client_in.get(url).content.decode()
    assert "2 checked contacts: 2 contacts." in html
    assert html.count('name="ids"') == 2
    response = client_in.post(selection, {"all_matching": "1", "query": "city=paris"})
    assert (
        "All contacts that match city paris: 1 contact."
        in client_in.get(response["Location"]).content.decode()
    )
    response = client_in.get(f"{NEW}?selection=forgotten", follow=True)
    assert response.redirect_chain[-1][0] == reverse("contacts:list")
    assert "That selection is gone" in response.content.decode()


def test_the_exports_page_lists_them_in_a_fixed_number_of_queries(
    client_in, workspace, user, people, django_assert_max_num_queries
):
    for n in range(3):
        export(workspace, user, fields=["email"], name=f"file {n}")
    with django_assert_max_num_queries(12) as few:
        client_in.get(LIST)
    for n in range(5):
        export(workspace, user, fields=["email"], name=f"more {n}")
    with django_assert_max_num_queries(len(few.captured_queries)):
        html = client_in.get(LIST).content.decode()
    job = Job.objects.filter(kind="export").first()
    assert "more_4.csv" in html and "All contacts" in html
    assert reverse("jobs:download", args=[job.pk]) in html
    assert 'href="/exports/"' in client_in.get(reverse("contacts:list")).content.decode()


def test_a_viewer_sees_and_downloads_exports_but_starts_none(client, workspace, user, people):
    job = export(workspace, user, fields=["email"])
    viewer = UserFactory()
    MembershipFactory(workspace=workspace, user=viewer, role=Role.VIEWER)
    client.force_login(viewer)
    assert client.get(LIST).status_code == 200
    assert client.get(reverse("jobs:download", args=[job.pk])).status_code == 200
    assert client.get(NEW).status_code == 403
    assert client.post(NEW, {"columns": ["email"], "format": "csv"}).status_code == 403
    assert Job.objects.count() == 1


def test_another_workspaces_segment_and_export_are_404(
    client, workspace, user, other_workspace, people
):
    job = export(workspace, user, fields=["email"])
    segment = segment_services.segment_create(workspace=workspace, name="Mine", kind="manual")
    mallory = UserFactory()
    MembershipFactory(workspace=other_workspace, user=mallory, role=Role.OWNER)
    client.force_login(mallory)
    assert client.get(reverse("jobs:download", args=[job.pk])).status_code == 404
    assert client.get(reverse("jobs:detail", args=[job.pk])).status_code == 404
    assert client.get(NEW, {"segment": segment.pk}).status_code == 404
    assert job.params["name"] not in client.get(LIST).content.decode()


def test_old_export_files_are_deleted_by_the_sweep_and_shown_expired(
    client_in, workspace, user, people, settings, media
):
    settings.EXPORT_RETENTION_DAYS = 7
    old, recent = export(workspace, user, name="old"), export(workspace, user, name="recent")
    Job.objects.filter(pk=old.pk).update(finished_at=timezone.now() - timedelta(days=7, hours=1))
    Job.objects.filter(pk=recent.pk).update(finished_at=timezone.now() - timedelta(days=6))
    old_path = media / old.result_file
    assert old_path.exists()

    sweep.sweep()

    old.refresh_from_db()
    recent.refresh_from_db()
    assert not old_path.exists() and not old_path.parent.exists()
    assert old.result_file == "" and old.params["expired"] is True
    assert old.message.startswith("Exported 3 contacts")  # the history stays
    assert read_csv(recent)[1:] and recent.result_file
    html = client_in.get(LIST).content.decode()
    row = html[html.index(f'data-job-id="{old.pk}"') :].split("</tr>")[0]
    assert ">expired<" in row and reverse("jobs:download", args=[old.pk]) not in row
    assert reverse("jobs:download", args=[recent.pk]) in html
    assert client_in.get(reverse("jobs:download", args=[old.pk])).status_code == 404

    settings.EXPORT_RETENTION_DAYS = 5  # a shorter setting takes the recent one too
    sweep.sweep()
    recent.refresh_from_db()
    assert recent.result_file == "" and recent.params["expired"] is True


# ---------------------------------------------------------------- PostgreSQL

postgres_only = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="the CSV is written by COPY on PostgreSQL only"
)


@postgres_only
def test_copy_writes_the_same_bytes_as_the_python_writer(workspace, user, people, monkeypatch):
    by_copy = read_bytes(export(workspace, user, fields=None))
    monkeypatch.setattr(exports, "USE_COPY", False)
    by_python = read_bytes(export(workspace, user, fields=None))
    assert by_copy == by_python
    assert b"'=HYPERLINK(1)" in by_copy
    # One column whose cell is empty (Carl's email) is "", not a blank line.
    by_python = read_bytes(export(workspace, user, fields=["email"]))
    monkeypatch.setattr(exports, "USE_COPY", True)
    by_copy = read_bytes(export(workspace, user, fields=["email"]))
    assert by_copy == by_python == b'email\nann@acme.test\nbob@acme.test\n""\n'


@postgres_only
def test_a_segment_of_50000_contacts(workspace, user, percents, monkeypatch):
    one_a_chunk(monkeypatch, 10_000)
    people = [
        Contact(workspace=workspace, email=f"p{i}@acme.test", first_name=f"P{i}", score=i % 7)
        for i in range(60_000)
    ]
    Contact.objects.bulk_create(people, batch_size=5000)
    ids = list(
        Contact.objects.filter(workspace=workspace).order_by("pk").values_list("pk", flat=True)
    )
    segment = segment_services.segment_create(workspace=workspace, name="Big", kind="manual")
    for start in range(5_000, 55_000, 10_000):  # the service takes 10,000 at a time
        chunk = ids[start : start + 10_000]
        segment_services.segment_members_add(segment=segment, lookup="id", values=chunk)
    members = ContactSet.matching(workspace, f"segment={segment.pk}")
    job = export(workspace, user, members, fields=["email", "first_name", "score"])
    rows = read_csv(job)
    assert len(rows) == 50_001 and job.done == job.total == 50_000
    assert rows[1] == ["p5000@acme.test", "P5000", str(5000 % 7)]
    assert rows[-1] == ["p54999@acme.test", "P54999", str(54999 % 7)]
    assert [r[0] for r in rows[1:]] == [f"p{i}@acme.test" for i in range(5_000, 55_000)]
    assert percents == [0, 20, 40, 60, 80, 100]
    assert Notification.objects.get(user=user).body == "Exported 50,000 contacts to " + (
        job.params["name"] + "."
    )


@pytest.mark.services
def test_a_real_worker_writes_the_file_and_tells_its_author(
    celery_worker_process, workspace, user, people
):
    job = exports.export_start(
        workspace=workspace, user=user, contact_set=ContactSet.matching(workspace, ""),
        format="csv", fields=FIELDS, name="by the worker",
    )  # fmt: skip
    deadline = time.monotonic() + 60
    while Job.objects.get(pk=job.pk).is_open and time.monotonic() < deadline:
        time.sleep(0.2)
    job.refresh_from_db()
    assert job.status == Job.Status.DONE, celery_worker_process.log()[-2000:]
    assert read_csv(job) == CSV_ROWS and job.percent == 100
    assert Notification.objects.get(user=user).body == "Exported 3 contacts to by_the_worker.csv."
    default_storage.delete(job.result_file)
