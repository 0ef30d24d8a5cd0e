"""The imports pages (imports/views.py): the list, and each step of the wizard as a
member sees it. The jobs' outcomes are set on the rows here (the engine has its own
tests); what is checked is what the pages show and what they write."""

import io
import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from contacts.models import CustomAttribute
from imports import services
from imports.models import Import
from jobs.models import Job
from tests.factories import SegmentFactory, UserFactory
from workspaces.models import Role

pytestmark = pytest.mark.django_db
HTMX = {"HX-Request": "true"}
MESSY = (
    b"E-mail;First Name;Score;Plan\r\n"
    b"ann@example.com;Ann;12;gold\r\n"
    b"not-an-email;Bob;lots;silver\r\n"
)


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


def upload(content: bytes = MESSY, name="people.csv"):
    return SimpleUploadedFile(name, content, content_type="text/csv")


def make_import(workspace, user, content: bytes = MESSY, filename="people.csv", **kw) -> Import:
    file = upload(content, filename)
    return services.import_create(workspace=workspace, user=user, upload=file, **kw)


def field_errors(html: str, field: str) -> str:
    """The text of the errors drawn right under a field."""
    found = re.search(rf'id="id_{field}_errors">(.*?)</div>', html, re.S)
    return re.sub(r"<[^>]+>", " ", found.group(1)) if found else ""


def shown(client, imp) -> str:
    """The fingerprint of the columns the map page shows, posted back with its answers."""
    page = client.get(f"/imports/{imp.pk}/map/").content.decode()
    return re.search(r'name="columns_shown" value="(\w+)"', page).group(1)


def poll(client, path):
    """What the page's poll of its state gets."""
    return client.get(path, headers={**HTMX, "HX-Target": "import-state"})


def count(html: str, key: str) -> str:
    return re.search(rf'data-count="{key}">([\d,]+)<', html).group(1)


def finished(workspace, kind, **fields) -> Job:
    now = timezone.now()
    return Job.objects.create(
        workspace=workspace, kind=kind, title="Import", status=Job.Status.DONE,
        started_at=now - timezone.timedelta(seconds=75), finished_at=now, **fields,
    )  # fmt: skip


def reviewed(imp: Import, user) -> Import:
    """The import as the dry run leaves it: mapped, its review done."""
    imp = services.import_map(
        imp=imp, user=user, has_header=True, encoding="", delimiter="", sheet="",
        mapping=[{"target": "email"}, {"target": "first_name"}, {"target": "score"},
                 {"target": "ignore"}],
    )  # fmt: skip
    imp.review_job = finished(imp.workspace, services.REVIEW)
    imp.review = {
        "rows": 2, "create": 1, "update": 0, "unchanged": 0, "reject": 1,
        "rejected": [{"row": 3, "values": ["not-an-email", "Bob", "lots", "silver"],
                      "error": "email: Enter a valid email address."}],
    }  # fmt: skip
    imp.save()
    return imp


# ---------------------------------------------------------------- setup


def test_the_setup_page_preselects_the_segment_and_mode_of_an_entry_point(client_in, workspace):
    vip = SegmentFactory(workspace=workspace, name="VIP", kind="manual")
    SegmentFactory(workspace=workspace, name="Rule", kind="filter", filter=True)
    page = client_in.get(f"/imports/new/?segment={vip.pk}&mode=add_to_segment").content.decode()
    assert re.search(rf'<option value="{vip.pk}" selected>VIP</option>', page)
    assert re.search(r'value="add_to_segment"[^>]*checked', page)
    assert "Rule" not in page  # only manual segments take people by hand
    plain = client_in.get("/imports/new/").content.decode()
    assert re.search(r'value="upsert"[^>]*checked', plain)
    assert not re.search(rf'<option value="{vip.pk}" selected', plain)


def test_an_upload_goes_to_the_map_step_with_each_column_matched(client_in, workspace, user):
    CustomAttribute.objects.create(workspace=workspace, key="plan", type="text")
    response = client_in.post(
        "/imports/new/", {"file": upload(), "mode": "upsert", "name": "Spring leads"}
    )
    imp = Import.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/imports/{imp.pk}/map/"
    assert imp.name == "Spring leads" and imp.created_by == user and imp.workspace == workspace
    page = client_in.get(response["Location"]).content.decode()
    # Each column's select has its suggested target chosen...
    for index, target in enumerate(["email", "first_name", "score", "attributes.plan"]):
        select = re.search(rf'<select name="map_{index}".*?</select>', page, re.S).group(0)
        assert re.search(rf'<option value="{re.escape(target)}" selected>', select), target
    # ... and the preview shows the first rows as they will be stored, the rejected
    # cells marked with why.
    preview = re.search(r'<table class="data-table preview-table".*?</table>', page, re.S).group(0)
    assert "ann@example.com" in preview and "gold" in preview
    assert preview.count('class="cell-rejected"') == 2  # the bad email, "lots" for a score
    assert "lots" in preview


