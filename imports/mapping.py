"""Columns to fields, and cells to the values a contact stores.

- A header is matched to a field by its words, ignoring case, spaces and
  punctuation: "E-mail", "Email Address" and "email_address" are the email; "First
  Name", "Surname", "Mobile" their fields; a custom attribute by its key or label.
- A mapping is one entry per column: {"target": "email" | a built-in field |
  "attributes.KEY" | "tags" | "ignore", "new_type": None or the type of an attribute
  to create}. `RowReader` turns a row's cells into the item contacts.writer takes,
  or into the reason the row is rejected, whole.
- Cells are checked with the rules of contacts.services (clean_fields) and
  contacts.attributes (coerce), so an import stores exactly what the API and the
  pages would. An empty cell is left out of the item: it never erases a stored
  value. A tags cell holds names separated by , or ;.
- A row with more non-empty cells than there are columns is rejected (its quoting
  is broken, its values would land in the wrong fields); missing cells are empty.
"""

import re
from dataclasses import dataclass
from datetime import datetime, time

from contacts import attributes as attrs
from contacts.models import CustomAttribute, field_label
from contacts.services import EDITABLE_FIELDS, clean_fields, clean_tag_names
from imports.reading import cell_text
from workspaces.errors import KithError, one_line

IGNORE, TAGS, ATTRIBUTE_PREFIX = "ignore", "tags", "attributes."
NEW_TYPES = [(value, label) for value, label in CustomAttribute.Type.choices]
TAG_SPLIT = re.compile(r"[,;]")

# Header words (lower-cased, letters and digits only) that name a built-in field.
SYNONYMS = {
    "email": [
        "email",
        "e-mail",
        "emailaddress",
        "e-mailaddress",
        "mail",
        "emails",
        "courriel",
        "mailaddress",
        "primaryemail",
        "workemail",
        "contactemail",
    ],
    "first_name": ["firstname", "first", "givenname", "forename", "prenom", "fname"],
    "last_name": ["lastname", "last", "surname", "familyname", "nom", "lname"],
    "phone": [
        "phone",
        "phonenumber",
        "mobile",
        "mobilephone",
        "mobilenumber",
        "cell",
        "cellphone",
        "tel",
        "telephone",
        "telephonenumber",
    ],
    "company": ["company", "companyname", "organization", "organisation", "org", "employer"],
    "country": ["country", "countrycode", "nation"],
    "state": ["state", "region", "stateregion", "province", "county"],
    "city": ["city", "town", "locality"],
    "language": ["language", "lang", "locale", "preferredlanguage"],
    "external_id": [
        "externalid",
        "id",
        "userid",
        "customerid",
        "contactid",
        "crmid",
        "memberid",
    ],
    "score": ["score", "leadscore"],
}
TAG_WORDS = {"tags", "tag", "labels", "label"}


def header_key(title: str) -> str:
    return re.sub(r"[^a-z0-9]", "", str(title).lower().replace("-", ""))


_BY_WORD = {header_key(word): name for name, words in SYNONYMS.items() for word in words}


def suggest(columns: list[str], definitions: dict, *, only: set[str] | None = None) -> list[dict]:
    """A mapping for `columns` from their titles: a field, an attribute (its key or
    label), tags, else ignore. Each target once (tags may take several columns).
    `only`: the targets allowed (add_to_segment maps its lookup column only)."""
    by_word = dict(_BY_WORD)
    for name in EDITABLE_FIELDS:
        by_word.setdefault(header_key(field_label(name)), name)
    for definition in definitions.values():
        target = ATTRIBUTE_PREFIX + definition.key
        by_word.setdefault(header_key(definition.key), target)
        if definition.label:
            by_word.setdefault(header_key(definition.label), target)
    taken, mapping = set(), []
    for title in columns:
        word = header_key(title)
        target = TAGS if word in TAG_WORDS else by_word.get(word, IGNORE)
        if (only is not None and target not in only) or (target != TAGS and target in taken):
            target = IGNORE
        if target not in (IGNORE, TAGS):
            taken.add(target)
        mapping.append({"target": target, "new_type": None})
    return mapping


def clean_mapping(
    mapping, columns: list[str], definitions: dict, *, allowed: set[str] | None = None
) -> list[dict]:
    """The mapping checked against the columns and the workspace's attributes;
    KithError saying every problem, each on "mapping.N" (N: the column's index) and
    naming the column's title."""
    if not isinstance(mapping, list) or len(mapping) != len(columns):
        raise KithError("Choose a field (or Ignore) for each column.", field="mapping")
    cleaned, problems, seen = [], {}, {}
    for index, (title, entry) in enumerate(zip(columns, mapping, strict=True)):
        if isinstance(entry, str):
            entry = {"target": entry}
        if not isinstance(entry, dict):
            entry = {}
        target = str(entry.get("target") or IGNORE).strip()
        new_type = entry.get("new_type") or None
        problem = None
        if target in (IGNORE, TAGS) or target in EDITABLE_FIELDS:
            new_type = None
        elif target.startswith(ATTRIBUTE_PREFIX):
            key = target.removeprefix(ATTRIBUTE_PREFIX)
            definition = definitions.get(key.lower())
            if definition is not None:
                target, new_type = ATTRIBUTE_PREFIX + definition.key, None
            elif not attrs.KEY_RE.match(key):
                problem = (
                    f"“{key}” is not a valid attribute name: use letters, digits and _, "
                    "starting with a letter."
                )
            elif new_type not in CustomAttribute.Type.values:
                problem = f"Choose the type of the new attribute “{key}”."
        else:
            problem = f"“{target}” is not a field of a contact."
        if problem is None and allowed is not None and target not in allowed | {IGNORE}:
            problem = "Only the column that names the contact is read in this mode."
        if problem is None and target not in (IGNORE, TAGS):
            if target.lower() in seen:
                problem = f"“{seen[target.lower()]}” is already mapped to this field."
            seen[target.lower()] = title
        if problem:
            problems[f"mapping.{index}"] = [f"“{title}”: {problem}"]
        cleaned.append({"target": target, "new_type": new_type})
    if problems:
        raise KithError(fields=problems)
    return cleaned


