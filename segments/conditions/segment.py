"""Segment membership conditions: `{"segment": ID, "op": "in" | "not_in"}`, membership
in another segment of the same workspace, manual or filter, as stored. Rules name
segments by id; what a marketer reads names them by name. (That a rule may not make
its segment depend on itself is the walker's check: segments/rules.py.)"""

from typing import NamedTuple

from django.db.models import Exists, OuterRef, Q

from segments.conditions import base
from segments.conditions.base import Kind, RuleError, Verdict, category, check_op, choice, curly
from segments.models import Segment, SegmentDependency, SegmentMember

IN_OPS = {"in": "is in", "not_in": "is not in"}
LIST_LIMIT = 1000


class SegmentName(NamedTuple):
    name: str
    kind: str = "manual"
    archived: bool = False


def load_segments(workspace_id: int) -> dict[int, SegmentName]:
    rows = Segment.objects.filter(workspace_id=workspace_id).values_list(
        "pk", "name", "kind", "archived"
    )
    return {pk: SegmentName(name, kind, archived) for pk, name, kind, archived in rows}


def load_dependencies(workspace_id: int) -> dict[int, set[int]]:
    """Segment id -> ids of the segments its rule names, for the segments that name any."""
    graph: dict[int, set[int]] = {}
    rows = SegmentDependency.objects.filter(segment__workspace_id=workspace_id).values_list(
        "segment_id", "depends_on_id"
    )
    for segment_id, depends_on_id in rows:
        graph.setdefault(segment_id, set()).add(depends_on_id)
    return graph


base.Vocabulary.register_part("segments", load_segments)
base.Vocabulary.register_part("dependencies", load_dependencies)


def segment_name(segment_id, vocabulary: base.Vocabulary) -> str:
    found = vocabulary.segments.get(segment_id)
    return found.name if found else f"segment {segment_id} (deleted)"


class SegmentKind(Kind):
    name = "segment"
    keys = ("segment", "op")
    required = keys

    def check(self, node, path, vocabulary):
        segment_id = node["segment"]
        if isinstance(segment_id, bool) or not isinstance(segment_id, int):
            raise RuleError(path, "'segment' needs a segment id.")
        if segment_id not in vocabulary.segments:
            raise RuleError(path, f"There is no segment {segment_id} in this workspace.")
        check_op(node, path, "segment", IN_OPS)

    def reads(self, node, into: base.Reads):
        into.segments.add(node["segment"])

    def q(self, node, ctx) -> Q:
        members = SegmentMember.objects.filter(contact=OuterRef("pk"), segment_id=node["segment"])
        inside = Q(Exists(members))
        return inside if node["op"] == "in" else ~inside

    def facts(self, contact, reads):
        return set(contact.memberships.values_list("segment_id", flat=True))

    def evaluate(self, node, facts, ctx):
        inside = node["segment"] in facts
        state = "the contact is" if inside else "the contact is not"
        return Verdict(inside == (node["op"] == "in"), state)

    def words(self, node, vocabulary):
        verb = "Is in" if node["op"] == "in" else "Is not in"
        return f"{verb} {segment_name(node['segment'], vocabulary)}"

    def menu(self, workspace, vocabulary, *, segment=None):
        choices = segment_choices(vocabulary, exclude=segment)
        named = {s["id"]: s["name"] + (" (archived)" if s["archived"] else "") for s in choices}
        controls = [
            choice("op", "In or not in", IN_OPS),
            choice(
                "segment",
                "Segment",
                named,
                empty="Choose a segment" if choices else "No other segment yet",
                unknown="Segment {}",
            ),
        ]
        new = {"segment": choices[0]["id"] if choices else None, "op": "in"}
        return {
            "categories": [category("segment", "Segment", "segment", controls, new)],
            "segments": choices,
        }


def segment_choices(vocabulary: base.Vocabulary, *, exclude=None) -> list[dict]:
    """The segments a rule may name (all but `exclude`, the one being edited): active
    ones first, by name."""
    rows = sorted(
        (
            (info.archived, info.name, pk, info.kind)
            for pk, info in vocabulary.segments.items()
            if exclude is None or pk != exclude.pk
        ),
    )
    return [
        {"id": pk, "name": name, "kind": kind, "archived": archived}
        for archived, name, pk, kind in rows[:LIST_LIMIT]
    ]


def cycle_error(path: str, named: int, self_id: int, vocabulary: base.Vocabulary) -> RuleError:
    """The rule of `self_id` names `named`, which already depends on `self_id`."""
    if named == self_id:
        message = f"{curly(segment_name(self_id, vocabulary))} cannot depend on itself."
        return RuleError(path, message)
    user, used = segment_name(named, vocabulary), segment_name(self_id, vocabulary)
    return RuleError(
        path,
        f"{curly(user)} already uses {curly(used)}, so {curly(used)} cannot use {curly(user)}: "
        "a segment cannot depend on itself.",
    )
