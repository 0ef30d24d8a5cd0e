"""The frame every kind of condition fits in: the Kind interface, the registry, the
workspace's vocabulary, and what a rule reads.

- A kind (conditions.md: field, tag, event, device, segment, campaign) is one object
  holding everything about it: its check, its SQL, its Python evaluation, what it
  reads, its words for a marketer and its builder menu. The walkers (segments/rules.py,
  query.py, evaluator.py, builder.py) handle groups and limits and hand each condition
  to its kind, so a new kind or option touches its own module and nothing else.
- Kinds register into one registry, the way Django registers lookups: segments
  registers its own on import, a higher app registers its kind from its AppConfig
  (campaigns: campaign activity), so segments imports nothing of the apps above it.
- The vocabulary is the workspace's names (attributes and their types, tags,
  segments, campaigns...) as one object, each part read from the database at most
  once and only when something asks for it: a request or a task makes one and hands
  it to every step.
"""

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar

from django.db.models import BooleanField, Q
from django.db.models.expressions import RawSQL

# The kinds conditions.md defines. A condition naming one that no app registered
# (campaign activity without the campaigns app) is invalid, with a message saying so.
LANGUAGE_KINDS = ("field", "tag", "event", "device", "segment", "campaign")

# Plain SQL truths: an empty IN would make Django drop the whole query as empty,
# which raw INSERT ... SELECT statements built from it cannot take.
NOTHING = Q(RawSQL("1 = 0", [], output_field=BooleanField()))
EVERYTHING = Q(RawSQL("1 = 1", [], output_field=BooleanField()))


class RuleError(ValueError):
    """What is wrong with a rule, at `path` (`all[2].any[0]`).

    `message` names things as the JSON does ('gt'), for whoever wrote the JSON (the
    API, the JSON textarea); `words` says the same with the builder's words ("is
    greater than"), for the builder. They differ only where an operator is named."""

    def __init__(self, path: str, message: str, words: str | None = None):
        super().__init__(f"{path}: {message}" if path else message)
        self.path = path
        self.message = message
        self.words = words or message


@dataclass
class Reads:
    """What a rule looks at, so a change to anything else cannot change its members."""

    fields: set[str] = field(default_factory=set)
    tags: bool = False
    event_names: set[str] = field(default_factory=set)
    devices: bool = False
    segments: set[int] = field(default_factory=set)
    time_based: bool = False
    kinds: set[str] = field(default_factory=set)  # the kinds of its conditions

    @property
    def campaigns(self) -> bool:
        return "campaign" in self.kinds


class Vocabulary:
    """A workspace's names as rules use them. Each part (`vocabulary.attributes`,
    `.tags`, `.segments`...) is loaded by the loader its kind registered, on first
    use, once; parts given to the constructor are taken as they are (tests, and
    rules checked without a database)."""

    _loaders: ClassVar[dict[str, tuple[Callable[[int], Any], Callable[[], Any]]]] = {}

    def __init__(self, workspace_id: int | None = None, **parts):
        self.workspace_id = workspace_id
        self._parts = dict(parts)

    @classmethod
    def register_part(
        cls, name: str, loader: Callable[[int], Any], empty: Callable[[], Any] = dict
    ) -> None:
        cls._loaders[name] = (loader, empty)

    def __getattr__(self, name: str):
        if name.startswith("_") or name not in self._loaders:
            raise AttributeError(name)
        if name not in self._parts:
            loader, empty = self._loaders[name]
            self._parts[name] = empty() if self.workspace_id is None else loader(self.workspace_id)
        return self._parts[name]

    def preload(self, *names: str) -> "Vocabulary":
        for name in names:
            getattr(self, name)
        return self


@dataclass(frozen=True)
class Context:
    """What compiling or evaluating a rule needs beside the rule: the moment it is
    evaluated at and the workspace's vocabulary."""

    now: datetime
    vocabulary: Vocabulary
    # The rule is evaluated over the whole workspace (a preview, a check), not for a
    # batch of contacts: a kind may read its table once instead of once per contact.
    whole: bool = False


@dataclass
class Verdict:
    """A condition evaluated for one contact: whether it holds, and what the contact
    has that decided it ("the contact's value: 'FR'")."""

    result: bool
    actual: str = ""