def test_a_new_segment_is_made_at_setup(client_in, workspace):
    response = client_in.post(
        "/imports/new/",
        {"file": upload(), "mode": "upsert", "segment": "new", "new_segment_name": "Fair 2026"},
    )
    assert response.status_code == 302
    imp = Import.objects.get()
    assert imp.segment.name == "Fair 2026" and imp.segment.kind == "manual"


@pytest.mark.parametrize(
    "content, name, message",
    [
        (b"\xd0\xcf\x11\xe0" + b"\x00" * 96, "old.xls", "old Excel file (.xls)"),
        (b"PK\x03\x04broken", "book.xlsx", "not a valid Excel (.xlsx) workbook"),
        (b"", "empty.csv", "The file is empty."),
        (b"a" * 200, "big.csv", "an import takes at most"),
    ],
)
def test_a_bad_upload_is_refused_with_its_message_next_to_the_file_field(
    client_in, settings, content, name, message
):
    settings.IMPORT_MAX_BYTES = 150
    response = client_in.post("/imports/new/", {"file": upload(content, name), "mode": "upsert"})
    assert response.status_code == 400
    assert message in field_errors(response.content.decode(), "file")
    assert not Import.objects.exists()


def test_setup_asks_for_the_segment_when_adding_existing_people(client_in):
    response = client_in.post("/imports/new/", {"file": upload(), "mode": "add_to_segment"})
    assert response.status_code == 400
    assert "Choose the segment" in field_errors(response.content.decode(), "segment")
    response = client_in.post(
        "/imports/new/", {"file": upload(), "mode": "upsert", "segment": "new"}
    )
    assert "Give the new segment a name." in field_errors(
        response.content.decode(), "new_segment_name"
    )
    response = client_in.post("/imports/new/", {"mode": "upsert"})
    assert "Choose a file to import." in field_errors(response.content.decode(), "file")
    assert not Import.objects.exists()


def test_a_segment_of_another_workspace_cannot_be_chosen(client_in, other_workspace):
    theirs = SegmentFactory(workspace=other_workspace, name="Theirs", kind="manual")
    response = client_in.post(
        "/imports/new/", {"file": upload(), "mode": "upsert", "segment": str(theirs.pk)}
    )
    assert response.status_code == 400
    assert "Select a valid choice" in field_errors(response.content.decode(), "segment")
    assert not Import.objects.exists()


# ---------------------------------------------------------------- map


def test_changing_a_target_redraws_the_preview_without_saving(client_in, workspace, user):
    imp = make_import(workspace, user)
    form = {
        "has_header": "on", "encoding": "", "delimiter": "",
        "map_0": "email", "map_1": "first_name", "map_2": "ignore", "map_3": "new",
        "key_3": "plan_tier", "type_3": "text", "refresh": "preview",
    }  # fmt: skip
    form["columns_shown"] = shown(client_in, imp)
    response = client_in.get(f"/imports/{imp.pk}/map/", form, headers=HTMX)
    fragment = response.content.decode()
    assert response.status_code == 200 and fragment.lstrip().startswith('<section id="preview"')
    assert "lots" in fragment and fragment.count('class="cell-rejected"') == 1  # score ignored
    imp.refresh_from_db()
    assert imp.status == "draft" and imp.mapping[2]["target"] == "score"  # nothing saved


def test_reading_the_file_without_a_header_redraws_the_columns(client_in, workspace, user):
    imp = make_import(workspace, user)
    columns = shown(client_in, imp)
    response = client_in.get(
        f"/imports/{imp.pk}/map/",
        {"encoding": "", "delimiter": "", "refresh": "mapping", "columns_shown": columns,
         "map_0": "email", "map_1": "first_name", "map_2": "score", "map_3": "ignore"},
        headers=HTMX,
    )  # fmt: skip
    fragment = response.content.decode()
    assert fragment.lstrip().startswith('<div id="mapping"')
    assert ">Column 1</label>" in fragment and ">E-mail</label>" not in fragment
    # The header row is now a row of the preview.
    assert "First Name" in re.search(r'<table class="data-table preview-table".*?</table>',
                                     fragment, re.S).group(0)  # fmt: skip


