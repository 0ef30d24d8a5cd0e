"""Mass update: one field set to one value for every contact of a set, checked against
the field's type, previewed (how many change) before it runs, a job on a segment's
members and a bulk action of the contact list; membership follows the change. Tasks
run inline: a job started by a request has run once its commit callbacks have."""

import dataclasses

import pytest
from django.urls import reverse
from django.utils.html import escape

from contacts import bulk, mass_update
from contacts import jobs as contact_jobs
from contacts.models import Contact
from contacts.services import attribute_define
from contacts.sets import ContactSet
from jobs import runner
from jobs.models import Job
from segments.models import PendingChange
from tests.factories import ContactFactory
from tests.segments.views.pages import filtered, manual, unescaped
from workspaces.errors import KithError
from workspaces.models import Notification

pytestmark = pytest.mark.django_db


@pytest.fixture
def people(workspace, other_workspace):
    """10 French contacts (3 already in Berlin), 4 German; 2 French elsewhere."""
    french = ContactFactory.create_batch(7, workspace=workspace, country="FR", city="Paris")
    french += ContactFactory.create_batch(3, workspace=workspace, country="FR", city="Berlin")
    ContactFactory.create_batch(4, workspace=workspace, country="DE", city="Berlin")
    ContactFactory.create_batch(2, workspace=other_workspace, country="FR", city="Paris")
    return french


def url(segment):
    return reverse("segments:mass_update", args=[segment.pk])


def post(client, address, data, capture, **headers):
    with capture(execute=True):
        return client.post(address, data, **headers)


def test_bad_values_are_refused_on_the_value_field(workspace):
    attribute_define(workspace=workspace, key="plan_size", type="number")
    attribute_define(workspace=workspace, key="renewal", type="date")
    cases = [
        ("score", "high", "Score must be a whole number."),
        ("score", "1.5", "Score must be a whole number."),
        ("attributes.plan_size", "ten", "is not a number"),
        ("attributes.renewal", "next week", "is not an ISO 8601 date"),
        ("city", "x" * 101, "At most 100 characters."),
    ]
    for field, value, words in cases:
        with pytest.raises(KithError) as caught:
            mass_update.clean_change(workspace, field, value)
        assert caught.value.field == "value" and words in str(caught.value), field
    for field in ("email", "external_id", "attributes.nope", "workspace"):
        with pytest.raises(KithError) as caught:
            mass_update.clean_change(workspace, field, "x")
        assert caught.value.field == "field"
    assert mass_update.clean_change(workspace, "score", " 12 ") == ("score", 12)
    assert mass_update.clean_change(workspace, "attributes.Plan_Size", "3") == (
        "attributes.plan_size",
        3,
    )


def test_preview_then_update_the_members_of_a_segment_as_a_job(
    client_in, workspace, user, people, monkeypatch, django_capture_on_commit_callbacks
):
    small_chunks(monkeypatch, 4)
    segment = filtered(workspace, django_capture_on_commit_callbacks)  # the 10 French
    berlin = filtered(
        workspace,
        django_capture_on_commit_callbacks,
        name="Berliners",
        conditions={"all": [{"field": "city", "op": "eq", "value": "Berlin"}]},
    )
    assert berlin.member_count == 7
    data = {"field": "city", "value": "Berlin", "preview": "1"}
    response = post(client_in, url(segment), data, django_capture_on_commit_callbacks)
    assert response.status_code == 200 and "7 contacts will change." in unescaped(response)
    assert not Job.objects.exists()

    data = {"field": "city", "value": "Berlin", "confirm": "1"}
    response = post(client_in, url(segment), data, django_capture_on_commit_callbacks)
    job = Job.objects.get()
    assert response.status_code == 302 and response["Location"] == job.get_absolute_url()
    assert job.title == "Set City to “Berlin”: all contacts that match segment French"
    assert job.status == Job.Status.DONE and (job.done, job.total, job.percent) == (10, 10, 100)
    assert job.counters == {"changed": 7}
    assert job.message == "Set City to “Berlin”: 7 contacts changed."
    cities = dict(Contact.objects.values_list("pk", "city"))
    assert {cities[p.pk] for p in people} == {"Berlin"}
    assert sorted(cities.values()).count("Paris") == 2  # the other workspace's
    berlin.refresh_from_db()
    assert berlin.member_count == 14  # membership followed
    assert Notification.objects.get(user=user).body == job.message


