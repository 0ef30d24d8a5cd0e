"""Case-insensitive text rules (conditions.md) on country, city and language: `eq`,
`neq` and `in` compile to LOWER(column), the expression of contacts' LOWER() indexes,
so a rule on country = 'DE' can be answered from the index on PostgreSQL; and they
stay case-insensitive, for letters beyond ASCII too where the database folds them
(PostgreSQL; SQLite folds ASCII letters only, but a value always matches its own
spelling)."""

import pytest
from django.db import connection

from contacts.models import Contact
from segments.query import compile_rule, load_catalog
from tests.factories import WorkspaceFactory

pytestmark = pytest.mark.django_db
POSTGRES = connection.vendor == "postgresql"


@pytest.fixture
def ws():
    workspace = WorkspaceFactory()
    for name, country, city in [
        ("ann", "DE", "MÜNCHEN"),
        ("bob", "de", "münchen"),
        ("cid", "FR", "Paris"),
        ("dee", "", "Berlin"),
    ]:
        Contact.objects.create(
            workspace=workspace, email=f"{name}@example.com", country=country, city=city
        )
    return workspace


def matching(ws, field, op, value):
    rule = {"field": field, "op": op, "value": value}
    found = Contact.objects.filter(workspace=ws).filter(
        compile_rule(rule, catalog=load_catalog(ws.pk))
    )
    return found


def who(ws, field, op, value):
    return sorted(c.email.split("@")[0] for c in matching(ws, field, op, value))


def test_eq_neq_and_in_ignore_case(ws):
    assert who(ws, "country", "eq", "De") == ["ann", "bob"]
    assert who(ws, "country", "neq", "dE") == ["cid", "dee"]  # a missing value too
    assert who(ws, "country", "in", ["de", "FR", "DE"]) == ["ann", "bob", "cid"]
    assert who(ws, "country", "not_in", ["fr"]) == ["ann", "bob", "dee"]


def test_a_value_beyond_ascii_matches_its_own_spelling(ws):
    assert "ann" in who(ws, "city", "eq", "MÜNCHEN")
    assert "bob" in who(ws, "city", "in", ["münchen"])
    assert "ann" not in who(ws, "city", "neq", "MÜNCHEN")


@pytest.mark.skipif(not POSTGRES, reason="SQLite folds ASCII letters only")
def test_letters_beyond_ascii_fold_on_postgresql(ws):
    assert who(ws, "city", "eq", "München") == ["ann", "bob"]
    assert who(ws, "city", "in", ["MüNCHEN"]) == ["ann", "bob"]
    assert who(ws, "city", "neq", "münchen") == ["cid", "dee"]


@pytest.mark.skipif(not POSTGRES, reason="the plan of PostgreSQL's LOWER() indexes")
@pytest.mark.parametrize(
    ("field", "op", "value", "index"),
    [
        ("country", "eq", "DE", "contact_ws_country_ci"),
        ("city", "in", ["Paris", "Rome"], "contact_ws_city_ci"),
        ("language", "eq", "de", "contact_ws_language_ci"),
    ],
)
def test_the_rule_can_use_the_lower_index(ws, field, op, value, index):
    # A small table is read whole whatever its indexes; with sequential scans
    # priced out (and statistics to tell the indexes apart) the plan shows
    # whether the condition fits an index at all: UPPER(country) = UPPER('DE'), as
    # before, fitted none.
    Contact.objects.bulk_create(
        Contact(workspace=ws, country=f"C{i}", city=f"Town {i}", language=f"L{i}")
        for i in range(300)
    )
    found = matching(ws, field, op, value)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE contacts_contact")
        cursor.execute("SET LOCAL enable_seqscan = off")
        sql, params = found.query.sql_with_params()
        cursor.execute(f"EXPLAIN {sql}", params)
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert index in plan, plan
    assert f"lower(({field})::text)" in plan.split("Index Cond:")[1].split("\n")[0], plan
