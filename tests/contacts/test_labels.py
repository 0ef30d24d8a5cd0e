"""A contact's built-in fields are called what the model's verbose_name says, on every
page: the contact form, the list's filters and columns, the contact page, the rule
builder and bulk segments."""

import pytest
from django.urls import reverse

from contacts.filters import ContactFilter
from contacts.forms import ContactForm
from contacts.models import Contact, field_label
from segments import builder
from segments.forms import BulkSegmentForm
from tests.factories import ContactFactory

pytestmark = pytest.mark.django_db


def test_the_label_is_the_models_verbose_name():
    assert field_label("state") == "State / region"
    assert field_label("external_id") == "External id"
    assert field_label("last_activity_at") == "Last activity"


def test_every_page_calls_a_field_by_that_label(client_in, workspace):
    form = ContactForm(definitions=[])
    for name in ContactForm.builtin_names:
        assert form.fields[name].label == field_label(name), name
    filters = ContactFilter(None, queryset=Contact.objects.none(), workspace=workspace)
    for name in ("country", "city", "language", "company"):
        assert filters.form.fields[name].label == field_label(name), name
    catalog = {f["value"]: f["label"] for f in builder.catalog(workspace)["fields"]}
    assert catalog["state"] == field_label("state") and catalog["score"] == "Score"
    bulk = dict(BulkSegmentForm(attributes=[]).fields["field"].choices[1][1])
    assert bulk["state"] == field_label("state")
    contact = ContactFactory(workspace=workspace)
    page = client_in.get(reverse("contacts:detail", args=[contact.pk])).content.decode()
    assert "<dt>State / region</dt>" in page and "<dt>External id</dt>" in page
    listing = client_in.get(reverse("contacts:list")).content.decode()
    assert '<th scope="col">Last activity</th>' in listing
