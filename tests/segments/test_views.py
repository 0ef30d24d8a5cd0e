"""The segment pages: dashboard, tabs, actions, the contact side."""

import pytest

from segments import services

pytestmark = pytest.mark.django_db


def test_segment_page_has_header_and_tabs(client_in, workspace):
    segment = services.segment_create(workspace=workspace, name="VIP", kind="manual")
    page = client_in.get(f"/segments/{segment.pk}/").content.decode()
    assert "VIP" in page and 'id="segment-tabs"' in page
