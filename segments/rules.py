"""The rule language of filter segments (conditions.md): validation and what a rule
reads, walking groups and handing each condition to its kind (segments.conditions).

Validation speaks to marketers: every error names the place of the bad node as a
JSON path (`all[2].any[0]`) and says what is wrong in plain words. The walker checks
what no single condition can: the root, nesting depth, the number of conditions,
keys that belong to no kind, and that a rule does not make its segment depend on
itself. `check` is pure given a Vocabulary built from dicts (tested without a
database); `validate` reads the workspace's.
"""

from segments.conditions import LANGUAGE_KINDS, Reads, RuleError, Vocabulary, registry
from segments.conditions.base import group_parts, is_group, join
from segments.conditions.field import field_type
from segments.conditions.segment import cycle_error
from segments.conditions.values import (
    BOOLEAN_OPS,
    DAYS_OPS,
    LIST_OPS,
    NEGATIVE_OPS,
    OPERATORS,
    PRESENCE_OPS,
    PROPERTY_OPS,
    TEXT_OPS,
)

MAX_DEPTH = 5
MAX_CONDITIONS = 100
ROOT_MESSAGE = 'A rule must be a group: {"all": [...]} or {"any": [...]}.'

__all__ = [
    "BOOLEAN_OPS",
    "DAYS_OPS",
    "LIST_OPS",
    "MAX_CONDITIONS",
    "MAX_DEPTH",
    "NEGATIVE_OPS",
    "OPERATORS",
    "PRESENCE_OPS",
    "PROPERTY_OPS",
    "TEXT_OPS",
    "Reads",
    "RuleError",
    "Vocabulary",
    "check",
    "condition_kind",
    "field_type",
    "group_parts",
    "is_group",
    "reads",
    "segment_refs",
    "validate",
    "walk_conditions",
]


def condition_kind(node: dict) -> str | None:
    """The name of the kind a condition has, or None unless it names exactly one."""
    named = registry.named_in(node) if isinstance(node, dict) else []
    return named[0] if len(named) == 1 else None


def walk_conditions(doc):
    """Every condition of a (valid) rule, depth first."""
    stack = [doc]
    while stack:
        node = stack.pop()
        if is_group(node):
            stack.extend(reversed(group_parts(node)[1]))
        else:
            yield node


# ---------------------------------------------------------------- validation


def validate(
    doc, workspace_id: int, *, segment_id: int | None = None, vocabulary: Vocabulary | None = None
) -> Vocabulary:
    """Check `doc` against the workspace's names; the vocabulary it read, for the next
    step (compiling the rule) to use again."""
    vocabulary = vocabulary or Vocabulary(workspace_id)
    check(doc, vocabulary, segment_id=segment_id)
    return vocabulary


def check(doc, vocabulary: Vocabulary, *, segment_id: int | None = None) -> None:
    """Raise RuleError for the first thing wrong with `doc`, the rule of the segment
    `segment_id` (None for a new one)."""
    if not isinstance(doc, dict):
        raise RuleError("", ROOT_MESSAGE)
    root = dict(doc)
    version = root.pop("version", 1)
    if version != 1 or isinstance(version, bool):
        raise RuleError("version", f"Unknown rule version {version!r}; only version 1 exists.")
    if not is_group(root):
        raise RuleError("", ROOT_MESSAGE)
    _check_group(root, "", 1, vocabulary, [0])
    if segment_id is not None:
        _check_cycles(root, vocabulary, segment_id)


def _check_group(node: dict, path: str, depth: int, vocabulary: Vocabulary, counter) -> None:
    if len(node) != 1:
        raise RuleError(path, 'A group holds either "all" or "any", and nothing else.')
    kind, children = group_parts(node)
    if depth > MAX_DEPTH:
        raise RuleError(path, f"Groups nest at most {MAX_DEPTH} levels deep.")
    if not isinstance(children, list) or not children:
        raise RuleError(join(path, kind), "A group needs at least one condition.")
    for index, child in enumerate(children):
        child_path = join(path, f"{kind}[{index}]")
        if is_group(child):
            _check_group(child, child_path, depth + 1, vocabulary, counter)
        else:
            counter[0] += 1
            if counter[0] > MAX_CONDITIONS:
                raise RuleError(child_path, f"A rule holds at most {MAX_CONDITIONS} conditions.")
            _check_condition(child, child_path, vocabulary)


def _check_condition(node, path: str, vocabulary: Vocabulary) -> None:
    if not isinstance(node, dict):
        raise RuleError(path, "Each item of a group must be a condition or a group.")
    named = registry.named_in(node)
    if len(named) != 1:
        kinds = [k for k in LANGUAGE_KINDS if k in registry] + [
            k for k in registry.names() if k not in LANGUAGE_KINDS
        ]
        raise RuleError(path, f"A condition names one of: {', '.join(kinds[:-1])} or {kinds[-1]}.")
    kind = registry.of(node)
    extra = set(node) - set(kind.keys or node)
    if extra:
        raise RuleError(path, f"Unexpected key '{sorted(extra)[0]}' in a {kind.name} condition.")
    kind.check(node, path, vocabulary)


def _check_cycles(root: dict, vocabulary: Vocabulary, self_id: int) -> None:
    """A rule may not make its segment depend on itself through other segments."""
    for path, node in _segment_refs_with_paths(root):
        seen, stack = set(), [node["segment"]]
        while stack:
            current = stack.pop()
            if current == self_id:
                raise cycle_error(path, node["segment"], self_id, vocabulary)
            if current not in seen:
                seen.add(current)
                stack.extend(vocabulary.dependencies.get(current, ()))


def _segment_refs_with_paths(node, path=""):
    if is_group(node):
        kind, children = group_parts(node)
        for index, child in enumerate(children):
            yield from _segment_refs_with_paths(child, join(path, f"{kind}[{index}]"))
    elif condition_kind(node) == "segment":
        yield path, node


# ---------------------------------------------------------------- what a rule reads


def reads(doc) -> Reads:
    result = Reads()
    for node in walk_conditions(doc):
        kind = registry.of(node)
        result.kinds.add(kind.name)
        kind.reads(node, result)
    return result


def segment_refs(doc) -> set[int]:
    return reads(doc).segments if doc else set()
