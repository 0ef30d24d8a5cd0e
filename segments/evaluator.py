"""A rule evaluated in plain Python for one contact, each condition by its kind
(segments.conditions).

Two uses: it explains "why is this contact in this segment", condition by condition,
in the words of the builder ("Country is DE") beside the contact's own values; and
it is the reference the SQL compiler (segments/query.py) is tested against on random
rules. Every kind keeps the two in step in its own module.
"""

from dataclasses import dataclass, field
from datetime import datetime

from contacts.models import Contact
from segments.conditions import Context, Reads, Vocabulary, registry
from segments.conditions.base import group_parts, is_group


@dataclass
class Snapshot:
    """Everything a rule can read about one contact: each kind's facts, by kind."""

    facts: dict = field(default_factory=dict)


@dataclass
class Explanation:
    text: str  # the condition in words, or the group's
    result: bool
    children: list["Explanation"] = field(default_factory=list)
    actual: str = ""  # what the contact has ("the contact's value: 'FR'")


def snapshot(contact: Contact, reads: Reads | None = None) -> Snapshot:
    """Load what rules read about `contact` (a handful of queries, for one contact).
    With `reads` (rules.reads of the rule), only what that rule reads."""
    kinds = [k for k in registry if reads is None or k.name in reads.kinds]
    return Snapshot({kind.name: kind.facts(contact, reads) for kind in kinds})


class Evaluator:
    def __init__(self, *, vocabulary: Vocabulary, now: datetime):
        self.ctx = Context(now=now, vocabulary=vocabulary)

    def matches(self, node: dict, snap: Snapshot) -> bool:
        if is_group(node):
            group, children = group_parts(node)
            test = all if group == "all" else any
            return test(self.matches(child, snap) for child in children)
        kind = registry.of(node)
        return kind.evaluate(node, snap.facts.get(kind.name), self.ctx).result

    def explain(self, node: dict, snap: Snapshot) -> Explanation:
        if is_group(node):
            group, children = group_parts(node)
            parts = [self.explain(child, snap) for child in children]
            result = (
                all(p.result for p in parts) if group == "all" else any(p.result for p in parts)
            )
            label = "All of these hold" if group == "all" else "At least one of these holds"
            return Explanation(label, result, parts)
        kind = registry.of(node)
        verdict = kind.evaluate(node, snap.facts.get(kind.name), self.ctx)
        words = kind.words(node, self.ctx.vocabulary)
        return Explanation(words, verdict.result, actual=verdict.actual)