def match_field(mapping: list[dict]) -> str | None:
    """What rows are matched on: the email when a column gives it, else the external id."""
    targets = {entry["target"] for entry in mapping}
    for name in ("email", "external_id"):
        if name in targets:
            return name
    return None


def target_label(target: str, definitions: dict | None = None) -> str:
    if target == IGNORE:
        return "Ignore"
    if target == TAGS:
        return "Tags"
    if target.startswith(ATTRIBUTE_PREFIX):
        key = target.removeprefix(ATTRIBUTE_PREFIX)
        definition = (definitions or {}).get(key.lower())
        return (definition.label if definition and definition.label else key) or key
    return field_label(target)


# ---------------------------------------------------------------- cells


@dataclass
class Cell:
    raw: str  # as the file says it
    stored: str = ""  # what will be stored, as text
    error: str = ""


class RowReader:
    """Turns rows' cells into items for contacts.writer, with the mapping's types:
    the workspace's attributes, and the attributes it creates (new_type)."""

    def __init__(self, columns: list[str], mapping: list[dict], definitions: dict):
        self.columns = columns
        self.width = len(columns)
        self.plan = []  # (index, kind, name, type) of every column read
        for index, entry in enumerate(mapping):
            target = entry["target"]
            if target == IGNORE:
                continue
            if target == TAGS:
                self.plan.append((index, TAGS, TAGS, None))
            elif target.startswith(ATTRIBUTE_PREFIX):
                key = target.removeprefix(ATTRIBUTE_PREFIX)
                definition = definitions.get(key.lower())
                kind = definition.type if definition else entry.get("new_type") or "text"
                self.plan.append((index, "attribute", definition.key if definition else key, kind))
            else:
                self.plan.append((index, "field", target, None))

    def _width_error(self, cells: list) -> str:
        extra = [cell_text(c) for c in cells[self.width :] if cell_text(c).strip()]
        if not extra:
            return ""
        return (
            f"This row has {len(cells)} cells, {len(cells) - self.width} more than the "
            f"{self.width} columns: {', '.join(repr(v) for v in extra[:3])} "
            "(a quote or delimiter out of place?)."
        )

    def item(self, cells: list) -> tuple[dict | None, str]:
        """(the item, "") or (None, why the row is rejected). The built-in fields
        are cleaned together, in one clean_fields call (the engine's hot path)."""
        error = self._width_error(cells)
        if error:
            return None, error
        item, problems, fields = {}, [], {}
        for index, kind, name, value_type in self.plan:
            value = cells[index] if index < len(cells) else None
            if value is None or (isinstance(value, str) and not value.strip()):
                continue
            if kind == "field":
                fields[name] = (
                    value if name == "score" or isinstance(value, str) else cell_text(value)
                )
                continue
            try:
                stored = self._convert(kind, name, value_type, value)
            except KithError as exc:
                problems.append(self._message(kind, name, value, exc))
                continue
            if kind == "attribute":
                item.setdefault("attributes", {})[name] = stored
            else:
                item.setdefault("tags", []).extend(stored)
        if fields:
            try:
                item.update(clean_fields(fields))
            except KithError as exc:
                failed = [n for n in EDITABLE_FIELDS if n in exc.fields]
                problems[:0] = [
                    self._message("field", n, fields[n], KithError(fields={n: exc.fields[n]}))
                    for n in failed
                ]
        if problems:
            return None, " ".join(problems)
        if "tags" in item:
            item["tags"] = list(dict.fromkeys(item["tags"]))
        return item, ""

    def cells(self, cells: list) -> list[Cell]:
        """Each column's cell as it will be stored, or why it cannot be (the preview)."""
        plan = {index: (kind, name, value_type) for index, kind, name, value_type in self.plan}
        result = []
        for index in range(self.width):
            value = cells[index] if index < len(cells) else None
            cell = Cell(raw=cell_text(value))
            if index in plan and cell.raw.strip():
                kind, name, value_type = plan[index]
                try:
                    stored = self._convert(kind, name, value_type, value)
                    cell.stored = ", ".join(stored) if kind == TAGS else cell_text(stored)
                except KithError as exc:
                    cell.error = self._message(kind, name, value, exc)
            result.append(cell)
        return result

    def _convert(self, kind: str, name: str, value_type, value):
        if kind == "field":
            if name != "score" and not isinstance(value, str):
                value = cell_text(value)
            return clean_fields({name: value})[name]
        if kind == "attribute":
            if isinstance(value, str):
                value = value.strip()
            elif value_type == "text":
                value = cell_text(value)
            elif isinstance(value, datetime) and value.time() == time(0) and not value.tzinfo:
                value = value.date()  # a spreadsheet's date is a datetime at midnight
            return attrs.coerce(value_type, value, name)
        names = [part.strip() for part in TAG_SPLIT.split(cell_text(value))]
        return clean_tag_names([n for n in names if n])

    def _message(self, kind: str, name: str, value, exc: KithError) -> str:
        text = " ".join(m for messages in exc.by_field().values() for m in messages)
        if kind == "field":
            label = field_label(name)
            if name == "score":
                return f"{label}: {cell_text(value)!r} is not a whole number."
            return f"{label}: {text}"
        if kind == "attribute":
            return text or one_line(exc)
        return f"Tags: {text}"
