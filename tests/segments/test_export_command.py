"""export_segment (commands.md): a segment's members to a file, by id or by name, in
this process; the file read back; its path printed once it is complete; every refusal
one line."""

import csv
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from openpyxl import load_workbook

from contacts.models import ContactTag, CustomAttribute, Tag
from segments import services as segment_services
from tests.factories import ContactFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def vip(workspace, other_workspace):
    """“VIP guests”: Ann and Bob, not Carl; a segment of the same name elsewhere."""
    CustomAttribute.objects.create(workspace=workspace, key="plan", type="text")
    ann = ContactFactory(workspace=workspace, email="ann@acme.test", first_name="Ann",
                         attributes={"plan": "=pro"}, score=-3)  # fmt: skip
    bob = ContactFactory(workspace=workspace, email="bob@acme.test", first_name="Bob")
    ContactFactory(workspace=workspace, email="carl@acme.test")
    tag = Tag.objects.create(workspace=workspace, name="vip")
    ContactTag.objects.create(contact=ann, tag=tag)
    segment = segment_services.segment_create(workspace=workspace, name="VIP guests",
                                              kind="manual")  # fmt: skip
    segment_services.segment_members_add(segment=segment, lookup="id", values=[ann.pk, bob.pk])
    segment_services.segment_create(workspace=other_workspace, name="VIP guests", kind="manual")
    return segment


def run(*args) -> tuple[str, str]:
    out, err = [], []

    class Sink:
        def __init__(self, into):
            self.into = into

        def write(self, text):
            self.into.append(text)

        def flush(self):
            pass

    call_command("export_segment", *args, stdout=Sink(out), stderr=Sink(err))
    return "".join(out), "".join(err)


def test_by_id_to_a_directory_prints_the_path_of_the_whole_file(vip, tmp_path):
    out, err = run(str(vip.pk), "--workspace", "acme", "--output", str(tmp_path),
                   "--fields", "email,first_name,score,attributes.plan,tags")  # fmt: skip
    path = Path(out.strip())
    assert path == tmp_path / "vip-guests.csv" and path.is_absolute()
    with path.open(newline="", encoding="utf-8") as handle:
        assert list(csv.reader(handle)) == [
            ["email", "first_name", "score", "attributes.plan", "tags"],
            ["ann@acme.test", "Ann", "-3", "'=pro", "vip"],
            ["bob@acme.test", "Bob", "0", "", ""],
        ]
    assert "2 of 2 contacts (100%)" in err and "Exported 2 contacts of “VIP guests”." in err
    assert [p.name for p in tmp_path.iterdir()] == ["vip-guests.csv"]  # no partial file


def test_by_name_to_xlsx_with_every_field(vip, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    out, _ = run("vip GUESTS", "--workspace", "acme", "--format", "xlsx")
    path = Path(out.strip())
    assert path == tmp_path / "vip-guests.xlsx"
    sheet = load_workbook(path).worksheets[0]
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][:3] == ("email", "phone", "first_name")
    assert rows[0][-2:] == ("attributes.plan", "tags")
    assert [(r[0], r[-2], r[-1]) for r in rows[1:]] == [
        ("ann@acme.test", "'=pro", "vip"),
        ("bob@acme.test", None, None),
    ]


def test_to_a_file_named_by_output(vip, tmp_path):
    target = tmp_path / "out.csv"
    out, _ = run(str(vip.pk), "--workspace", "acme", "--output", str(target), "--fields", "email")
    assert out.strip() == str(target)
    assert target.read_text() == "email\nann@acme.test\nbob@acme.test\n"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["VIP guests", "--workspace", "nope"], "No workspace with slug 'nope'."),
        (["Nobody", "--workspace", "acme"], "No segment 'Nobody' in workspace 'acme'."),
        (["VIP guests", "--workspace", "acme", "--fields", "email,shoe"], "fields: There is no"),
        (["VIP guests", "--workspace", "acme", "--fields", ","], "Choose at least one field"),
        (
            ["VIP guests", "--workspace", "acme", "--output", "/nonexistent/dir/x.csv"],
            "There is no directory /nonexistent/dir.",
        ),
    ],  # fmt: skip
)
def test_refusals_are_one_line(vip, args, message):
    with pytest.raises(CommandError) as refused:
        run(*args)
    assert message in str(refused.value) and "\n" not in str(refused.value)


def test_another_workspaces_segment_is_not_found_by_its_id(vip, other_workspace):
    theirs = vip.__class__.objects.get(workspace=other_workspace)
    with pytest.raises(CommandError, match=f"No segment '{theirs.pk}'"):
        run(str(theirs.pk), "--workspace", "acme")
