"""Each segment a campaign names shows it, with its role, on its Usage tab and in the
API's usage, and cannot be deleted while it does."""

import re

import pytest

from campaigns import services
from campaigns.models import Campaign
from campaigns.services import CampaignData
from segments import services as segment_services
from segments.errors import SegmentInUse
from segments.models import Segment
from tests.api_helpers import error_code

pytest_plugins = ["tests.api_fixtures"]
pytestmark = pytest.mark.django_db


@pytest.fixture
def used(workspace):
    def manual(name):
        return segment_services.segment_create(workspace=workspace, name=name, kind="manual")

    vip, staff, signups = manual("VIP"), manual("Staff"), manual("Signups")
    broadcast = services.campaign_create(
        workspace=workspace,
        data=CampaignData(
            name="Spring sale", subject="S", body="B", include=[vip], exclude=[staff]
        ),
    )
    welcome = services.campaign_create(
        workspace=workspace,
        data=CampaignData(
            name="Welcome", kind=Campaign.Kind.TRIGGERED, subject="W", body="B", trigger=signups
        ),
    )
    return {"vip": vip, "staff": staff, "signups": signups, "broadcast": broadcast,
            "welcome": welcome}  # fmt: skip


@pytest.mark.parametrize(
    ("segment", "campaign", "role"),
    [("vip", "broadcast", "include"), ("staff", "broadcast", "exclude"),
     ("signups", "welcome", "trigger")],
)  # fmt: skip
def test_the_usage_tab_and_the_api_name_the_campaign_with_its_role(
    client_in, api, used, segment, campaign, role
):
    segment, campaign = used[segment], used[campaign]
    page = client_in.get(f"/segments/{segment.pk}/usage/").content.decode()
    assert f'href="/campaigns/{campaign.pk}/"' in page
    assert campaign.name in page
    assert f"role-{role}" in page
    body = api.get(f"/segments/{segment.pk}/usage").json()
    assert body["campaigns"] == [{"id": campaign.pk, "name": campaign.name, "role": role}]


def test_the_delete_guard_holds_until_the_campaign_lets_go(client_in, api, used):
    vip = used["vip"]
    with pytest.raises(SegmentInUse):
        segment_services.segment_delete(segment=vip)
    response = api.delete(f"/segments/{vip.pk}")
    assert response.status_code == 409
    assert error_code(response) == "segment_in_use"
    assert response.json()["error"]["usage"]["campaigns"][0]["name"] == "Spring sale"
    client_in.post(f"/segments/{vip.pk}/delete/")
    assert Segment.objects.filter(pk=vip.pk).exists()

    services.campaign_delete(campaign=used["broadcast"])
    segment_services.segment_delete(segment=vip)
    assert not Segment.objects.filter(pk=vip.pk).exists()


def test_create_campaign_on_a_segment_page_opens_the_form_with_it(client_in, used):
    vip = used["vip"]
    page = client_in.get(f"/segments/{vip.pk}/").content.decode()
    assert f'href="/campaigns/new/?segment={vip.pk}"' in page
    form = client_in.get(f"/campaigns/new/?segment={vip.pk}").content.decode()
    boxes = re.findall(r'<input type="checkbox" name="include" value="(\d+)"[^>]*>', form)
    checked = re.findall(r'<input type="checkbox" name="include" value="(\d+)"[^>]*checked', form)
    assert checked == [str(vip.pk)] and len(boxes) == 3