def test_next_saves_the_mapping_and_starts_the_check(client_in, workspace, user, monkeypatch):
    started = []
    monkeypatch.setattr(
        services, "job_start", lambda **kwargs: started.append(kwargs) or finished(workspace, "x")
    )
    imp = make_import(workspace, user)
    columns = shown(client_in, imp)
    response = client_in.post(
        f"/imports/{imp.pk}/map/",
        {"has_header": "on", "encoding": "", "delimiter": ";", "columns_shown": columns,
         "map_0": "email", "map_1": "first_name", "map_2": "score", "map_3": "new",
         "key_3": "plan_tier", "type_3": "text"},
    )  # fmt: skip
    assert response.status_code == 302 and response["Location"] == f"/imports/{imp.pk}/review/"
    imp.refresh_from_db()
    assert imp.delimiter == ";" and imp.mapped_at is not None
    assert imp.mapping[3] == {"target": "attributes.plan_tier", "new_type": "text"}
    assert [s["kind"] for s in started] == [services.REVIEW]
    assert started[0]["params"] == {"import_id": imp.pk}


def test_a_mapping_refused_says_why_and_saves_nothing(client_in, workspace, user):
    imp = make_import(workspace, user)
    columns = shown(client_in, imp)
    base = {"has_header": "on", "encoding": "", "delimiter": "", "columns_shown": columns,
            "map_1": "first_name", "map_2": "score", "map_3": "ignore"}  # fmt: skip
    response = client_in.post(f"/imports/{imp.pk}/map/", {**base, "map_0": "ignore"})
    assert response.status_code == 400
    assert "Choose the column that holds the email" in response.content.decode()
    # A new attribute without its key: the message is beside that column.
    response = client_in.post(f"/imports/{imp.pk}/map/", {**base, "map_0": "email", "map_3": "new"})
    row = re.search(r'<tr class="column-row has-error" data-column="3">.*?</tr>',
                    response.content.decode(), re.S)  # fmt: skip
    assert row and "Give the attribute a key." in row.group(0)
    imp.refresh_from_db()
    assert imp.status == "draft" and imp.review_job is None


# ---------------------------------------------------------------- review, run, result


def test_the_review_shows_its_progress_then_what_the_import_would_do(client_in, workspace, user):
    imp = reviewed(make_import(workspace, user), user)
    job = imp.review_job
    job.status, job.total, job.done = Job.Status.RUNNING, 2, 1
    job.save()
    page = client_in.get(f"/imports/{imp.pk}/review/").content.decode()
    assert "Checking every row" in page and 'hx-trigger="every 1s"' in page
    assert re.search(r'<progress[^>]*value="50"', page)
    # The poll answers the state while the check runs...
    answer = poll(client_in, f"/imports/{imp.pk}/review/")
    assert answer.status_code == 200 and "Checking every row" in answer.content.decode()
    # ... then, once it is done, stops with the outcome and the buttons.
    job.status = Job.Status.DONE
    job.save()
    answer = poll(client_in, f"/imports/{imp.pk}/review/")
    state = answer.content.decode()
    assert answer.status_code == 286
    assert count(state, "create") == "1" and count(state, "reject") == "1"
    assert "email: Enter a valid email address." in state and "not-an-email" in state
    assert f'action="/imports/{imp.pk}/run/"' in state and "Start import" in state
    assert f'href="/imports/{imp.pk}/map/"' in state and "Back to mapping" in state


