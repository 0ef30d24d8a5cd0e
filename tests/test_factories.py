"""tests/factories.py: what a factory makes belongs to one workspace."""

import pytest

from tests.factories import (
    CampaignSegmentFactory,
    DeliveryFactory,
    SegmentFactory,
    WorkspaceFactory,
)

pytestmark = pytest.mark.django_db


def test_segments_campaigns_and_deliveries_stay_in_one_workspace():
    workspace = WorkspaceFactory()
    link = CampaignSegmentFactory(campaign__workspace=workspace)
    assert link.segment.workspace == link.campaign.workspace == workspace
    delivery = DeliveryFactory(campaign=link.campaign)
    assert delivery.contact.workspace == workspace and delivery.sent_at is not None


def test_a_segment_is_manual_unless_asked_for_a_filter():
    assert SegmentFactory().kind == "manual" and SegmentFactory().conditions is None
    rule = SegmentFactory(filter=True)
    assert rule.kind == "filter" and rule.conditions == {
        "all": [{"field": "email", "op": "exists"}]
    }
