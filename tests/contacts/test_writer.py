"""contacts.writer: the set-based contact writer, on SQLite and on PostgreSQL (the
suite runs on PostgreSQL when DATABASE_URL points at it)."""

import random
import threading
from datetime import UTC, datetime

import pytest
from django.core.exceptions import ValidationError
from django.db import connection

from contacts import changes, writer
from contacts.models import Contact, ContactTag, CustomAttribute, Tag
from contacts.writer import bulk_insert, contacts_insert_new, contacts_write
from tests.factories import ContactFactory, CustomAttributeFactory, TagFactory, WorkspaceFactory

LONG_AGO = datetime(2020, 1, 1, tzinfo=UTC)


@pytest.fixture
def announced(monkeypatch, django_capture_on_commit_callbacks):
    """Every contacts_changed call of the test, as (ids, Change), whether listeners
    run at once or after the commit; no other listener runs."""
    calls = []
    lock = threading.Lock()

    def record(workspace_id, ids, change):
        with lock:
            calls.append((list(ids), change))

    monkeypatch.setattr(changes, "_listeners", [record])
    with django_capture_on_commit_callbacks(execute=True):
        yield calls


def write(workspace, items, match_on="email", **kwargs):
    return contacts_write(workspace=workspace, match_on=match_on, items=items, **kwargs)


def contact(workspace, email) -> Contact:
    return Contact.objects.get(workspace=workspace, email__iexact=email)


def age(*contacts: Contact) -> None:
    """Move updated_at back, to see whether a write moves it."""
    Contact.objects.filter(pk__in=[c.pk for c in contacts]).update(updated_at=LONG_AGO)


# ---------------------------------------------------------------- outcomes


def test_counts_and_outcomes_per_item(workspace):
    same = ContactFactory(workspace=workspace, email="same@example.com", city="Oslo")
    moved = ContactFactory(workspace=workspace, email="moved@example.com", city="Oslo")
    result = write(
        workspace,
        [
            {"email": "same@example.com", "city": "Oslo"},
            {"email": "MOVED@example.com ", "city": "Rome"},
            {"email": "new@example.com", "first_name": "New"},
            {"first_name": "No key"},
        ],
    )
    assert (result.created, result.updated, result.unchanged) == (1, 1, 1)
    assert result.outcomes == ["unchanged", "updated", "created", None]
    new = contact(workspace, "new@example.com")
    assert result.contact_ids == [same.id, moved.id, new.id, None]
    assert [e["index"] for e in result.errors] == [3]
    moved.refresh_from_db()
    assert (moved.email, moved.city) == ("MOVED@example.com", "Rome")  # trimmed, as given
    assert (new.first_name, new.last_name, new.score, new.external_id) == ("New", "", 0, None)


def test_fields_an_item_does_not_give_are_left_as_stored(workspace):
    ann = ContactFactory(
        workspace=workspace, email="ann@example.com", city="Oslo", company="Acme", score=7
    )
    result = write(workspace, [{"email": "ann@example.com", "company": "Initech"}])
    assert result.outcomes == ["updated"]
    ann.refresh_from_db()
    assert (ann.city, ann.company, ann.score) == ("Oslo", "Initech", 7)


def test_items_of_different_shapes_in_one_batch(workspace):
    ContactFactory(workspace=workspace, email="a@example.com", city="Oslo", score=1)
    result = write(
        workspace,
        [
            {"email": "a@example.com", "score": 2},
            {"email": "b@example.com", "city": "Rome", "attributes": {"plan": "pro"}},
            {"email": "c@example.com", "score": "3", "tags": ["vip"]},
        ],
    )
    assert result.outcomes == ["updated", "created", "created"]
    a, b, c = (contact(workspace, f"{x}@example.com") for x in "abc")
    assert (a.city, a.score) == ("Oslo", 2)
    assert (b.city, b.attributes) == ("Rome", {"plan": "pro"})
    assert (c.score, [t.name for t in c.tags.all()]) == (3, ["vip"])