def test_start_import_runs_it_and_the_result_shows_counts_and_the_error_file(
    client_in, workspace, user, monkeypatch
):
    imp = reviewed(make_import(workspace, user), user)
    segment = SegmentFactory(workspace=workspace, name="Fair", kind="manual")
    Import.objects.filter(pk=imp.pk).update(segment=segment)
    run = []
    monkeypatch.setattr(
        services, "job_start",
        lambda **kwargs: run.append(kwargs) or Job.objects.create(
            workspace=workspace, kind=kwargs["kind"], title=kwargs["title"], total=2,
            status=Job.Status.RUNNING, started_at=timezone.now(),
        ),
    )  # fmt: skip
    assert client_in.get(f"/imports/{imp.pk}/run/").status_code == 200  # the outcome, until started
    response = client_in.post(f"/imports/{imp.pk}/run/")
    assert response.status_code == 302 and response["Location"] == f"/imports/{imp.pk}/"
    assert [r["kind"] for r in run] == [services.RUN]
    imp.refresh_from_db()
    page = client_in.get(f"/imports/{imp.pk}/").content.decode()
    assert "Importing" in page and "Cancel…" in page and 'hx-trigger="every 1s"' in page
    # The run ends: the poll stops with the result.
    job = imp.run_job
    job.status, job.done, job.finished_at = Job.Status.DONE, 2, timezone.now()
    job.result_file = "imports/errors/people-errors.csv"
    job.save()
    Import.objects.filter(pk=imp.pk).update(
        counts={"rows": 2, "create": 1, "update": 0, "unchanged": 0, "reject": 1}
    )
    answer = poll(client_in, f"/imports/{imp.pk}/")
    state = answer.content.decode()
    assert answer.status_code == 286
    assert count(state, "create") == "1" and count(state, "reject") == "1"
    assert f'href="/activity/{job.pk}/download/"' in state and "Download the error file" in state
    assert f'href="/segments/{segment.pk}/"' in state
    assert "Import another file" in state and "Cancel…" not in state
    # Started once: a second "Start import" starts nothing.
    client_in.post(f"/imports/{imp.pk}/run/")
    assert len(run) == 1


def test_cancel_asks_the_running_import_to_stop(client_in, workspace, user):
    imp = reviewed(make_import(workspace, user), user)
    imp.run_job = Job.objects.create(
        workspace=workspace, kind=services.RUN, title="Import", status=Job.Status.RUNNING,
        leased_by="worker-1",
    )  # fmt: skip
    imp.save()
    response = client_in.post(f"/imports/{imp.pk}/cancel/", follow=True)
    imp.run_job.refresh_from_db()
    assert imp.run_job.cancel_requested_at is not None
    assert "Cancelling" in response.content.decode()


def test_each_step_sends_an_import_at_another_step_to_its_own(client_in, workspace, user):
    imp = make_import(workspace, user)
    for step in ("review", "run", ""):
        response = client_in.get(f"/imports/{imp.pk}/{step + '/' if step else ''}")
        assert response["Location"] == f"/imports/{imp.pk}/map/", step
    assert client_in.post(f"/imports/{imp.pk}/run/").status_code == 302
    assert Import.objects.get().run_job is None


# ---------------------------------------------------------------- access


def test_a_viewer_sees_the_list_but_cannot_start_an_import(client, workspace, user, member_client):
    imp = make_import(workspace, user)
    viewer = member_client(Role.VIEWER)
    assert viewer.get("/imports/").status_code == 200
    assert 'href="/imports/new/"' not in viewer.get("/imports/").content.decode()
    assert viewer.get("/imports/new/").status_code == 403
    assert viewer.post("/imports/new/", {"file": upload(), "mode": "upsert"}).status_code == 403
    assert viewer.get(f"/imports/{imp.pk}/map/").status_code == 403
    for step in ("map", "review", "run", "cancel"):
        assert viewer.post(f"/imports/{imp.pk}/{step}/").status_code == 403, step
    assert Import.objects.count() == 1
    assert Import.objects.get().review_job is None


def test_another_workspaces_import_is_a_404(client, workspace, user, other_workspace):
    imp = make_import(workspace, user, name="Secret list")
    mallory = UserFactory(username="mallory")
    other_workspace.memberships.create(user=mallory, role=Role.OWNER)
    client.force_login(mallory)
    for path in ("", "map/", "review/", "run/"):
        assert client.get(f"/imports/{imp.pk}/{path}").status_code == 404, path
    for path in ("map/", "review/", "run/", "cancel/"):
        assert client.post(f"/imports/{imp.pk}/{path}").status_code == 404, path
    assert "Secret list" not in client.get("/imports/").content.decode()


# ---------------------------------------------------------------- the list


def _listed(client) -> tuple[int, int]:
    with CaptureQueriesContext(connection) as captured:
        response = client.get("/imports/")
    assert response.status_code == 200
    return response.content.decode().count("data-import-id="), len(captured)


def test_the_list_runs_the_same_queries_for_3_and_30_imports(client_in, workspace, user):
    segment = SegmentFactory(workspace=workspace, name="Fair", kind="manual")

    def add(n):
        for i in range(n):
            imp = make_import(workspace, user, name=f"List {i}", segment=segment)
            imp.review_job = finished(workspace, services.REVIEW)
            imp.run_job = finished(workspace, services.RUN, result_file=f"imports/e{i}.csv")
            imp.counts = {"rows": 3, "create": 2, "update": 0, "unchanged": 0, "reject": 1}
            imp.save()

    add(3)
    rows_small, queries_small = _listed(client_in)
    add(27)
    rows_large, queries_large = _listed(client_in)
    assert (rows_small, rows_large) == (3, 30)
    assert queries_small == queries_large


