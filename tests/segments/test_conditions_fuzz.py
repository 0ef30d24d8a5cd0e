"""Hypothesis fuzzing of the conditions JSON (issue 24): valid rules (rulegen) with
one node replaced by junk, and junk alone (any JSON: unknown keys, wrong types,
huge numbers, NaN, NUL, deep lists). The validator either accepts a rule, which then
compiles and counts, or refuses it with a RuleError naming where; the API's preview
answers 200 or a JSON 400, never a 500. (test_agreement.py checks what valid rules
select; test_api_fuzz.py fuzzes every route from the schema.)"""

import json
import random

import pytest
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from contacts.models import Contact
from segments import rules
from segments import services as segment_services
from segments.conditions.base import RuleError
from segments.query import compile_rule, load_catalog
from tests.api_helpers import error_code
from tests.factories import ContactFactory
from tests.segments import rulegen

pytestmark = pytest.mark.django_db
pytest_plugins = ["tests.api_fixtures"]  # fixtures: api_key, api

NOW = timezone.now().replace(microsecond=0)
KEYS = [
    "all", "any", "not", "field", "op", "value", "tag", "event", "device", "segment",
    "campaign", "activity", "within", "count", "version", "property", "properties",
]  # fmt: skip
WORDS = ["eq", "in", "has", "gt", "between", "exists", "email", "score", "attributes.plan",
         "attributes.", "vip", "*", "7d", "-1", "1e309", "\x00", "ünï"]  # fmt: skip
SETTINGS = settings(
    deadline=None,
    database=None,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.filter_too_much,
    ],
)

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(),
    st.text(max_size=12),
    st.sampled_from(WORDS),
)
junk = st.recursive(
    scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.dictionaries(
            st.one_of(st.sampled_from(KEYS), st.text(max_size=6)), children, max_size=4
        ),
    ),  # fmt: skip
    max_leaves=20,
)


def spoil(doc, replacement, rng: random.Random):
    """`doc` with one node or value, picked at random, replaced."""
    doc = json.loads(json.dumps(doc))
    spots = []

    def walk(node):
        items = node.items() if isinstance(node, dict) else enumerate(node)
        for key, child in list(items):
            spots.append((node, key))
            if isinstance(child, dict | list):
                walk(child)

    walk(doc)
    if not spots:
        return replacement
    parent, key = rng.choice(spots)
    parent[key] = replacement
    return doc


def documents(segment_ids, campaign_ids):
    valid = rulegen.rules(NOW, segment_ids, campaign_ids)
    return st.one_of(
        st.builds(spoil, valid, junk, st.randoms(use_true_random=False)),
        junk,
        st.dictionaries(st.sampled_from(["all", "any"]), junk, min_size=1, max_size=1),
    )


@pytest.fixture
def targets(workspace):
    segment = segment_services.segment_create(workspace=workspace, name="VIP", kind="manual")
    ContactFactory(workspace=workspace, email="ann@example.com", country="DE", score=12)
    return [segment.pk], [0]


def test_the_validator_accepts_or_names_what_is_wrong(workspace, targets):
    segment_ids, campaign_ids = targets
    outcomes = set()

    @given(documents(segment_ids, campaign_ids))
    @SETTINGS
    def check(doc):
        try:
            rules.validate(doc, workspace.pk)
        except RuleError as exc:
            assert str(exc)  # a message for a person
            outcomes.add("refused")
            return
        query = compile_rule(doc, catalog=load_catalog(workspace.pk), now=NOW)
        Contact.objects.filter(workspace=workspace).filter(query).count()
        outcomes.add("accepted")

    check()
    assert "refused" in outcomes  # the junk was seen as junk


def test_the_api_preview_answers_200_or_a_json_400(api, workspace, targets):
    segment_ids, campaign_ids = targets

    @given(documents(segment_ids, campaign_ids))
    @SETTINGS
    def check(doc):
        body = json.dumps({"conditions": doc})  # NaN and Infinity as Python writes them
        answer = api.post("/segments/preview", raw=body)
        assert answer.status_code in (200, 400), (answer.status_code, answer.content[:300])
        if answer.status_code == 400:
            assert error_code(answer) in ("invalid", "invalid_conditions")

    check()
