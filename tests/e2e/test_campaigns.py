"""A campaign in a real browser: "Create campaign" on a segment's page opens the form
with the segment as its audience; the preview shows the message for a contact and
the audience's size; "Send now" sends it (tasks run inline in tests) through Django's
file email backend; the campaign's page lists the deliveries, and once the open
pixel of a message is requested, the open shows there."""

import re
import uuid

import pytest
from playwright.sync_api import expect

from segments import services as segment_services
from tests.e2e.test_segments import sign_in
from workspaces.models import Workspace

pytestmark = pytest.mark.e2e


@pytest.fixture
def mail_dir(settings, tmp_path):
    settings.EMAIL_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
    settings.EMAIL_FILE_PATH = str(tmp_path / "mail")
    return tmp_path / "mail"


def messages(mail_dir) -> list[bytes]:
    found = []
    for path in sorted(mail_dir.glob("*.log")):
        found += [m for m in path.read_bytes().split(b"-" * 79 + b"\n") if m.strip()]
    return found


def test_create_a_campaign_from_a_segment_send_it_and_see_an_open(
    page, base_url, mail_dir, screenshot
):
    workspace = Workspace.objects.get(slug="demo")
    segment = segment_services.segment_create(
        workspace=workspace, name=f"Readers {uuid.uuid4().hex[:6]}", kind="manual"
    )
    people = list(workspace.contacts.exclude(email=None).order_by("pk")[:3])
    segment_services.segment_members_add(
        segment=segment, lookup="id", values=[c.pk for c in people]
    )
    sign_in(page, base_url)

    page.goto(f"{base_url}/segments/{segment.pk}/")
    page.get_by_role("link", name="Create campaign").click()
    expect(page.get_by_role("heading", name="Create campaign", level=1)).to_be_visible()
    expect(page.get_by_label(segment.name).first).to_be_checked()  # the include box
    expect(page.locator("#audience-size")).to_have_text("3")

    page.get_by_label("Name").fill("Autumn letter")
    page.get_by_label("Subject").fill("Hello {{ first_name|default:'there' }}")
    page.get_by_label("Message").fill("Our autumn news: https://example.com/autumn")
    expect(page.locator("#preview-subject")).to_contain_text("Hello")  # HTMX preview
    expect(page.locator("#preview-body")).to_contain_text("https://example.com/autumn")
    screenshot("campaign-form")
    page.get_by_role("button", name="Save campaign").click()

    expect(page.get_by_role("heading", name="Autumn letter", level=1)).to_be_visible()
    expect(page.locator("#campaign-status")).to_have_text("Draft")
    page.get_by_role("button", name="Send now").click()
    expect(page.locator("#campaign-status")).to_have_text("Sent")
    expect(page.locator("#count-sent")).to_have_text("3")
    rows = page.locator("#delivery-table tbody tr")
    expect(rows).to_have_count(3)
    for person in people:
        expect(page.locator("#delivery-table")).to_contain_text(person.email)

    sent = messages(mail_dir)
    assert len(sent) == 3
    pixel = re.search(rb'<img src="https?://[^/"]+(/t/o/[^"]+)"', sent[0]).group(1).decode()
    image = page.request.get(f"{base_url}{pixel}")
    assert image.status == 200 and image.headers["content-type"] == "image/gif"

    page.reload()
    expect(page.locator("#count-opened")).to_contain_text("1")
    expect(page.locator("#delivery-table td.delivery-opened time")).to_have_count(1)
    screenshot("campaign-sent")
    assert page.errors == []