def small_chunks(monkeypatch, size: int) -> None:
    job = dataclasses.replace(mass_update.ACTION.job, chunk_size=size)
    monkeypatch.setitem(
        bulk._actions, "mass_update", dataclasses.replace(mass_update.ACTION, job=job)
    )


def test_the_jobs_chunks_are_ranges_of_the_set_leaving_the_others_between(
    workspace, user, people, monkeypatch
):
    small_chunks(monkeypatch, 3)
    everyone = list(Contact.objects.filter(workspace=workspace).order_by("pk"))
    every_other = everyone[::2]
    segment = manual(workspace, contacts=every_other)
    job = contact_jobs.bulk_job_start(
        workspace=workspace,
        action=bulk.get("mass_update"),
        data={"field": "company", "value": "Initech"},
        contacts=ContactSet.matching(workspace, f"segment={segment.pk}"),
    )
    assert runner.run(job.pk) == Job.Status.DONE
    job.refresh_from_db()
    assert (job.done, job.total, job.counters) == (7, 7, {"changed": 7})
    assert job.checkpoint["last"] == every_other[-1].pk  # in chunks of 3: 3, 3, 1
    companies = dict(Contact.objects.values_list("pk", "company"))
    assert [companies[c.pk] == "Initech" for c in everyone] == [True, False] * 7
    announced = [
        len(p.contact_ids)
        for p in PendingChange.objects.filter(workspace=workspace)
        if "company" in p.change["fields"]
    ]
    assert sorted(announced) == [1, 3, 3]  # one per chunk


def test_a_custom_attribute_is_set_and_cleared(
    client_in, workspace, people, django_capture_on_commit_callbacks
):
    attribute_define(workspace=workspace, key="plan_size", type="number")
    segment = manual(workspace, contacts=people[:5])
    data = {"field": "attributes.plan_size", "value": "12", "confirm": "1"}
    post(client_in, url(segment), data, django_capture_on_commit_callbacks)
    assert Job.objects.get().message == "Set plan_size (custom) to “12”: 5 contacts changed."
    stored = dict(Contact.objects.values_list("pk", "attributes"))
    assert [stored[p.pk].get("plan_size") for p in people] == [12] * 5 + [None] * 5

    data = {"field": "attributes.plan_size", "value": "", "preview": "1"}
    response = post(client_in, url(segment), data, django_capture_on_commit_callbacks)
    assert "5 contacts will change." in unescaped(response)
    data["confirm"] = "1"
    post(client_in, url(segment), data, django_capture_on_commit_callbacks)
    assert (
        Job.objects.latest("id").message == "Set plan_size (custom) to empty: 5 contacts changed."
    )
    assert not any("plan_size" in a for a in Contact.objects.values_list("attributes", flat=True))


def test_a_bad_value_on_the_page_is_shown_beside_it_and_starts_nothing(
    client_in, workspace, people, django_capture_on_commit_callbacks
):
    segment = manual(workspace, contacts=people[:2])
    data = {"field": "score", "value": "lots", "confirm": "1"}
    response = post(client_in, url(segment), data, django_capture_on_commit_callbacks)
    assert response.status_code == 400
    assert "Score must be a whole number." in unescaped(response)
    assert not Job.objects.exists()


def bar(client, data, capture, **headers):
    """The contact list's bulk bar posts (with HTMX: its fragment comes back)."""
    return post(client, reverse("contacts:bulk"), data, capture, **headers)


