"""The Usage tab (segments/views/usage.py): campaigns and rules that use the segment,
with links."""

import pytest
from django.urls import reverse

from segments import services
from tests.segments.views.pages import (
    in_use_by_campaign,
    manual,
    text,
)

pytestmark = pytest.mark.django_db


def test_usage_tab_links_campaigns_and_rules(client_in, workspace):
    segment = manual(workspace, "VIP")
    in_use_by_campaign(segment, "Spring launch", role="trigger")
    user = services.segment_create(
        workspace=workspace,
        name="Uses VIP",
        kind="filter",
        conditions={"all": [{"segment": segment.pk, "op": "in"}]},
    )
    page = text(client_in.get(reverse("segments:usage", args=[segment.pk])))
    assert "Spring launch" in page and "Trigger" in page
    assert f'href="/segments/{user.pk}/">Uses VIP</a>' in page
    free = manual(workspace, "Free")
    assert "Nothing uses" in text(client_in.get(reverse("segments:usage", args=[free.pk])))
