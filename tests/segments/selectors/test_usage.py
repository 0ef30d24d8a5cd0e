"""What uses a segment (segments/selectors/usage.py) and the one delete guard that
says it (templates/segments/_used_by.html): each user named, with a link, in a
marketer's words and never by id, the same sentence on the delete page, the bulk
delete page and its report, in the admin, and (as plain text) in the API's refusal."""

import pytest
from django.urls import reverse

from segments import selectors, services
from segments.models import Segment
from tests.factories import CampaignSegmentFactory, UserFactory
from tests.segments.views.pages import campaign_named

pytestmark = pytest.mark.django_db


@pytest.fixture
def vip(workspace):
    """“VIP”, named in the rules of “VIP buyers” and “Big <spenders>”, and the
    trigger of the campaign “Spring sale”."""
    vip = services.segment_create(workspace=workspace, name="VIP", kind="manual")
    for name in ("VIP buyers", "Big <spenders>"):
        services.segment_create(
            workspace=workspace,
            name=name,
            kind="filter",
            conditions={"all": [{"segment": vip.pk, "op": "in"}]},
        )
    CampaignSegmentFactory(
        campaign__workspace=workspace, campaign__name="Spring sale", segment=vip, role="trigger"
    )
    return vip


def named(workspace, name) -> Segment:
    return Segment.objects.get(workspace=workspace, name=name)


def guard(workspace, vip, *, subject=False) -> str:
    """The sentence as the app's pages draw it (names escaped, segment links)."""
    buyers, spenders = named(workspace, "VIP buyers"), named(workspace, "Big <spenders>")
    campaign = vip.campaign_links.get().campaign
    return (
        ("“VIP” is used by " if subject else "Used by ")
        + f'the segment <a href="/segments/{buyers.pk}/">VIP buyers</a>, '
        + f'the segment <a href="/segments/{spenders.pk}/">Big &lt;spenders&gt;</a> '
        + f"and the campaign {campaign_named(campaign)} (trigger)."
    )


def test_users_are_the_segments_then_the_campaigns_with_their_role_in_words(workspace, vip):
    usage = selectors.segment_usage(vip)
    users = selectors.segment_users(usage, link=lambda kind, pk: f"/{kind}/{pk}")
    assert [(u.kind, u.name, u.role) for u in users] == [
        ("segment", "VIP buyers", ""),
        ("segment", "Big <spenders>", ""),
        ("campaign", "Spring sale", "trigger"),
    ]
    assert users[0].url == f"/segment/{named(workspace, 'VIP buyers').pk}"
    assert selectors.is_in_use(usage)
    alone = services.segment_create(workspace=workspace, name="Alone", kind="manual")
    assert not selectors.is_in_use(selectors.segment_usage(alone))


def test_the_refusal_says_the_same_in_plain_text(workspace, vip):
    with pytest.raises(services.SegmentInUse) as caught:
        services.segment_delete(segment=vip)
    assert caught.value.message == (
        "“VIP” is used by the segment “VIP buyers”, the segment “Big <spenders>” and the "
        "campaign “Spring sale” (trigger); remove it from them first."
    )
    assert str(vip.pk) not in caught.value.message


def test_the_delete_page_draws_the_guard(client_in, workspace, vip):
    page = client_in.get(reverse("segments:delete", args=[vip.pk])).content.decode()
    assert guard(workspace, vip) in page


def test_the_bulk_delete_page_and_its_report_draw_the_same(client_in, workspace, vip):
    bulk = reverse("segments:bulk")
    page = client_in.post(bulk, {"action": "delete", "ids": [vip.pk]}).content.decode()
    kept = page.split('id="bulk-delete-kept"')[1].split("</ul>")[0]
    assert guard(workspace, vip) in kept
    client_in.post(bulk, {"action": "delete", "ids": [vip.pk], "confirm": "yes"})
    report = client_in.get(reverse("segments:list")).content.decode()
    assert "1 segment not deleted" in report and guard(workspace, vip) in report
    assert Segment.objects.filter(pk=vip.pk).exists()


def test_the_admin_draws_it_with_links_to_its_pages(client, workspace, vip):
    client.force_login(UserFactory(username="root", is_staff=True, is_superuser=True))
    page = client.get(reverse("admin:segments_segment_delete", args=[vip.pk])).content.decode()
    buyers, spenders = named(workspace, "VIP buyers"), named(workspace, "Big <spenders>")
    campaign = vip.campaign_links.get().campaign

    def change(model, pk):
        return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_change", args=[pk])

    assert (
        f'“VIP” is used by the segment <a href="{change(Segment, buyers.pk)}">VIP buyers</a>, '
        f'the segment <a href="{change(Segment, spenders.pk)}">Big &lt;spenders&gt;</a> and the '
        f'campaign <a href="{change(type(campaign), campaign.pk)}">Spring sale</a> (trigger).'
    ) in page