def test_the_list_shows_who_when_mode_status_counts_duration_and_error_file(
    client_in, workspace, user
):
    imp = make_import(workspace, user, name="Spring leads")
    imp.run_job = finished(workspace, services.RUN, result_file="imports/errors.csv")
    imp.counts = {"rows": 3, "create": 2, "update": 1, "unchanged": 0, "reject": 4}
    imp.save()
    make_import(workspace, user, name="Half done")
    page = client_in.get("/imports/").content.decode()
    row = re.search(rf'<tr data-import-id="{imp.pk}".*?</tr>', page, re.S).group(0)
    for text in ("Spring leads", "people.csv", "Import contacts", "Done", "owner", "1 min 15 s",
                 f"/activity/{imp.run_job.pk}/download/"):  # fmt: skip
        assert text in row, text
    assert re.findall(r'<td class="num">(\d+)</td>', row) == ["2", "1", "0", "4"]
    assert "To map" in page  # the other one, not mapped yet
    nav = re.search(r'<nav class="mainnav".*?</nav>', page, re.S).group(0)
    assert 'href="/imports/" class="active" aria-current="page">Imports<' in nav


def test_the_list_pages_by_keyset(client_in, workspace, user):
    for i in range(31):
        make_import(workspace, user, name=f"Import {i:02}")
    page = client_in.get("/imports/").content.decode()
    assert page.count("data-import-id=") == 30 and "Import 30" in page and "Import 00" not in page
    after = re.search(r'href="/imports/\?cursor=([\w-]+)"', page).group(1)
    second = client_in.get("/imports/", {"cursor": after}).content.decode()
    assert second.count("data-import-id=") == 1 and "Import 00" in second
    assert "no longer fits" in client_in.get("/imports/", {"cursor": "junk"}).content.decode()


def test_a_workbook_offers_its_sheets_and_a_sheet_redraws_the_columns(client_in, workspace, user):
    from openpyxl import Workbook

    book = Workbook()
    book.active.title = "Leads"
    book.active.append(["Email", "City"])
    book.active.append(["ann@example.com", "Lyon"])
    other = book.create_sheet("Partners")
    other.append(["E-mail address", "Company", "Country"])
    other.append(["bob@example.com", "Acme", "FR"])
    content = io.BytesIO()
    book.save(content)
    imp = make_import(workspace, user, content.getvalue(), "book.xlsx", name="Book")
    page = client_in.get(f"/imports/{imp.pk}/map/").content.decode()
    sheet = re.search(r'<select name="sheet".*?</select>', page, re.S).group(0)
    assert ">Leads</option>" in sheet and ">Partners</option>" in sheet
    assert 'name="encoding"' not in page and 'name="delimiter"' not in page
    response = client_in.get(
        f"/imports/{imp.pk}/map/",
        {"has_header": "on", "sheet": "Partners", "refresh": "mapping",
         "columns_shown": shown(client_in, imp), "map_0": "email", "map_1": "city"},
        headers=HTMX,
    )  # fmt: skip
    fragment = response.content.decode()
    titles = re.findall(r'<th scope="row"><label[^>]*>(.*?)</label></th>', fragment)
    assert titles == ["E-mail address", "Company", "Country"]
    assert re.search(r'<select name="map_0".*?<option value="email" selected>', fragment, re.S)
    assert "bob@example.com" in fragment and "Acme" in fragment


@pytest.mark.parametrize("value", ["²", "9" * 30, "x" * 10_000, "", "-1", "[" * 3000, "new"])
def test_hostile_answers_on_the_map_step_are_never_a_server_error(
    client_in, workspace, user, value
):
    imp = make_import(workspace, user)
    names = ["has_header", "encoding", "delimiter", "sheet", "columns_shown"]
    names += [f"{kind}_{i}" for kind in ("map", "key", "type") for i in range(5)]
    columns = shown(client_in, imp)
    for refresh in ("preview", "mapping"):
        for name in names:
            data = {"refresh": refresh, "columns_shown": columns, name: value}
            response = client_in.get(f"/imports/{imp.pk}/map/", data, headers=HTMX)
            assert response.status_code == 200, (refresh, name)
    response = client_in.post(f"/imports/{imp.pk}/map/", {name: value for name in names})
    assert response.status_code == 400
    imp.refresh_from_db()
    assert imp.status == "draft"
