"""The wizard's services: upload, sniff, header, suggested mapping, preview, map."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from contacts.models import CustomAttribute
from imports import selectors, services
from imports.models import Import
from tests.factories import SegmentFactory
from workspaces.errors import KithError


def upload(content: bytes, name="people.csv"):
    return SimpleUploadedFile(name, content, content_type="text/csv")


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


def test_create_sniffs_reads_the_header_and_suggests_a_mapping(workspace, user):
    CustomAttribute.objects.create(workspace=workspace, key="plan", type="text", label="Plan")
    content = "\ufeffE-mail;First Name;Surname;Mobile;Plan;Tags;Notes\r\n".encode()
    content += b"ann@example.com;Ann;Lee;+33 1;gold;a, b;x\r\n"
    imp = services.import_create(workspace=workspace, user=user, upload=upload(content))
    assert imp.format == "csv"
    assert imp.detected["encoding"] == "utf-8"
    assert imp.detected["delimiter"] == ";"
    assert imp.columns == ["E-mail", "First Name", "Surname", "Mobile", "Plan", "Tags", "Notes"]
    assert [m["target"] for m in imp.mapping] == [
        "email", "first_name", "last_name", "phone", "attributes.plan", "tags", "ignore",
    ]  # fmt: skip
    assert imp.status == "draft" and imp.step == "map"
    assert imp.name == "people"
    assert imp.get_absolute_url() == f"/imports/{imp.pk}/map/"


def test_preview_shows_what_will_be_stored_and_why_not(workspace, user):
    content = b"email,score,joined\nann@example.com,12,2024-05-01\nnot-an-email,lots,31/12/2024\n"
    imp = services.import_create(workspace=workspace, user=user, upload=upload(content))
    mapping = [
        {"target": "email"},
        {"target": "score"},
        {"target": "attributes.joined", "new_type": "date"},
    ]
    imp = services.import_map(
        imp=imp, has_header=True, encoding="", delimiter="", sheet="", mapping=mapping, user=user
    )
    assert imp.status == "mapped" and imp.step == "review"
    preview = selectors.import_preview(imp=imp)
    assert preview.columns == ["email", "score", "joined"]
    first, second = preview.rows
    assert [c.stored for c in first] == ["ann@example.com", "12", "2024-05-01"]
    assert [c.error for c in first] == ["", "", ""]
    assert [c.raw for c in second] == ["not-an-email", "lots", "31/12/2024"]
    assert all(c.error for c in second)
    assert preview.lines == [2, 3]


def test_map_refuses_a_mapping_without_email_or_external_id(workspace, user):
    imp = services.import_create(workspace=workspace, user=user, upload=upload(b"name\nAnn\n"))
    with pytest.raises(KithError) as caught:
        services.import_map(
            imp=imp, has_header=True, encoding="", delimiter="", sheet="",
            mapping=[{"target": "first_name"}], user=user,
        )  # fmt: skip
    assert caught.value.field == "mapping"


def test_new_attribute_needs_its_type(workspace, user):
    content = b"email,x\na@b.co,1\n"
    imp = services.import_create(workspace=workspace, user=user, upload=upload(content))
    with pytest.raises(KithError) as caught:
        services.import_map(
            imp=imp, has_header=True, encoding="", delimiter="", sheet="",
            mapping=[{"target": "email"}, {"target": "attributes.x"}], user=user,
        )  # fmt: skip
    assert "type" in str(caught.value)


def test_without_header_columns_are_numbered(workspace, user):
    imp = services.import_create(workspace=workspace, user=user, upload=upload(b"a@b.co,Ann\n"))
    with pytest.raises(KithError):  # the columns changed: the page shows them again
        services.import_map(
            imp=imp, has_header=False, encoding="", delimiter="", sheet="", mapping=None, user=user
        )
    imp.refresh_from_db()
    assert imp.columns == ["Column 1", "Column 2"]
    imp = services.import_map(
        imp=imp, has_header=False, encoding="", delimiter="", sheet="",
        mapping=["email", "first_name"], user=user,
    )  # fmt: skip
    assert selectors.import_preview(imp=imp).rows[0][0].stored == "a@b.co"


def test_add_to_segment_needs_a_manual_segment(workspace, user):
    with pytest.raises(KithError) as caught:
        services.import_create(
            workspace=workspace, user=user, upload=upload(b"email\na@b.co\n"),
            mode=Import.Mode.ADD_TO_SEGMENT,
        )  # fmt: skip
    assert caught.value.field == "segment"
    segment = SegmentFactory(workspace=workspace, filter=True)
    with pytest.raises(KithError):
        services.import_create(
            workspace=workspace, user=user, upload=upload(b"email\na@b.co\n"),
            mode=Import.Mode.ADD_TO_SEGMENT, segment=segment,
        )  # fmt: skip
    imp = services.import_create(
        workspace=workspace, user=user, upload=upload(b"email,name\na@b.co,A\n"),
        mode=Import.Mode.ADD_TO_SEGMENT, new_segment_name="From the fair",
    )  # fmt: skip
    assert imp.segment.name == "From the fair" and imp.segment.kind == "manual"
    assert [m["target"] for m in imp.mapping] == ["email", "ignore"]
    groups = selectors.mapping_choices(imp=imp)
    assert [v for _, choices in groups for v, _ in choices] == ["email", "ignore"]


def test_too_big_refused_before_saving(workspace, user, settings):
    settings.IMPORT_MAX_BYTES = 10
    with pytest.raises(KithError) as caught:
        services.import_create(workspace=workspace, user=user, upload=upload(b"email\n" * 5))
    assert "at most" in str(caught.value)
    assert not Import.objects.exists()


def test_import_get_is_scoped(workspace, other_workspace, user):
    from django.http import Http404

    imp = services.import_create(workspace=workspace, user=user, upload=upload(b"email\na@b.co\n"))
    assert selectors.import_get(workspace=workspace, pk=imp.pk) == imp
    with pytest.raises(Http404):
        selectors.import_get(workspace=other_workspace, pk=imp.pk)
    assert list(selectors.import_list(workspace=other_workspace)) == []
