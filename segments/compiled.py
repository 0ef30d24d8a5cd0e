"""A rule compiled once to SQL text, and reused while nothing it depends on changed.

Compiling a rule (query.compile_rule, then Django's SQL compiler) costs about 10 ms
of Python; a contact changed under 200 rules paid it 200 times (2 s of 4-6 s at
100,000 contacts). The SQL of a rule is a pure function of:
- the rule's conditions (its JSON),
- the names it resolved in the workspace's vocabulary (an attribute's key and type,
  a tag's id), recorded while compiling and compared on every use, so a renamed,
  retyped, deleted or recreated attribute or tag compiles it again,
- the registered kinds and the database vendor,
- and, for rules whose truth moves with the clock (rules.reads(doc).time_based),
  `now`: those compile every time (their parameters hold it).
So a cached compile is never stale, whichever segment holds the rule and whenever it
changed: the key holds everything the text depends on.

`rule_sql` returns a boolean SQL expression over the row of the contacts table named
as itself ("contacts_contact"), TRUE or FALSE, never NULL (query.py), with its
parameters: the statements of membership.py put it where they need it.
"""

import json
import threading
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from django.core.exceptions import EmptyResultSet, FullResultSet
from django.db import connection

from contacts.models import Contact
from segments import rules
from segments.conditions import Vocabulary, registry
from segments.query import compile_rule

CONTACT_TABLE = Contact._meta.db_table
MAX_RULES = 4096  # compiled rules kept per process (a few kB each)
_MISSING = object()
_cache: "OrderedDict[tuple, CompiledRule]" = OrderedDict()
_lock = threading.Lock()


@dataclass(frozen=True)
class CompiledRule:
    sql: str
    params: tuple
    # (vocabulary part, key) -> what it resolved to when compiled (_MISSING: nothing)
    resolved: tuple = ()


class Uncacheable(Exception):
    """The compile read the vocabulary in a way that cannot be checked key by key."""


class _RecordingPart(Mapping):
    """A part of the vocabulary (a dict) that remembers each key looked up."""

    def __init__(self, name: str, part: dict, used: dict):
        self._name, self._part, self._used = name, part, used

    def __getitem__(self, key):
        self._used[(self._name, key)] = self._part.get(key, _MISSING)
        return self._part[key]

    def __contains__(self, key):
        self._used[(self._name, key)] = self._part.get(key, _MISSING)
        return key in self._part

    def get(self, key, default=None):
        self._used[(self._name, key)] = self._part.get(key, _MISSING)
        return self._part.get(key, default)

    def __iter__(self):  # reading the whole part: no key-by-key check possible
        self._used[(self._name, Uncacheable)] = _MISSING
        return iter(self._part)

    def __len__(self):
        self._used[(self._name, Uncacheable)] = _MISSING
        return len(self._part)


class _RecordingVocabulary:
    """The vocabulary as compile_rule sees it, recording what it resolves."""

    def __init__(self, vocabulary: Vocabulary):
        self._vocabulary = vocabulary
        self.used: dict = {}

    def __getattr__(self, name: str):
        part = getattr(self._vocabulary, name)
        if isinstance(part, dict):
            return _RecordingPart(name, part, self.used)
        self.used[(name, Uncacheable)] = _MISSING
        return part


def _still_resolves(rule: CompiledRule, vocabulary: Vocabulary) -> bool:
    return all(
        getattr(vocabulary, part).get(key, _MISSING) == value
        for (part, key), value in rule.resolved
    )


def _key(doc: dict, workspace_id: int) -> tuple:
    return (
        connection.vendor,
        workspace_id,
        tuple(registry.names()),
        json.dumps(doc, sort_keys=True, default=str),
    )


def rule_sql(doc: dict, *, vocabulary: Vocabulary, now: datetime) -> CompiledRule:
    """The rule as a boolean SQL expression over "contacts_contact" (see above)."""
    if rules.reads(doc).time_based:
        return _compile(doc, vocabulary, now)
    key = _key(doc, vocabulary.workspace_id)
    with _lock:
        hit = _cache.get(key)
        if hit is not None:
            _cache.move_to_end(key)
    if hit is not None and _still_resolves(hit, vocabulary):
        return hit
    compiled = _compile(doc, vocabulary, now)
    if all(key_ is not Uncacheable for _part, key_ in compiled.resolved):
        with _lock:
            _cache[key] = compiled
            while len(_cache) > MAX_RULES:
                _cache.popitem(last=False)
    return compiled


def forget() -> None:
    """Drop every cached compile (tests that count compiles start from nothing)."""
    with _lock:
        _cache.clear()


def _compile(doc: dict, vocabulary: Vocabulary, now: datetime) -> CompiledRule:
    recording = _RecordingVocabulary(vocabulary)
    query = Contact.objects.filter(compile_rule(doc, catalog=recording, now=now)).query
    try:
        sql, params = query.get_compiler(connection=connection).compile(query.where)
    except EmptyResultSet:
        sql, params = "1 = 0", ()
    except FullResultSet:
        sql, params = "1 = 1", ()
    # Every kind compiles to columns of the contact and subqueries; a join would be
    # lost with the FROM clause left behind.
    assert set(query.alias_map) <= {CONTACT_TABLE}, f"a rule joined {set(query.alias_map)}"
    return CompiledRule(f"({sql})", tuple(params), tuple(recording.used.items()))