class Kind:
    """One kind of condition. Subclasses set the class attributes and implement the
    methods; `name` is the key that names the kind in a condition."""

    name: str = ""
    keys: tuple[str, ...] = ()  # every key a condition may hold, in the contract's order
    required: tuple[str, ...] = ()  # the keys the builder always writes

    # ---- validation
    def check(self, node: dict, path: str, vocabulary: Vocabulary) -> None:
        raise NotImplementedError

    # ---- what a rule reads (membership skips rules a change cannot affect)
    def reads(self, node: dict, into: Reads) -> None:
        pass

    # ---- SQL: a Q over contacts, TRUE or FALSE, never NULL
    def q(self, node: dict, ctx: Context) -> Q:
        raise NotImplementedError

    def combine(self, conditions: list[dict], group: str, ctx: Context) -> list[Q] | None:
        """The conditions of this kind in one group ("all" or "any"), compiled together
        (fewer subqueries), or None to compile them one by one."""
        return None

    # ---- Python: the same rule for one contact
    def facts(self, contact, reads: Reads | None) -> Any:
        """What `evaluate` needs to know about one contact (a query or two at most).
        With `reads`, only what the rule reads."""
        return None

    def evaluate(self, node: dict, facts: Any, ctx: Context) -> Verdict:
        raise NotImplementedError

    # ---- words
    def words(self, node: dict, vocabulary: Vocabulary) -> str:
        raise NotImplementedError

    # ---- the builder
    def menu(self, workspace, vocabulary: Vocabulary, *, segment=None) -> dict:
        """This kind's part of the builder's catalog: `categories` (what the "Condition
        type" menu offers, each with its controls and the condition a new one starts
        as) and any lists the controls draw from."""
        return {}

    def spec(self) -> dict:
        return {"keys": list(self.keys), "required": list(self.required)}


class Unavailable(Kind):
    """A kind conditions.md defines but no installed app registered: a rule naming it
    is invalid, and one stored before matches nobody rather than failing."""

    def __init__(self, name: str):
        self.name = name

    def check(self, node, path, vocabulary):
        raise RuleError(
            path,
            f"'{self.name}' conditions are not available here: no installed app provides them.",
        )

    def q(self, node, ctx):
        return NOTHING

    def evaluate(self, node, facts, ctx):
        return Verdict(False, "not available here")

    def words(self, node, vocabulary):
        return f"A {self.name} condition"


class Registry:
    def __init__(self):
        self._kinds: dict[str, Kind] = {}

    def register(self, kind: Kind) -> Kind:
        self._kinds[kind.name] = kind
        return kind

    def unregister(self, name: str) -> Kind | None:
        return self._kinds.pop(name, None)

    @contextmanager
    def without(self, name: str) -> Iterator[None]:
        """For tests: as if no app had registered the kind."""
        kind = self.unregister(name)
        try:
            yield
        finally:
            if kind is not None:
                self._kinds[name] = kind

    def __iter__(self) -> Iterator[Kind]:
        return iter(list(self._kinds.values()))

    def __contains__(self, name: str) -> bool:
        return name in self._kinds

    def get(self, name: str) -> Kind:
        return self._kinds[name]

    def names(self) -> list[str]:
        return list(self._kinds)

    def named_in(self, node: dict) -> list[str]:
        """The kinds (registered, or defined by conditions.md) a condition names."""
        known = [*self._kinds, *(k for k in LANGUAGE_KINDS if k not in self._kinds)]
        return [name for name in known if name in node]

    def of(self, node: dict) -> Kind:
        """The kind of a condition that names one."""
        name = self.named_in(node)[0]
        return self._kinds.get(name) or Unavailable(name)


registry = Registry()


# ---------------------------------------------------------------- rule structure


def is_group(node) -> bool:
    return isinstance(node, dict) and ("all" in node or "any" in node)


def group_parts(node: dict) -> tuple[str, list]:
    kind = "all" if "all" in node else "any"
    return kind, node[kind]


def join(path: str, part: str) -> str:
    return f"{path}.{part}" if path else part


def one_of(value, choices) -> bool:
    """`value in choices`, false (not a TypeError) for a list or a dict."""
    return isinstance(value, str | int) and not isinstance(value, bool) and value in choices


def either(items) -> str:
    """ "a, b or c"."""
    items = list(items)
    return items[0] if len(items) == 1 else f"{', '.join(items[:-1])} or {items[-1]}"


def check_op(node: dict, path: str, kind: str, choices: dict[str, str]) -> None:
    """The condition's `op` is one of `choices` (value: the builder's label)."""
    if one_of(node.get("op"), choices):
        return
    article = "An" if kind[0] in "aeiou" else "A"
    raise RuleError(
        path,
        f"{article} {kind} condition's operator is {either(quoted(v) for v in choices)}.",
        f"{article} {kind} condition says {either(curly(label) for label in choices.values())}.",
    )


def options(choices: dict) -> list[dict]:
    """A menu's options from {value: label}."""
    return [{"value": value, "label": label} for value, label in choices.items()]


def choice(key: str, label: str, choices, *, role: str = "", **extra) -> dict:
    """A builder control: a menu for `key` of the condition; `choices` is {value: label}
    or a list of options ({"value", "label"})."""
    items = options(choices) if isinstance(choices, dict) else list(choices)
    control = {"type": "choice", "key": key, "label": label, "role": role or key}
    return {**control, "options": items, **extra}


def category(value: str, label: str, kind: str, controls: list, new: dict, **extra) -> dict:
    """An entry of the builder's "Condition type" menu: its controls, in order, and the
    condition a new one starts as."""
    return {"value": value, "label": label, "kind": kind, "controls": controls, "new": new, **extra}


def quoted(op) -> str:
    return f"'{op}'"


def curly(text) -> str:
    return f"\u201c{text}\u201d"


def times(n: int) -> str:
    return f"{n} time" if n == 1 else f"{n:,} times"
