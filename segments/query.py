"""A rule (conditions.md) compiled to one SQL query: a Q over contacts, the groups
combined here and each condition compiled by its kind (segments.conditions), with
EXISTS and counting subqueries for tags, events, devices, segment membership and
campaign activity. `segments/evaluator.py` is the same rule in plain Python; the two
are tested against each other on random rules (tests/segments/test_agreement.py).

Every condition compiles to a predicate that is TRUE or FALSE, never NULL, so
groups and the negative operators behave as conditions.md says: `neq`,
`not_contains` and `not_in` also match a missing value; every other operator never
matches one.
"""

import json
from datetime import datetime

from django.db.models import F, Lookup, Q
from django.utils import timezone

from segments.conditions import Context, Vocabulary, registry
from segments.conditions.base import EVERYTHING, NOTHING, group_parts, is_group

# What a rule's names mean in one workspace: the vocabulary (kept under its old name
# for the engine's signatures).
Catalog = Vocabulary

__all__ = [
    "EVERYTHING",
    "NOTHING",
    "Catalog",
    "compile_rule",
    "ids_in",
    "ids_sql",
    "load_catalog",
]


def load_catalog(workspace_id: int) -> Vocabulary:
    """The workspace's vocabulary with what compiling reads (attributes and tags)
    loaded now, once for all the rules of a pass."""
    return Vocabulary(workspace_id).preload("attributes", "tags")


def compile_rule(
    doc: dict, *, catalog: Vocabulary, now: datetime | None = None, whole: bool = False
) -> Q:
    """The Q selecting the contacts that satisfy `doc` (a validated rule); `whole`
    when it is evaluated over the whole workspace at once (base.Context)."""
    return _node(doc, Context(now=now or timezone.now(), vocabulary=catalog, whole=whole))


def _node(node: dict, ctx: Context) -> Q:
    if not is_group(node):
        return registry.of(node).q(node, ctx)
    group, children = group_parts(node)
    # A kind may compile its conditions of one group together (tags: one subquery).
    by_kind: dict[str, list] = {}
    for child in children:
        if not is_group(child):
            by_kind.setdefault(registry.of(child).name, []).append(child)
    parts: list[Q] = []
    for conditions in by_kind.values():
        combined = registry.of(conditions[0]).combine(conditions, group, ctx)
        if combined is not None:
            parts += combined
            children = [c for c in children if all(c is not d for d in conditions)]
    parts += [_node(c, ctx) for c in children]
    combined_q = parts[0]
    for part in parts[1:]:
        combined_q = (combined_q & part) if group == "all" else (combined_q | part)
    return combined_q


class InIds(Lookup):
    """`column IN ids` with the ids as ONE parameter, however many there are: an array
    on PostgreSQL (`= ANY(%s::bigint[])`), a JSON list read by json_each on SQLite.
    (Thousands of placeholders cost more to send and plan than the query itself.)
    Used as an expression: `queryset.filter(InIds(F("pk"), ids))`."""

    lookup_name = "in_ids"
    prepare_rhs = False

    def get_prep_lookup(self):
        return [int(pk) for pk in self.rhs]

    def as_sql(self, compiler, connection):
        lhs, lhs_params = self.process_lhs(compiler, connection)
        sql, params = ids_sql(lhs, self.rhs, connection.vendor)
        return sql, [*lhs_params, *params]


def ids_sql(column: str, ids: list[int], vendor: str) -> tuple[str, list]:
    """`column IN ids` as SQL text with the ids as one parameter (see InIds)."""
    if vendor == "postgresql":
        return f"{column} = ANY(%s::bigint[])", [list(ids)]
    return f"{column} IN (SELECT value FROM json_each(%s))", [json.dumps(list(ids))]


def ids_in(name: str, ids) -> InIds:
    """The condition "`name` is one of `ids`", as one parameter (see InIds)."""
    return InIds(F(name), list(ids))