def test_matching_on_external_id(workspace):
    crm = ContactFactory(workspace=workspace, external_id="CRM-7", email=None, company="Old")
    result = write(
        workspace,
        [{"external_id": " crm-7", "company": "New"}, {"external_id": 8}],
        match_on="external_id",
    )
    assert result.outcomes == ["updated", "created"]
    crm.refresh_from_db()
    assert (crm.external_id, crm.company) == ("crm-7", "New")
    assert Contact.objects.get(workspace=workspace, external_id="8").email is None


def test_never_touches_another_workspace(workspace, other_workspace):
    theirs = ContactFactory(workspace=other_workspace, email="ann@example.com", city="Oslo")
    result = write(workspace, [{"email": "ann@example.com", "city": "Rome"}])
    assert result.outcomes == ["created"]
    theirs.refresh_from_db()
    assert theirs.city == "Oslo"


def test_refuses_an_unknown_match_field(workspace):
    with pytest.raises(ValidationError):
        write(workspace, [{"email": "a@example.com"}], match_on="phone")


# ---------------------------------------------------------------- repeated keys


def test_a_repeated_key_is_written_in_rounds(workspace, announced):
    result = write(
        workspace,
        [
            {"email": "new@example.com", "first_name": "New"},
            {"email": "other@example.com"},
            {"email": "  NEW@example.com ", "last_name": "Again"},
            {"email": "new@EXAMPLE.com", "last_name": "Again"},  # same value: unchanged
            {"email": "new@EXAMPLE.com", "last_name": "Again", "tags": ["vip"]},
        ],
    )
    assert result.outcomes == ["created", "created", "updated", "updated", "updated"]
    # Index 3 changes only the case of the email; index 4 links a tag.
    assert (result.created, result.updated, result.unchanged) == (2, 3, 0)
    new = contact(workspace, "new@example.com")
    assert result.contact_ids[0] == result.contact_ids[2] == result.contact_ids[4] == new.id
    assert (new.email, new.first_name, new.last_name) == ("new@EXAMPLE.com", "New", "Again")
    assert [t.name for t in new.tags.all()] == ["vip"]
    assert Contact.objects.filter(workspace=workspace).count() == 2
    # Made in this call: announced once, as created, not also as updated.
    assert [(ids, change.created) for ids, change in announced] == [
        (sorted({new.id, result.contact_ids[1]}), True)
    ]


def test_a_repeated_key_with_nothing_new_is_unchanged(workspace):
    result = write(
        workspace,
        [
            {"email": "a@example.com", "city": "Oslo", "attributes": {"seats": 2}},
            {"email": "A@example.com ", "city": "Oslo"},
            {"email": "a@example.com", "attributes": {"seats": 2}},
        ],
    )
    assert result.outcomes == ["created", "updated", "updated"]  # the email's case
    result = write(workspace, [{"email": "a@example.com", "attributes": {"seats": 2}}] * 3)
    assert result.outcomes == ["unchanged"] * 3


# ---------------------------------------------------------------- prepared batches


def test_a_batch_prepared_in_another_thread_is_written_as_its_items(workspace, announced):
    """An import prepares each chunk of cleaned rows in its reader thread: a new
    contact named twice, a stored one updated and then named again unchanged."""
    old = ContactFactory(
        workspace=workspace,
        email="old@example.com",
        city="Oslo",
        attributes={"seats": 1, "plan": "pro"},
    )
    items = [
        {"email": "new@example.com", "first_name": "New", "attributes": {"seats": 2}},
        {"email": "old@example.com", "city": "Rome", "attributes": {"seats": None}},
        {"email": "NEW@example.com", "last_name": "Again", "attributes": {"seats": 3}},
        {"email": "old@example.com", "city": "Rome"},
        "not an object",
    ]
    prepared = []
    thread = threading.Thread(
        target=lambda: prepared.append(
            writer.contacts_prepare(match_on="email", items=iter(items), cleaned=True)
        )
    )
    thread.start()
    thread.join()
    result = write(workspace, prepared[0], cleaned=True)

    assert result.outcomes == ["created", "updated", "updated", "unchanged", None]
    assert result.errors == [{"index": 4, "message": "Each contact must be an object."}]
    new = contact(workspace, "new@example.com")
    assert (new.email, new.first_name, new.last_name) == ("NEW@example.com", "New", "Again")
    assert new.attributes == {"seats": 3}
    old.refresh_from_db()
    assert (old.city, old.attributes) == ("Rome", {"plan": "pro"})
    assert result.contact_ids[:4] == [new.id, old.id, new.id, old.id]
    created, updated = announced
    assert (created[0], created[1].created) == ([new.id], True)
    assert updated[0] == [old.id]
    assert {"city", "attributes.seats"} <= updated[1].fields


