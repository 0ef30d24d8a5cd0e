"""Imports in Django admin: listed, opened and searched, read-only, never added."""

import pytest
from django.urls import reverse

from tests.factories import UserFactory
from tests.imports.helpers import make, run

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


def test_imports_in_admin(client, workspace, user):
    imp = make(workspace, user, b"email\na@x.co\nbad\n", name="leads.csv")
    run(imp, user)
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    listing = client.get(reverse("admin:imports_import_changelist"), {"q": "leads"})
    assert listing.status_code == 200
    assert "leads" in listing.content.decode() and ">Done<" in listing.content.decode()
    page = client.get(reverse("admin:imports_import_change", args=[imp.pk]))
    html = page.content.decode()
    assert page.status_code == 200
    assert "Import &#x27;leads&#x27; (leads.csv)" in html  # the run job, linked
    assert 'name="name"' not in html  # read-only
    assert client.get(reverse("admin:imports_import_add")).status_code == 403
    assert client.get(reverse("admin:imports_import_changelist"), {"q": "=x"}).status_code == 200
