"""The Settings tab (segments/views/settings.py): rename, describe, topics."""

import re

import pytest
from django.urls import reverse

from contacts.models import Topic
from tests.factories import (
    TopicFactory,
)
from tests.segments.views.pages import (
    HTMX,
    manual,
    text,
)

pytestmark = pytest.mark.django_db


def test_settings_rename_describe_and_topics(client_in, workspace):
    TopicFactory(workspace=workspace, name="News")
    segment = manual(workspace, "VIP")
    url = reverse("segments:settings", args=[segment.pk])
    news = Topic.objects.get(name="News")
    response = client_in.post(
        url,
        {"name": "VIP 2", "description": "Updated", "topics": [news.pk], "new_topics": "Sales, x"},
    )
    assert response.status_code == 302
    segment.refresh_from_db()
    assert (segment.name, segment.description) == ("VIP 2", "Updated")
    assert sorted(segment.topics.values_list("name", flat=True)) == ["News", "Sales", "x"]
    manual(workspace, "Taken")
    clash = client_in.post(url, {"name": "taken"})
    assert clash.status_code == 400
    assert re.search(r'id_name_errors"><p class="field-error">A segment named', text(clash))
    over_htmx = client_in.post(url, {"name": "taken"}, **HTMX)
    assert over_htmx.status_code == 200 and "A segment named" in text(over_htmx)
    ok_htmx = client_in.post(url, {"name": "VIP 3"}, **HTMX)
    assert ok_htmx["HX-Redirect"] == url