def test_a_batch_prepared_for_another_write_is_refused(workspace):
    prepared = writer.contacts_prepare(match_on="email", items=[{"email": "a@example.com"}])
    with pytest.raises(ValueError):
        write(workspace, prepared, match_on="external_id")
    with pytest.raises(ValueError):
        write(workspace, prepared, cleaned=True)
    assert not Contact.objects.filter(workspace=workspace).exists()


# ---------------------------------------------------------------- attributes


def test_attributes_merge_key_by_key_and_none_removes(workspace):
    CustomAttributeFactory(workspace=workspace, key="plan", type="text")
    CustomAttributeFactory(workspace=workspace, key="seats", type="number")
    ann = ContactFactory(
        workspace=workspace, email="ann@example.com", attributes={"plan": "pro", "seats": 3}
    )
    result = write(
        workspace,
        [
            {
                "email": "ann@example.com",
                "attributes": {"seats": "5", "plan": None, "tier": "gold"},
            },
            {"email": "bob@example.com", "attributes": {"plan": None, "seats": 1}},
        ],
    )
    assert result.outcomes == ["updated", "created"]
    ann.refresh_from_db()
    assert ann.attributes == {"seats": 5, "tier": "gold"}
    assert contact(workspace, "bob@example.com").attributes == {"seats": 1}
    assert CustomAttribute.objects.get(workspace=workspace, key="tier").type == "text"


def test_removing_a_missing_key_or_setting_the_same_value_changes_nothing(workspace):
    CustomAttributeFactory(workspace=workspace, key="seats", type="number")
    CustomAttributeFactory(workspace=workspace, key="plan", type="text")
    ann = ContactFactory(workspace=workspace, email="ann@example.com", attributes={"seats": 3})
    age(ann)
    result = write(
        workspace, [{"email": "ann@example.com", "attributes": {"seats": 3.0, "plan": None}}]
    )
    assert result.outcomes == ["unchanged"]
    ann.refresh_from_db()
    assert (ann.attributes, ann.updated_at) == ({"seats": 3}, LONG_AGO)


def test_unknown_attribute_keys_can_be_refused(workspace):
    result = write(
        workspace,
        [{"email": "a@example.com", "attributes": {"nope": 1}}],
        define_attributes=False,
    )
    assert result.outcomes == [None]
    assert "Unknown attribute" in result.errors[0]["message"]
    assert not CustomAttribute.objects.exists()


# ---------------------------------------------------------------- tags


def test_tags_are_added_and_a_new_link_is_a_change(workspace, announced):
    TagFactory(workspace=workspace, name="VIP")
    ann = ContactFactory(workspace=workspace, email="ann@example.com", city="Oslo")
    bob = ContactFactory(workspace=workspace, email="bob@example.com", city="Oslo")
    age(ann, bob)
    result = write(
        workspace,
        [
            {"email": "ann@example.com", "city": "Oslo", "tags": ["vip", "Churn risk"]},
            {"email": "bob@example.com", "city": "Oslo"},
            {"email": "new@example.com", "tags": ["churn RISK"]},
        ],
    )
    assert result.outcomes == ["updated", "unchanged", "created"]
    assert sorted(t.name for t in ann.tags.all()) == ["Churn risk", "VIP"]
    assert Tag.objects.filter(workspace=workspace).count() == 2
    ann.refresh_from_db()
    bob.refresh_from_db()
    assert ann.updated_at > LONG_AGO
    assert bob.updated_at == LONG_AGO
    new = contact(workspace, "new@example.com")
    assert [(ids, c.created, c.tags, c.fields) for ids, c in announced] == [
        ([new.id], True, True, set()),
        ([ann.id], False, True, {"updated_at"}),
    ]

    age(ann)
    result = write(workspace, [{"email": "ann@example.com", "tags": ["VIP", "churn risk"]}])
    assert result.outcomes == ["unchanged"]
    ann.refresh_from_db()
    assert ann.updated_at == LONG_AGO
    assert ContactTag.objects.filter(contact=ann).count() == 2