HTMX = {"HTTP_HX_REQUEST": "true"}


def test_the_contact_lists_bulk_bar_previews_then_mass_updates_the_checked_contacts(
    client_in, workspace, people, django_capture_on_commit_callbacks
):
    chosen = people[:3]
    people[0].score = 42
    people[0].save()
    data = {
        "action": "mass_update",
        "ids": [p.pk for p in chosen],
        "mass_update-field": "score",
        "mass_update-value": "42",
    }
    before = dict(Contact.objects.values_list("pk", "score"))
    response = bar(client_in, data, django_capture_on_commit_callbacks, **HTMX)
    html = unescaped(response)
    assert "Set Score to “42”: 2 contacts of 3 checked contacts change." in html
    assert dict(Contact.objects.values_list("pk", "score")) == before  # asked first
    assert 'name="mass_update-previewed"' in html and ">Update</button>" in html
    previewed = mass_update.signature({"field": "score", "value": "42"})
    assert escape(previewed) in response.content.decode()

    data["mass_update-previewed"] = previewed
    bar(client_in, data, django_capture_on_commit_callbacks, **HTMX)
    scores = dict(Contact.objects.values_list("pk", "score"))
    assert [scores[p.pk] for p in people[:4]] == [42, 42, 42, before[people[3].pk]]
    assert scores[people[3].pk] != 42


def test_the_bulk_bar_offers_custom_attributes_checked_against_their_type(
    client_in, workspace, people, django_capture_on_commit_callbacks
):
    attribute_define(workspace=workspace, key="seats", type="number")
    attribute_define(workspace=workspace, key="renewal", type="date")
    page = unescaped(client_in.get(reverse("contacts:list")))
    assert '<option value="attributes.seats">seats (custom)</option>' in page
    assert '<option value="attributes.renewal">renewal (custom)</option>' in page
    data = {
        "action": "mass_update",
        "ids": [p.pk for p in people[:4]],
        "mass_update-field": "attributes.seats",
        "mass_update-value": "ten",
    }
    response = bar(client_in, data, django_capture_on_commit_callbacks, **HTMX)
    assert "is not a number" in unescaped(response) and "change." not in unescaped(response)

    data["mass_update-value"] = "10"
    response = bar(client_in, data, django_capture_on_commit_callbacks, **HTMX)
    assert "Set seats (custom) to “10”: 4 contacts of 4 checked contacts change." in unescaped(
        response
    )
    # A change edited after its preview is counted again, not run.
    data["mass_update-previewed"] = mass_update.signature(
        {"field": "attributes.seats", "value": "10"}
    )
    data["mass_update-value"] = "11"
    response = bar(client_in, data, django_capture_on_commit_callbacks, **HTMX)
    assert "to “11”: 4 contacts" in unescaped(response)
    assert not any("seats" in a for a in Contact.objects.values_list("attributes", flat=True))

    data["mass_update-previewed"] = mass_update.signature(
        {"field": "attributes.seats", "value": "11"}
    )
    bar(client_in, data, django_capture_on_commit_callbacks, **HTMX)
    stored = dict(Contact.objects.values_list("pk", "attributes"))
    assert [stored[p.pk].get("seats") for p in people[:5]] == [11, 11, 11, 11, None]


def test_the_bulk_bars_preview_without_htmx_is_a_message(
    client_in, workspace, people, django_capture_on_commit_callbacks
):
    data = {
        "action": "mass_update",
        "all_matching": "1",
        "query": "country=FR",
        "mass_update-field": "city",
        "mass_update-value": "Lyon",
    }
    response = bar(client_in, data, django_capture_on_commit_callbacks)
    assert response.status_code == 302
    page = unescaped(client_in.get(response["Location"]))
    assert "Set City to “Lyon”: 10 contacts of all contacts that match country" in page
    assert not Contact.objects.filter(city="Lyon").exists()
