"""What the tests of the segment pages share: segments made through the services,
the page's text, and how the delete guard names a campaign."""

import html
import re
from urllib.parse import parse_qs, urlsplit

from django.urls import reverse

from segments import services
from segments.models import Segment
from segments.views.common import url_or_none
from tests.factories import CampaignSegmentFactory

LIST = reverse("segments:list")

HTMX = {"HTTP_HX_REQUEST": "true"}

FRANCE = {"all": [{"field": "country", "op": "eq", "value": "FR"}]}


def manual(workspace, name="VIP", contacts=(), **kwargs) -> Segment:
    segment = services.segment_create(workspace=workspace, name=name, kind="manual", **kwargs)
    if contacts:
        services.segment_members_add(segment=segment, lookup="id", values=[c.pk for c in contacts])
    segment.refresh_from_db()
    return segment


def filtered(workspace, capture, name="French", conditions=FRANCE) -> Segment:
    """A filter segment, its members refreshed (the refresh runs after commit)."""
    with capture(execute=True):
        segment = services.segment_create(
            workspace=workspace, name=name, kind="filter", conditions=conditions
        )
    segment.refresh_from_db()
    return segment


def text(response) -> str:
    return response.content.decode()


def unescaped(response) -> str:
    """The page's text with HTML entities read (“Spring launch” as typed)."""
    return html.unescape(response.content.decode())


def names_in_table(response) -> list[str]:
    return re.findall(r'class="segment-link" href="/segments/\d+/">([^<]+)</a>', text(response))


def next_cursor(page: str) -> str:
    href = html.unescape(re.search(r'rel="next" href="([^"]+)"', page).group(1))
    return parse_qs(urlsplit(href).query)["cursor"][0]


def in_use_by_campaign(segment, name="Spring", role="include"):
    link = CampaignSegmentFactory(
        campaign__workspace=segment.workspace, campaign__name=name, segment=segment, role=role
    )
    return link.campaign


def uses(segment, name) -> Segment:
    """A filter segment whose rule names `segment`."""
    return services.segment_create(
        workspace=segment.workspace,
        name=name,
        kind="filter",
        conditions={"all": [{"segment": segment.pk, "op": "in"}]},
    )


def campaign_named(campaign) -> str:
    """How the delete guard names a campaign: a link to its page once campaigns have
    pages, else its name in quotes."""
    url = url_or_none("campaigns:detail", campaign.pk)
    return f'<a href="{url}">{campaign.name}</a>' if url else f"“{campaign.name}”"