# ---------------------------------------------------------------- rejected items


def test_a_rejected_item_stores_nothing(workspace, announced):
    result = write(
        workspace,
        [
            {
                "email": "bad@example.com",
                "attributes": {"tier": "gold", "seats": 2},
                "tags": ["brand-new"],
                "score": "lots",
            },
            # Defines "level", then fails on the second key: "level" is undone.
            {"email": "worse@example.com", "attributes": {"level": 3, "bad key": 1}},
            {"email": "not an email"},
            {"email": "ok@example.com", "tags": "vip"},
            "not an object",
        ],
    )
    assert result.outcomes == [None] * 5
    assert [e["index"] for e in result.errors] == [0, 1, 2, 3, 4]
    assert "score" in result.errors[0]["message"]
    assert "bad key" in result.errors[1]["message"]
    assert not Contact.objects.exists()
    assert not CustomAttribute.objects.exists()
    assert not Tag.objects.exists()
    assert announced == []


def test_the_other_key_held_by_another_contact_is_an_item_error(workspace):
    ContactFactory(workspace=workspace, email="taken@example.com", external_id="crm-1")
    ann = ContactFactory(workspace=workspace, email="ann@example.com", external_id="crm-2")
    result = write(
        workspace,
        [
            {"external_id": "crm-3", "email": "TAKEN@example.com", "tags": ["vip"]},
            {"external_id": "crm-2", "email": "ann@example.com", "city": "Rome"},
            {"external_id": "crm-4", "email": "new@example.com"},
            {"external_id": "crm-5", "email": "NEW@example.com"},  # taken by index 2
        ],
        match_on="external_id",
    )
    assert result.outcomes == [None, "updated", "created", None]
    assert [e["index"] for e in result.errors] == [0, 3]
    assert "email" in result.errors[0]["message"]
    assert "TAKEN@example.com" in result.errors[0]["message"]
    ann.refresh_from_db()
    assert ann.city == "Rome"
    assert not Contact.objects.filter(external_id__in=["crm-3", "crm-5"]).exists()
    assert not Tag.objects.exists()


def test_an_other_key_given_up_earlier_in_the_batch_can_be_taken(workspace):
    ann = ContactFactory(workspace=workspace, email="ann@example.com", external_id="crm-1")
    result = write(
        workspace,
        [
            {"email": "ann@example.com", "external_id": "crm-9"},  # gives up crm-1
            {"email": "bob@example.com", "external_id": "CRM-1"},  # so bob may take it
            {"email": "cid@example.com", "external_id": "crm-9"},  # ann holds it now
        ],
    )
    assert result.outcomes == ["updated", "created", None]
    assert "external id" in result.errors[0]["message"]
    ann.refresh_from_db()
    assert ann.external_id == "crm-9"
    assert contact(workspace, "bob@example.com").external_id == "CRM-1"


def test_a_chunk_that_still_hits_the_unique_index_is_retried_item_by_item(workspace, monkeypatch):
    """As when a concurrent transaction takes an external id after the checks."""
    ContactFactory(workspace=workspace, email="taken@example.com", external_id="crm-1")
    monkeypatch.setattr(writer._Writer, "_other_key_holders", lambda self, items: {})
    result = write(
        workspace,
        [
            {"email": "a@example.com", "city": "Oslo"},
            {"email": "b@example.com", "external_id": "crm-1"},
            {"email": "c@example.com", "external_id": "crm-3"},
        ],
    )
    assert result.outcomes == ["created", None, "created"]
    assert result.errors == [
        {
            "index": 1,
            "message": "external_id: Another contact already has the external id 'crm-1'.",
        }
    ]
    assert Contact.objects.filter(workspace=workspace).count() == 3


