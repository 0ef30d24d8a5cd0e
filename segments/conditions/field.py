"""Contact field conditions: `{"field": F, "op": OP, "value": V}` over a built-in field
or a custom attribute (`attributes.KEY`), with the operators of its type
(segments.conditions.values).

A custom attribute deleted since a rule was saved reads as missing on everyone (a
text attribute that nobody has), so old rules keep working until they are edited.
"""

from typing import NamedTuple

from django.db.models import F, Q
from django.db.models.lookups import IsNull

from contacts.models import BUILTIN_FIELD_TYPES, CustomAttribute
from contacts.models import field_label as builtin_label
from segments.conditions import values
from segments.conditions.base import Context, Kind, Reads, RuleError, Verdict, Vocabulary
from segments.jsonsql import JsonBool, JsonMissing, JsonNumber, JsonText

# The contact's own fields, in the order a person scans them, as the model names them
# (its verbose_name, the label every page uses).
BUILTIN_ORDER = (
    "email",
    "first_name",
    "last_name",
    "phone",
    "company",
    "country",
    "state",
    "city",
    "language",
    "external_id",
    "score",
    "created_at",
    "updated_at",
    "last_activity_at",
)
BUILTIN_LABELS = {name: builtin_label(name) for name in BUILTIN_ORDER}
ATTRIBUTE_PREFIX = "attributes."


class Attribute(NamedTuple):
    key: str
    type: str
    label: str = ""


def load_attributes(workspace_id: int) -> dict[str, Attribute]:
    """The workspace's custom attributes by lower-cased key."""
    rows = CustomAttribute.objects.filter(workspace_id=workspace_id).order_by("key")
    return {
        key.lower(): Attribute(key, kind, label)
        for key, kind, label in rows.values_list("key", "type", "label")
    }


Vocabulary.register_part("attributes", load_attributes)


def field_type(name: str, vocabulary: Vocabulary) -> tuple[str, str] | None:
    """(canonical name, type) of a field, or None when the workspace has no such field."""
    if name in BUILTIN_FIELD_TYPES:
        return name, BUILTIN_FIELD_TYPES[name]
    if name.startswith(ATTRIBUTE_PREFIX):
        found = vocabulary.attributes.get(name.split(".", 1)[1].lower())
        if found:
            return f"{ATTRIBUTE_PREFIX}{found.key}", found.type
    return None


def _attribute(name: str, vocabulary: Vocabulary) -> Attribute:
    key = name.split(".", 1)[1]
    return vocabulary.attributes.get(key.lower(), Attribute(key, "text"))


def field_label(name: str, vocabulary: Vocabulary) -> str:
    if name in BUILTIN_LABELS:
        return BUILTIN_LABELS[name]
    attribute = _attribute(name, vocabulary)
    text = attribute.label or attribute.key
    return text[:1].upper() + text[1:]


class FieldKind(Kind):
    name = "field"
    keys = ("field", "op", "value")
    required = ("field", "op")

    def check(self, node, path, vocabulary):
        name = node["field"]
        if not isinstance(name, str):
            raise RuleError(path, "'field' must be a field name.")
        found = field_type(name, vocabulary)
        if found is None:
            raise RuleError(path, f"Unknown field '{name}'.")
        values.check_operator(node, path, found[1])

    def reads(self, node, into: Reads):
        into.fields.add(node["field"].lower())
        into.time_based |= node["op"] in values.DAYS_OPS

    def _typed(self, name: str, vocabulary: Vocabulary) -> tuple[str, str]:
        """(key or column, type); an attribute the workspace no longer has is text."""
        if name.startswith(ATTRIBUTE_PREFIX):
            attribute = _attribute(name, vocabulary)
            return attribute.key, attribute.type
        return name, BUILTIN_FIELD_TYPES[name]

    def q(self, node, ctx: Context) -> Q:
        name, op, value = node["field"], node["op"], node.get("value")
        key, kind = self._typed(name, ctx.vocabulary)
        if name.startswith(ATTRIBUTE_PREFIX):
            missing = Q(JsonMissing("attributes", key))
            if kind == "number":
                return values.number_q(JsonNumber("attributes", key), op, value, missing)
            if kind == "boolean":
                return values.boolean_q(JsonBool("attributes", key), op, missing)
            target = JsonText("attributes", key)
            if kind == "date":
                return values.moment_q(target, op, value, ctx.now, missing, as_text=True)
            return values.text_q(target, op, value, missing)
        column = F(key)
        if kind == "text":
            return values.text_q(column, op, value, values.blank(column))
        missing = Q(IsNull(column, True))
        if kind == "number":
            return values.number_q(column, op, value, missing)
        return values.moment_q(column, op, value, ctx.now, missing, as_text=False)

    def facts(self, contact, reads):
        return {
            "fields": {name: getattr(contact, name) for name in BUILTIN_FIELD_TYPES},
            "attributes": dict(contact.attributes or {}),
        }

    def evaluate(self, node, facts, ctx: Context) -> Verdict:
        name = node["field"]
        key, kind = self._typed(name, ctx.vocabulary)
        if name.startswith(ATTRIBUTE_PREFIX):
            actual = facts["attributes"].get(key)
        else:
            actual = facts["fields"].get(name)
        result = values.compare(kind, node["op"], node.get("value"), actual, ctx.now)
        return Verdict(result, f"the contact's value: {values.shown(actual)}")

    def words(self, node, vocabulary):
        name = node["field"]
        kind = self._typed(name, vocabulary)[1]
        phrase = values.phrase(kind, node["op"], node.get("value"))
        return f"{field_label(name, vocabulary)} {phrase}"

    def menu(self, workspace, vocabulary, *, segment=None):
        return {
            "categories": [
                {
                    "value": "field",
                    "label": "Contact field",
                    "kind": "field",
                    "controls": [{"type": "field"}],
                    "new": {"field": "email", "op": "eq", "value": ""},
                    "notes": [
                        {
                            "when": {"op": sorted(values.NEGATIVE_OPS)},
                            "text": "Also matches contacts with no {field}.",
                        }
                    ],
                }
            ],
            "fields": field_list(vocabulary),
            "operators": {kind: values.menu(kind) for kind in values.TYPES},
            "negative_operators": sorted(values.NEGATIVE_OPS),
        }


def field_list(vocabulary: Vocabulary) -> list[dict]:
    builtin = [
        {
            "value": name,
            "label": label,
            "type": BUILTIN_FIELD_TYPES[name],
            "group": "Contact fields",
        }
        for name, label in BUILTIN_LABELS.items()
    ]
    custom = [
        {
            "value": f"{ATTRIBUTE_PREFIX}{attribute.key}",
            "label": attribute.label or attribute.key,
            "type": attribute.type,
            "group": "Custom attributes",
        }
        for attribute in sorted(
            vocabulary.attributes.values(), key=lambda a: (a.key.lower(), a.key)
        )
    ]
    return builtin + custom
