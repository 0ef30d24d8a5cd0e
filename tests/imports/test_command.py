"""import_contacts: the same engine, counts and error file as the web, from the shell."""

import io
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from contacts.models import Contact, CustomAttribute
from imports.models import Import
from segments.models import SegmentMember
from tests.factories import ContactFactory, SegmentFactory
from tests.imports.helpers import with_doctype, xlsx

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _media(settings, tmp_path, monkeypatch):
    settings.MEDIA_ROOT = tmp_path / "media"
    # No broker message: the command's own thread runs the job, as with no worker.
    monkeypatch.setattr("jobs.services.send_after_commit", lambda *args, **kwargs: None)


def command(*args) -> str:
    out = io.StringIO()
    call_command("import_contacts", *args, stdout=out)
    return out.getvalue()


def write(tmp_path, content: bytes, name="people.csv") -> str:
    path = tmp_path / name
    path.write_bytes(content)
    return str(path)


def test_it_imports_with_a_progress_bar_counts_and_the_error_file(workspace, tmp_path):
    path = write(
        tmp_path,
        b"E-mail;Prenom;Plan;Visits\nann@x.co;Ann;gold;3\nbad;Bob;free;1\ncid@x.co;Cid;;lots\n",
    )
    out = command(
        path, "--workspace", "acme", "--name", "Fair leads",
        "--map", "Plan=attributes.plan:text", "--map", "4=attributes.visits:number",
    )  # fmt: skip
    lines = out.splitlines()
    assert lines[0].startswith("[") and "rows" in lines[0]  # the progress bar
    assert "[##############################] 100%  3 / 3 rows" in out
    assert "3 rows: 1 created, 0 updated, 0 unchanged, 2 rejected." in out
    error_line = next(line for line in lines if line.startswith("Error file: "))
    error_file = Path(error_line.removeprefix("Error file: "))
    assert error_file.is_absolute()
    text = error_file.read_text(encoding="utf-8-sig")
    assert text.splitlines()[0] == "E-mail,Prenom,Plan,Visits,row,error"
    assert "bad,Bob,free,1,3," in text and "cid@x.co,Cid,,lots,4," in text
    ann = Contact.objects.get(email="ann@x.co")
    assert (ann.first_name, ann.attributes) == ("Ann", {"plan": "gold", "visits": 3})
    assert CustomAttribute.objects.get(key="visits").type == "number"
    imp = Import.objects.get()
    assert (imp.name, imp.status, imp.counts["reject"]) == ("Fair leads", "done", 2)


def test_same_outcome_as_the_web(workspace, user, tmp_path):
    from tests.imports.helpers import make, run
    from tests.imports.test_engine import MESSY, MESSY_MAPPING

    web = make(workspace, user, MESSY, mapping=MESSY_MAPPING)
    run(web, user)
    Contact.objects.all().delete()
    path = write(tmp_path, MESSY)
    command(path, "--workspace", "acme", "--map", "Signed up=attributes.signed_up:date")
    shell = Import.objects.exclude(pk=web.pk).get()
    assert shell.counts == web.counts
    assert Contact.objects.count() == 3


def test_add_to_segment_by_name_without_header(workspace, tmp_path):
    ContactFactory(workspace=workspace, email="a@x.co")
    segment = SegmentFactory(workspace=workspace, name="Fair 2024")
    path = write(tmp_path, b"a@x.co\nnobody@x.co\n")
    out = command(
        path, "--workspace", "acme", "--mode", "add_to_segment", "--segment", "fair 2024",
        "--no-header", "--map", "1=email",
    )  # fmt: skip
    assert "2 rows: 1 added to the segment, 0 already in it, 1 rejected." in out
    assert SegmentMember.objects.filter(segment=segment).count() == 1


def test_a_chosen_delimiter_encoding_and_sheet(workspace, tmp_path):
    path = write(tmp_path, "email|city\nz@x.co|Köln\n".encode("cp1252"), "p.txt")
    command(path, "--workspace", "acme", "--delimiter", "|", "--encoding", "cp1252")
    assert Contact.objects.get().city == "Köln"
    book = xlsx({"A": [["x"]], "People": [["Email", "City"], ["y@x.co", "Lyon"]]})
    command(write(tmp_path, book, "p.xlsx"), "--workspace", "acme", "--sheet", "People")
    assert Contact.objects.get(email="y@x.co").city == "Lyon"


@pytest.mark.parametrize(
    ("content", "name", "args", "message"),
    [
        (b"", "empty.csv", [], "This file is empty."),
        (with_doctype(xlsx({"S": [["email"]]})), "x.xlsx", [], "declares a DTD"),
        (b"name\nAnn\n", "p.csv", [], "Choose the column that holds the email"),
        (b"email\na@x.co\n", "p.csv", ["--map", "nope=email"], "no column 'nope'"),
        (b"email\na@x.co\n", "p.csv", ["--segment", "Nope"], "No segment 'Nope'"),
        (b"email\na@x.co\nb@x.co\n", "p.csv", ["--limit-rows"], "more than 1 rows"),
    ],
)
def test_refusals_exit_non_zero_with_one_line(
    workspace, tmp_path, settings, content, name, args, message
):
    if args == ["--limit-rows"]:
        settings.IMPORT_MAX_ROWS, args = 1, []
    with pytest.raises(CommandError) as refused:
        command(write(tmp_path, content, name), "--workspace", "acme", *args)
    assert message in str(refused.value)
    assert "\n" not in str(refused.value)
    assert not Contact.objects.exists()


def test_an_unknown_workspace_or_file(workspace, tmp_path):
    with pytest.raises(CommandError, match="No workspace with slug 'nope'"):
        command(write(tmp_path, b"email\n"), "--workspace", "nope")
    with pytest.raises(CommandError, match="No file at"):
        command(str(tmp_path / "missing.csv"), "--workspace", "acme")