# ---------------------------------------------------------------- updated_at


def test_updated_at_moves_only_for_contacts_that_changed(workspace):
    kept = ContactFactory(workspace=workspace, email="kept@example.com", city="Oslo")
    moved = ContactFactory(workspace=workspace, email="moved@example.com", city="Oslo")
    age(kept, moved)
    before = datetime.now(UTC)
    result = write(
        workspace,
        [
            {"email": "kept@example.com", "city": "Oslo"},
            {"email": "moved@example.com", "city": "Rome"},
            {"email": "new@example.com"},
        ],
    )
    assert result.outcomes == ["unchanged", "updated", "created"]
    kept.refresh_from_db()
    moved.refresh_from_db()
    new = contact(workspace, "new@example.com")
    assert kept.updated_at == LONG_AGO
    assert moved.updated_at >= before
    assert moved.created_at < before
    assert new.created_at == new.updated_at >= before
    # Stored as the ORM stores them (SQLite keeps datetimes as text): lookups match.
    assert Contact.objects.filter(updated_at=new.updated_at).count() == 2
    assert list(Contact.objects.filter(created_at__gte=before)) == [new]


# ---------------------------------------------------------------- announcements


def test_changes_are_announced_once_per_call(workspace, announced):
    CustomAttributeFactory(workspace=workspace, key="plan", type="text")
    a = ContactFactory(workspace=workspace, email="a@example.com", city="Oslo", country="NO")
    b = ContactFactory(workspace=workspace, email="b@example.com", city="Oslo", country="NO")
    c = ContactFactory(workspace=workspace, email="c@example.com", city="Oslo", country="NO")
    result = write(
        workspace,
        [
            {"email": "a@example.com", "city": "Rome", "country": "NO"},
            {"email": "b@example.com", "country": "IT", "attributes": {"plan": "pro"}},
            {"email": "c@example.com", "city": "Oslo"},
            *({"email": f"new{i}@example.com", "city": "Oslo"} for i in range(5)),
        ],
    )
    assert (result.created, result.updated, result.unchanged) == (5, 2, 1)
    new_ids = sorted(result.contact_ids[3:])
    assert len(announced) == 2
    (created_ids, created), (updated_ids, updated) = announced
    assert (created_ids, created.created, created.tags) == (new_ids, True, False)
    assert updated_ids == sorted([a.id, b.id])
    assert not updated.created
    assert updated.fields == {"city", "country", "attributes.plan", "updated_at"}
    assert c.id not in created_ids + updated_ids


def test_nothing_is_announced_when_nothing_changed(workspace, announced):
    ContactFactory(workspace=workspace, email="a@example.com", city="Oslo")
    result = write(workspace, [{"email": "a@example.com", "city": "Oslo"}])
    assert result.outcomes == ["unchanged"]
    assert announced == []


# ---------------------------------------------------------------- rows known to be new


def test_contacts_insert_new_returns_ids_in_order(workspace):
    now = datetime.now(UTC)
    columns = ["workspace", "email", "first_name", "attributes", "created_at", "updated_at"]
    rows = [(workspace.id, f"p{i}@example.com", f"P{i}", {"n": i}, now, now) for i in range(5)]
    ids = contacts_insert_new(workspace, columns, rows)
    stored = Contact.objects.in_bulk(ids)
    assert [stored[pk].email for pk in ids] == [f"p{i}@example.com" for i in range(5)]
    assert stored[ids[3]].attributes == {"n": 3}
    assert Contact.objects.filter(created_at=now).count() == 5
    tag = TagFactory(workspace=workspace)
    bulk_insert(ContactTag, ["contact", "tag", "created_at"], [(ids[0], tag.id, now)])
    assert [t.id for t in stored[ids[0]].tags.all()] == [tag.id]


# ---------------------------------------------------------------- concurrency


@pytest.mark.django_db(transaction=True)
def test_concurrent_upserts_of_the_same_new_emails_update_and_never_reject(monkeypatch):
    if connection.vendor != "postgresql":
        pytest.skip("SQLite has one writer at a time; concurrency is PostgreSQL's")
    monkeypatch.setattr(changes, "_listeners", [])
    workspace = WorkspaceFactory()
    emails = [f"person{i}@example.com" for i in range(600)]
    threads_count, per_thread = 8, 480
    batches = []
    for n in range(threads_count):
        rng = random.Random(n)
        chosen = rng.sample(emails, per_thread)
        batches.append(
            [
                {
                    "email": e.upper() if rng.random() < 0.5 else e,
                    "first_name": f"T{n}",
                    "tags": ["VIP" if n % 2 else "vip"],
                }
                for e in chosen
            ]
        )
    barrier = threading.Barrier(threads_count)
    results, failures = [], []

    def run(items):
        try:
            barrier.wait()
            results.append(contacts_write(workspace=workspace, match_on="email", items=items))
        except Exception as exc:  # reported below, not lost in the thread
            failures.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(batch,)) for batch in batches]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    assert [r.errors for r in results] == [[]] * threads_count
    for result in results:
        assert result.created + result.updated == per_thread
        assert None not in result.outcomes
    assert sum(r.created for r in results) == 600
    assert Contact.objects.filter(workspace=workspace).count() == 600
    assert Tag.objects.filter(workspace=workspace).count() == 1
    assert ContactTag.objects.filter(contact__workspace=workspace).count() == 600


def test_a_new_contact_made_by_another_transaction_after_the_checks_is_merged(
    workspace, monkeypatch
):
    """A chunk the checks found nowhere is written by a plain INSERT; when another
    transaction made one of its contacts meanwhile, the chunk is merged instead."""
    ContactFactory(workspace=workspace, email="made@example.com", city="Rome")
    monkeypatch.setattr(writer._Writer, "_stored", lambda self, *args: {})  # checked too early
    result = write(
        workspace,
        [
            {"email": "MADE@example.com", "city": "Oslo"},
            {"email": "new@example.com", "city": "Lima"},
        ],
    )
    assert result.errors == []
    assert result.outcomes == ["updated", "created"]
    assert contact(workspace, "made@example.com").city == "Oslo"
    assert Contact.objects.filter(workspace=workspace).count() == 2


def after_the_checks(monkeypatch, change) -> None:
    """`change` runs right after the writer read the stored contacts, as another
    transaction's write would land between the checks and the statement."""
    checked = writer._Writer._stored

    def stored_then_changed(self, *args):
        found = checked(self, *args)
        change()
        return found

    monkeypatch.setattr(writer._Writer, "_stored", stored_then_changed)


def test_a_contact_deleted_after_the_checks_is_made_again(workspace, monkeypatch):
    """Contacts the checks found are updated by id; one deleted meanwhile is made
    again under its key, as the upsert by key always did."""
    gone = ContactFactory(workspace=workspace, email="gone@example.com", city="Rome")
    ContactFactory(workspace=workspace, email="kept@example.com", city="Rome")
    after_the_checks(monkeypatch, lambda: Contact.objects.filter(pk=gone.pk).delete())
    result = write(
        workspace,
        [
            {"email": "gone@example.com", "city": "Oslo"},
            {"email": "kept@example.com", "city": "Lima"},
        ],
    )
    assert result.errors == []
    assert result.outcomes == ["created", "updated"]
    assert contact(workspace, "gone@example.com").city == "Oslo"
    assert contact(workspace, "kept@example.com").city == "Lima"


def test_a_key_changed_after_the_checks_is_written_under_the_key_given(workspace, monkeypatch):
    moved = ContactFactory(workspace=workspace, email="old@example.com", city="Rome")
    after_the_checks(
        monkeypatch,
        lambda: Contact.objects.filter(pk=moved.pk).update(email="elsewhere@example.com"),
    )
    result = write(workspace, [{"email": "old@example.com", "city": "Oslo"}])
    assert result.errors == []
    assert result.outcomes == ["created"]
    assert contact(workspace, "old@example.com").city == "Oslo"
    assert contact(workspace, "elsewhere@example.com").city == "Rome"  # left alone
