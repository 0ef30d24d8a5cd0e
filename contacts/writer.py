"""The one low-level writer of contacts: what the API upsert, the importer, the demo
data and the services' batch paths use to put contact rows in the database.

`contacts_write` creates or updates a batch of contacts, matched case-insensitively
on email or external id, with set-based statements:

    INSERT … ON CONFLICT (workspace_id, lower(key)) DO UPDATE SET …
        WHERE <a given value differs from the stored one> RETURNING …

on PostgreSQL and on SQLite (3.35+: UPSERT with RETURNING). A chunk whose contacts
the checks found nowhere is a plain INSERT, and on PostgreSQL one whose contacts they
all found is an UPDATE by id (_Writer._way): cheaper than ON CONFLICT, which takes
over for a chunk whose plain statement a concurrent write got in the way of (a
contact made, deleted or re-keyed since the checks). Items are checked first
with the rules of contacts.services (clean_fields, clean_attributes,
clean_tag_names), as if they were applied one after the other in the order given:

- A batch naming one contact twice (ignoring case and spaces) is written in rounds,
  the later item updating the contact the earlier one made (ON CONFLICT cannot
  touch one row twice in one statement). No duplicate contacts, and each item
  gets its own outcome: "created", "updated", "unchanged", or None when rejected.
- Setting the other unique key (the external id when matching on email, or the
  reverse) to a value another contact holds rejects that item only. This is checked
  before writing; a chunk that still hits the unique index (a concurrent write won
  the race) is retried one item at a time, each in its own savepoint.
- A rejected item stores nothing: no row, no tag, no attribute definition.
- Fields an item does not give are left as stored; `attributes` merge key by key
  (None removes a key); `tags` are added. updated_at moves only for contacts that
  really changed (a newly linked tag is a change).
- Changes are announced once per call through contacts.changes, never per contact.

Concurrent calls upserting the same new emails update each other's contacts instead
of failing: a plain INSERT meeting the other's new row waits for its transaction and
fails, and the chunk is written again by ON CONFLICT, which takes the update branch.
Rows are written sorted by key, one statement a chunk, so two calls lock rows in the
same order and do not deadlock.

`contacts_prepare` is the half of the checks that needs no database (shapes,
cleaning, each row's JSON): a caller with a thread to spare, the importer, prepares
its next chunk there while this one is written, and hands the Prepared batch to
`contacts_write`.

`bulk_insert` and `contacts_insert_new` are the fast path for rows known to be new
(the demo data): COPY on PostgreSQL, executemany elsewhere.
"""

import json
from dataclasses import dataclass, field
from functools import partial
from types import SimpleNamespace

from django.db import IntegrityError, connection, models, transaction
from django.db.models import Max
from django.db.models.functions import Lower
from django.utils import timezone

from contacts.attributes import KEY_RE
from contacts.changes import Change, contacts_changed
from contacts.models import Contact, ContactTag
from contacts.services import (
    EDITABLE_FIELDS,
    DuplicateContact,
    _apply_attributes,
    _check_unique,
    attribute_definitions,
    clean_attributes,
    clean_fields,
    clean_lookup,
    clean_tag_names,
    tags_get_or_create,
)
from workspaces.errors import KithError
from workspaces.models import Workspace

MATCH_FIELDS = ("email", "external_id")
# Rows a statement writes at most: an import's chunk (IMPORT_CHUNK_ROWS) in one, so
# its statement, savepoint and round trips are paid once a chunk, not five times.
CHUNK_ROWS = 5000

CREATED, UPDATED, UNCHANGED = "created", "updated", "unchanged"
# How a chunk of contacts is written (_Writer._way).
INSERT, UPDATE, UPSERT = "insert", "update", "upsert"
CONTACT_TABLE = Contact._meta.db_table
TAG_LINK_TABLE = ContactTag._meta.db_table
# What an upsert statement inserts for every row; fields an item does not give get
# their model default (NULL email and external id, "" for other text, 0 score).
INSERT_COLUMNS = ["workspace_id", *EDITABLE_FIELDS, "attributes", "created_at", "updated_at"]
DEFAULTS = {name: Contact._meta.get_field(name).get_default() for name in EDITABLE_FIELDS}
# How a statement reads rows given as one JSON array: contacts as objects, tag links
# as [contact id, tag id]. One parameter, so a short statement that parses fast
# whatever the number of rows; SQLite's "WHERE true" tells its parser that the
# ON CONFLICT that follows belongs to the INSERT.
_ROW_TYPES = {name: "integer" if name == "score" else "text" for name in EDITABLE_FIELDS}
_ROW_TYPES["attributes"] = "jsonb"
_ROW_DEFINITION = ", ".join(f'"{name}" {kind}' for name, kind in _ROW_TYPES.items())
ROW_SOURCE = {
    "postgresql": f"json_to_recordset(%s::json) AS u({_ROW_DEFINITION})",
    "sqlite": "(SELECT "
    + ", ".join(f"json_extract(value, '$.{name}') AS \"{name}\"" for name in _ROW_TYPES)
    + " FROM json_each(%s)) AS u WHERE true",
}
# The same with each stored contact's id (an UPDATE by id, PostgreSQL only).
KNOWN_ROW_SOURCE = f"json_to_recordset(%s::json) AS u({_ROW_DEFINITION}, id bigint)"
ROW_COLUMNS = ", ".join(f'u."{name}"' for name in [*EDITABLE_FIELDS, "attributes"])
LINK_SOURCE = {
    "postgresql": "SELECT (link ->> 0)::bigint, (link ->> 1)::bigint, %s "
    "FROM json_array_elements(%s::json) AS l(link)",
    "sqlite": "SELECT json_extract(value, '$[0]'), json_extract(value, '$[1]'), %s "
    "FROM json_each(%s) WHERE true",
}


@dataclass
class WriteResult:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    errors: list[dict] = field(default_factory=list)  # [{"index", "message"}], by index
    outcomes: list[str | None] = field(default_factory=list)  # per item; None: rejected
    contact_ids: list[int | None] = field(default_factory=list)  # per item


@dataclass
class _Item:
    """One item that passed the checks, on its way to the database."""

    index: int
    key: str  # the match value, as clean_lookup gives it
    fields: dict  # cleaned built-in fields the item gives (always its match field)
    raw_attributes: object = None
    tags: list[str] = field(default_factory=list)
    attributes: dict = field(default_factory=dict)  # keys to set
    removed: tuple[str, ...] = ()  # keys to remove
    round: int = 1
    changed: set[str] = field(default_factory=set)  # as the checks foresee it
    outcome: str | None = None
    written: bool = False  # the statement itself (not a tag) changed the row
    contact_id: int | None = None
    row: str = ""  # its row of the statement, as JSON, when made ahead (Prepared)
    # Made ahead too: what it changes when it makes its contact (see _Writer._check).
    fresh: frozenset[str] | None = None

    @property
    def shape(self) -> tuple:
        """Items of one shape share one statement. (`fields` is built in the order of
        EDITABLE_FIELDS, so its keys are the given fields in that order.)"""
        given = tuple(self.fields)
        return given, bool(self.attributes), self.removed

    def given_fields(self) -> set[str]:
        return set(self.fields) | {f"attributes.{k}" for k in (*self.attributes, *self.removed)}


@dataclass
class Prepared:
    """A batch whose items' shapes are checked, fields cleaned and rows for the
    statement encoded: the pure-Python half of contacts_write, which needs no
    database and can run elsewhere, such as an import's reader thread while the
    previous chunk is written."""

    match_on: str
    cleaned: bool
    size: int
    items: list[_Item]
    errors: list[tuple[int, KithError]]  # (index, why)
    given: set[str]  # the built-in fields the items give
    attributes: bool  # some item gives attributes


def contacts_prepare(*, match_on: str, items, cleaned: bool = False) -> Prepared:
    """`items` (any iterable, consumed once) checked for shape as contacts_write
    checks them. With `cleaned` (see contacts_write) each item's row of the
    statement is encoded here too: its attributes are then known without the
    workspace's definitions."""
    if match_on not in MATCH_FIELDS:
        raise KithError("match_on must be 'email' or 'external_id'.", field="match_on")
    shape = _Shape(match_on, cleaned)
    prepared = Prepared(match_on, cleaned, 0, [], [], set(), False)
    given: set[tuple] = set()
    for index, raw in enumerate(items):
        prepared.size += 1
        try:
            item = shape.item(index, raw)
        except KithError as exc:
            prepared.errors.append((index, exc))
            continue
        prepared.items.append(item)
        given.add(tuple(item.fields))
        prepared.attributes = prepared.attributes or item.raw_attributes is not None
    prepared.given = set().union(*given)
    return prepared


def contacts_write(
    *,
    workspace: Workspace,
    match_on: str,
    items: list,
    define_attributes: bool = True,
    definitions: dict | None = None,
    dry_run: bool = False,
    cleaned: bool = False,
) -> WriteResult:
    """Create or update each item, matched on `match_on` ("email" or "external_id").
    Items are dicts of built-in fields, "attributes": {key: value or None} and
    "tags": [names]. One transaction; a bad item is reported by index and the others
    are saved. With define_attributes=False an unknown attribute key is an error.

    `definitions` ({lower key: CustomAttribute}, unsaved ones allowed) replaces the
    workspace's attributes for the checks. `dry_run` writes nothing and foretells each
    item's outcome from the stored contacts (an import's review); contact_ids are the
    stored contacts' (None for those it would create). `cleaned` says the items'
    fields went through clean_fields, their attributes are stored values under their
    defined keys and their tags went through clean_tag_names (an import's rows, checked
    cell by cell): they are not checked again. `items` may come prepared
    (contacts_prepare, with the same match_on and cleaned)."""
    if not isinstance(items, Prepared):
        items = contacts_prepare(match_on=match_on, items=items, cleaned=cleaned)
    if (items.match_on, items.cleaned) != (match_on, cleaned):
        raise ValueError("The items were prepared for another write.")
    result = WriteResult(outcomes=[None] * items.size, contact_ids=[None] * items.size)
    if items.size:
        writer = _Writer(workspace, match_on, define_attributes, result)
        writer.definitions = definitions
        writer.cleaned = cleaned
        if dry_run:
            writer.foretell(items)
        else:
            with transaction.atomic():
                writer.write(items)
    result.errors.sort(key=lambda e: e["index"])
    return result


@dataclass
class UpsertResult:
    created: int = 0
    updated: int = 0
    errors: list[dict] = field(default_factory=list)
    contact_ids: list[int] = field(default_factory=list)


def contacts_upsert(*, workspace: Workspace, match_on: str, items: list) -> UpsertResult:
    """Create or update each item, matched on email or external id (the API's
    upsert). Each item stands alone: a bad one is reported by index and the others
    are saved. Written set-based by contacts_write; an unchanged item counts as
    updated here, as api.md has only created and updated."""
    written = contacts_write(workspace=workspace, match_on=match_on, items=items)
    return UpsertResult(
        created=written.created,
        updated=written.updated + written.unchanged,
        errors=written.errors,
        contact_ids=[pk for pk in written.contact_ids if pk is not None],
    )


def _row(fields: dict, attributes: dict) -> dict:
    """An item's row of a write statement: the fields it gives over the defaults."""
    return {**DEFAULTS, **fields, "attributes": attributes}


class _Shape:
    """An item's shape checked and its fields cleaned (no database)."""

    def __init__(self, match_on: str, cleaned: bool):
        self.match_on = match_on
        self.cleaned = cleaned

    def item(self, index: int, raw) -> _Item:
        if not isinstance(raw, dict):
            raise KithError("Each contact must be an object.")
        value = raw.get(self.match_on)
        if not isinstance(value, str | int) or isinstance(value, bool) or not str(value).strip():
            raise KithError(f"'{self.match_on}' is required to match on it.")
        if not self.cleaned:
            fields = clean_fields(raw)
            tags = clean_tag_names(raw["tags"]) if raw.get("tags") else []
            return _Item(
                index, clean_lookup(fields[self.match_on]), fields, raw.get("attributes"), tags
            )
        fields = {name: raw[name] for name in EDITABLE_FIELDS if name in raw}
        attributes = raw.get("attributes")
        item = _Item(
            index, clean_lookup(fields[self.match_on]), fields, attributes, raw.get("tags") or []
        )
        # Cleaned attributes are stored values, None removing a key: the item's row,
        # and what it changes when it makes its contact, are known before the checks.
        attributes = attributes or {}
        item.attributes = {k: v for k, v in attributes.items() if v is not None}
        item.removed = tuple(sorted(k for k, v in attributes.items() if v is None))
        item.row = json.dumps(_row(fields, item.attributes))
        item.fresh = frozenset(
            [n for n, v in fields.items() if DEFAULTS[n] != v]
            + [f"attributes.{k}" for k in item.attributes]
        )
        return item


def _blank() -> SimpleNamespace:
    """A contact not stored yet, as the checks see it."""
    return SimpleNamespace(id=None, **DEFAULTS, attributes={})


def _made_by(item: _Item) -> SimpleNamespace:
    """The contact `item` makes, as the checks see it."""
    contact = _blank()
    vars(contact).update(item.fields)
    contact.attributes.update(item.attributes)
    return contact


def _apply_item(item: _Item, contact: SimpleNamespace, cleaned: dict) -> None:
    """The item put on `contact` (stored, or made by an earlier item), and what that
    changes. (Dict operations: this runs for most rows of an import of updates.)"""
    state = vars(contact)
    item.changed = {n for n, v in item.fields.items() if state[n] != v}
    state.update(item.fields)
    item.changed |= _apply_attributes(contact, cleaned)
    item.attributes = {k: v for k, v in cleaned.items() if v is not None}
    item.removed = tuple(sorted(k for k, v in cleaned.items() if v is None))


class _Writer:
    def __init__(self, workspace, match_on, define_attributes, result: WriteResult):
        self.workspace = workspace
        self.match_on = match_on
        self.other = "external_id" if match_on == "email" else "email"
        self.define_attributes = define_attributes
        self.result = result
        self.postgres = connection.vendor == "postgresql"
        self.now = timezone.now()
        self.db_now = connection.ops.adapt_datetimefield_value(self.now)
        self.ids: dict[str, int] = {}  # contact id by key, as known so far
        self.definitions: dict | None = None
        self.cleaned = False

    def write(self, items: Prepared) -> None:
        accepted = self._check(items)
        for number in sorted({item.round for item in accepted}):
            self._write_round([item for item in accepted if item.round == number])
        saved = [item for item in accepted if item.outcome]
        self._resolve_missing_ids(saved)
        new_links = self._link_tags(saved)
        for item in saved:
            self.result.outcomes[item.index] = item.outcome
            self.result.contact_ids[item.index] = item.contact_id
        self.result.created = self.result.outcomes.count(CREATED)
        self.result.updated = self.result.outcomes.count(UPDATED)
        self.result.unchanged = self.result.outcomes.count(UNCHANGED)
        self._announce(saved, new_links)

    def foretell(self, items: Prepared) -> None:
        """What write() would do, writing nothing: created for a contact not stored
        (nor made by an earlier item), updated when a field, an attribute or a tag
        link would change, else unchanged."""
        accepted = self._check(items)
        linked = self._stored_links(accepted)
        made: set[str] = set()
        for item in accepted:
            contact_id = self.ids.get(item.key)
            if contact_id is None and item.key not in made:
                outcome = CREATED
                made.add(item.key)
            else:
                new_tags = {n.lower() for n in item.tags} - linked.get(item.key, set())
                outcome = UPDATED if item.changed or new_tags else UNCHANGED
            linked.setdefault(item.key, set()).update(n.lower() for n in item.tags)
            self.result.outcomes[item.index] = outcome
            self.result.contact_ids[item.index] = contact_id
        self.result.created = self.result.outcomes.count(CREATED)
        self.result.updated = self.result.outcomes.count(UPDATED)
        self.result.unchanged = self.result.outcomes.count(UNCHANGED)

    def _stored_links(self, items: list[_Item]) -> dict[str, set[str]]:
        """{key: lower-cased names of the tags its stored contact has}, for the
        items that give tags."""
        by_id = {self.ids[i.key]: i.key for i in items if i.tags and i.key in self.ids}
        links: dict[str, set[str]] = {}
        rows = ContactTag.objects.filter(contact_id__in=list(by_id)).values_list(
            "contact_id", Lower("tag__name")
        )
        for contact_id, name in rows:
            links.setdefault(by_id[contact_id], set()).add(name)
        return links

    def _reject(self, item_or_index, exc: KithError) -> None:
        index = item_or_index if isinstance(item_or_index, int) else item_or_index.index
        self.result.errors.append({"index": index, "message": str(exc)})

    # ------------------------------------------------------------ checks

    def _check(self, prepared: Prepared) -> list[_Item]:
        """The items that can be saved, each with its round; the others rejected."""
        for index, exc in prepared.errors:
            self._reject(index, exc)
        candidates = prepared.items
        # The stored contacts the batch names, and who holds the other keys it sets:
        # the items are then checked against them as if applied one by one.
        stored = self._stored([c.key for c in candidates], prepared.given, prepared.attributes)
        self.ids = {key: contact.id for key, contact in stored.items()}
        holders = self._other_key_holders(candidates)
        definitions = (
            dict(self.definitions)
            if self.definitions is not None
            else attribute_definitions(self.workspace)
        )
        key_round: dict[str, int] = {}
        other_round: dict[str, int] = {}
        accepted = []
        for item in candidates:
            contact = stored.get(item.key)
            if isinstance(contact, _Item):  # made by an earlier item (below)
                contact = stored[item.key] = _made_by(contact)
            try:
                touched = self._check_other_key(item, contact, holders)
                cleaned = self._clean_attributes(item, definitions)
            except KithError as exc:
                self._reject(item, exc)
                continue
            me = ("key", item.key)
            for value in touched:
                if holders.get(value) == me:
                    del holders[value]
            if item.fields.get(self.other):
                holders[clean_lookup(item.fields[self.other])] = me
            # A later item of the same contact goes in a later statement; so does one
            # taking an other-key value that an earlier item gave up or took.
            latest = key_round.get(item.key, 0)
            for value in touched:  # (no generator: this runs for every row of an import)
                latest = max(latest, other_round.get(value, 0))
            item.round = latest + 1
            key_round[item.key] = item.round
            for value in touched:
                other_round[value] = item.round
            if contact is None and item.fresh is not None:
                # It makes its contact, and its shape foresaw what that changes (most
                # of an import's rows): the contact's state is made only if a later
                # item names it.
                stored[item.key] = item
                item.changed = set(item.fresh)
            else:
                if contact is None:
                    contact = stored[item.key] = _blank()
                _apply_item(item, contact, cleaned)
            accepted.append(item)
        return accepted

    def _by_keys(self, columns: str, key: str) -> str:
        """SQL: `columns` of the workspace's contacts `c` whose `key` (an expression on
        `c`) is one of the values of a JSON array; parameters: the array, the
        workspace. On PostgreSQL a join on the array's values: probes of the unique
        index, or a hash join while the statistics still believe the workspace
        nearly empty (its first chunks of an import), where `= ANY(array)` compared
        every row with every value (146 ms for 3,000 rows and 5,000 keys)."""
        table = connection.ops.quote_name(CONTACT_TABLE)
        if self.postgres:
            return (
                f"SELECT {columns} FROM json_array_elements_text(%s::json) AS k(key) "
                f"JOIN {table} c ON {key} = k.key AND c.workspace_id = %s"
            )
        return (
            f"SELECT {columns} FROM {table} c "
            f"WHERE {key} IN (SELECT value FROM json_each(%s)) AND c.workspace_id = %s"
        )

    def _stored(
        self, keys, fields: set[str] = frozenset(), attributes: bool = False
    ) -> dict[str, SimpleNamespace]:
        """{key: the stored contact} for the keys that name one: its id, both keys and
        the `fields` (and `attributes`) the checks compare items with, as plain values
        (a batch is large, and a contact's other fields and attributes are not read)."""
        wanted = {self.match_on, self.other, *fields}
        columns = ["id", *(n for n in EDITABLE_FIELDS if n in wanted)]
        columns += ["attributes"] if attributes else []
        quote = connection.ops.quote_name
        sql = self._by_keys(
            ", ".join(f"c.{quote(c)}" for c in columns), f"lower(c.{quote(self.match_on)})"
        )
        with connection.cursor() as cursor:
            cursor.execute(sql, [json.dumps(sorted(set(keys))), self.workspace.id])
            rows = cursor.fetchall()
        stored = {}
        for row in rows:
            contact = SimpleNamespace(**dict(zip(columns, row, strict=True)))
            if isinstance(getattr(contact, "attributes", None), str):  # JSON as text
                contact.attributes = json.loads(contact.attributes)
            stored[clean_lookup(getattr(contact, self.match_on))] = contact
        return stored

    def _other_key_holders(self, candidates: list[_Item]) -> dict:
        """{other-key value: who holds it}, for the values the batch sets. A holder is
        ("key", its match value) when items can name it, else ("id", its id)."""
        given = [c.fields.get(self.other) for c in candidates]
        wanted = {clean_lookup(value) for value in given if value}
        if not wanted:
            return {}
        quote = connection.ops.quote_name
        other = quote(self.other)
        columns = f"lower(c.{other}), c.id, c.{quote(self.match_on)}"
        sql = self._by_keys(columns, f"lower(c.{other})")
        with connection.cursor() as cursor:
            cursor.execute(sql, [json.dumps(sorted(wanted)), self.workspace.id])
            rows = cursor.fetchall()
        return {
            value: ("key", clean_lookup(match)) if match else ("id", contact_id)
            for value, contact_id, match in rows
        }

    def _check_other_key(self, item: _Item, contact, holders: dict) -> set[str]:
        """The other-key values the item gives up or takes; DuplicateContact when
        another contact holds the value it takes."""
        if self.other not in item.fields:
            return set()
        new = item.fields[self.other]
        new_key = clean_lookup(new) if new else None
        old = getattr(contact, self.other) if contact is not None else None
        old_key = clean_lookup(old) if old else None
        if new_key == old_key:
            return set()
        holder = holders.get(new_key) if new_key else None
        if holder is not None and holder != ("key", item.key):
            raise DuplicateContact(self.other, new)
        return {v for v in (old_key, new_key) if v}

    def _clean_attributes(self, item: _Item, definitions: dict) -> dict:
        incoming = item.raw_attributes
        if incoming is None:
            return {}
        if self.cleaned:
            return dict(incoming)
        clean = partial(
            clean_attributes,
            self.workspace,
            incoming,
            definitions=definitions,
            define_missing=self.define_attributes,
        )
        unknown = isinstance(incoming, dict) and any(
            str(key).lower() not in definitions for key in incoming
        )
        if not (unknown and self.define_attributes):
            return clean()  # reads only
        # Keys defined on first use are undone with the item when another key fails.
        known = set(definitions)
        try:
            with transaction.atomic():
                return clean()
        except KithError:
            for key in set(definitions) - known:
                del definitions[key]
            raise

    # ------------------------------------------------------------ statements

    def _write_round(self, items: list[_Item]) -> None:
        items.sort(key=lambda i: i.key)  # one lock order for every writer
        groups: dict[tuple, list[_Item]] = {}
        for item in items:
            groups.setdefault(item.shape, []).append(item)
        for shape, group in groups.items():
            for start in range(0, len(group), CHUNK_ROWS):
                chunk = group[start : start + CHUNK_ROWS]
                self._write_chunk(shape, chunk, self._way(chunk))

    def _way(self, chunk: list[_Item]) -> str:
        """How a chunk is written. ON CONFLICT pays, in PostgreSQL, a speculative
        insertion for each new row and an arbiter probe and a row lock for each stored
        one (some 15% and 10% of the statement): a chunk of contacts the checks found
        nowhere (most of an import's) is a plain INSERT, one of contacts they all found
        an UPDATE by id. A mixed chunk is not split: one statement in key order keeps
        the lock order."""
        known = sum(item.key in self.ids for item in chunk)
        if not known:
            return INSERT
        if known == len(chunk) and self.postgres:
            return UPDATE
        return UPSERT

    def _write_chunk(self, shape: tuple, items: list[_Item], way: str = UPSERT) -> None:
        try:
            with transaction.atomic():
                returned = self._statement(shape, items, way)
        except IntegrityError:
            if way != UPSERT:  # another transaction made or changed one since the checks
                self._write_chunk(shape, items)
                return
            # Another transaction took an other-key value after the checks.
            if len(items) > 1:
                for item in items:
                    self._write_chunk(shape, [item])
            else:
                self._reject_lost_race(items[0])
            return
        if way == UPDATE:
            # Not updated: nothing differed, or another transaction deleted the
            # contact or changed its key since the checks; ON CONFLICT sorts them out.
            left = [item for item in items if item.key not in returned]
            if left:
                self._write_chunk(shape, left)
            items = [item for item in items if item.key in returned]
        for item in items:
            hit = returned.get(item.key)
            if hit is None:  # nothing differed: the row was left alone
                item.outcome = UNCHANGED
                item.contact_id = self.ids.get(item.key)
            else:
                item.contact_id, created = hit
                item.outcome = CREATED if created else UPDATED
                item.written = True
                self.ids[item.key] = item.contact_id

    def _reject_lost_race(self, item: _Item) -> None:
        try:
            _check_unique(self.workspace, item.fields, exclude_id=self.ids.get(item.key))
        except DuplicateContact as exc:
            self._reject(item, exc)
        else:
            self._reject(item, KithError("A concurrent change got in the way; send again."))

    def _statement(self, shape: tuple, items: list[_Item], way: str) -> dict[str, tuple]:
        """Run one statement (`way`: INSERT, UPDATE or UPSERT); {key: (id, created)} of
        the rows it inserted or changed."""
        # The rows travel as one JSON parameter: a short statement that parses fast,
        # whatever the number of rows.
        rows = self._rows_json(items, with_ids=way == UPDATE)
        with connection.cursor() as cursor:
            if way == UPDATE:
                cursor.execute(self._update_sql(shape), [self.db_now, rows, self.workspace.id])
                return {clean_lookup(value): (pk, False) for pk, value in cursor.fetchall()}
            if not self.postgres:
                # SQLite writes one transaction at a time and ids only grow
                # (AUTOINCREMENT): the rows above today's top id are the new ones.
                cursor.execute(f"SELECT COALESCE(MAX(id), 0) FROM {CONTACT_TABLE}")
                top = cursor.fetchone()[0]
            source = f"SELECT %s, {ROW_COLUMNS}, %s, %s FROM {ROW_SOURCE[connection.vendor]}"
            cursor.execute(
                self._insert_sql(shape, source, way),
                [self.workspace.id, self.db_now, self.db_now, rows],
            )
            rows = cursor.fetchall()
        if way == INSERT:
            return {clean_lookup(value): (pk, True) for pk, value in rows}
        if self.postgres:  # xmax is 0 on a row this statement inserted
            return {clean_lookup(value): (pk, inserted) for pk, value, inserted in rows}
        return {clean_lookup(value): (pk, pk > top) for pk, value in rows}

    def _rows_json(self, items: list[_Item], *, with_ids: bool) -> str:
        """The items' rows as one JSON array: the rows made ahead (an object's text,
        to which the id is prefixed), or else made here."""
        if not self.cleaned:  # (only cleaned items have their rows made ahead)
            rows = [_row(item.fields, item.attributes) for item in items]
            if with_ids:
                for row, item in zip(rows, items, strict=True):
                    row["id"] = self.ids[item.key]
            return json.dumps(rows)
        texts = [item.row for item in items]
        if with_ids:
            texts = [
                f'{{"id": {self.ids[item.key]:d}, {text[1:]}'
                for item, text in zip(items, texts, strict=True)
            ]
        return "[" + ", ".join(texts) + "]"

    def _changes(self, shape: tuple) -> tuple[str, str]:
        """SQL: (the SET list, the condition that something differs) of a write of
        rows `EXCLUDED` into contacts `c`."""
        given, has_attributes, removed = shape
        quote = connection.ops.quote_name
        differs_op = "IS DISTINCT FROM" if self.postgres else "IS NOT"
        sets = [f"{quote(name)} = EXCLUDED.{quote(name)}" for name in given]
        differs = [f"c.{quote(name)} {differs_op} EXCLUDED.{quote(name)}" for name in given]
        if has_attributes or removed:
            merged = self._merged_attributes(removed)
            sets.append(f"attributes = {merged}")
            differs.append(self._attributes_differ(merged, removed))
        sets.append("updated_at = EXCLUDED.updated_at")
        return ", ".join(sets), " OR ".join(differs)

    def _insert_sql(self, shape: tuple, source: str, way: str) -> str:
        quote = connection.ops.quote_name
        match = quote(self.match_on)
        insert = (
            f"INSERT INTO {quote(CONTACT_TABLE)} AS c "
            f"({', '.join(quote(c) for c in INSERT_COLUMNS)}) {source}"
        )
        if way == INSERT:
            return f"{insert} RETURNING id, {match}"
        sets, differs = self._changes(shape)
        returning = f"id, {match}" + (", (xmax = 0)" if self.postgres else "")
        return (
            f"{insert} ON CONFLICT (workspace_id, lower({match})) DO UPDATE SET {sets} "
            f"WHERE {differs} RETURNING {returning}"
        )

    def _update_sql(self, shape: tuple) -> str:
        """PostgreSQL: the rows by the ids the checks found, still under their key.
        The rows are called EXCLUDED, as in the upsert, so both share _changes."""
        quote = connection.ops.quote_name
        match = quote(self.match_on)
        sets, differs = self._changes(shape)
        return (
            f"UPDATE {quote(CONTACT_TABLE)} AS c SET {sets} "
            f"FROM (SELECT u.*, %s::timestamptz AS updated_at "
            f"FROM {KNOWN_ROW_SOURCE}) AS EXCLUDED "
            f"WHERE c.id = EXCLUDED.id AND c.workspace_id = %s "
            f"AND lower(c.{match}) = lower(EXCLUDED.{match}) AND ({differs}) "
            f"RETURNING c.id, c.{match}"
        )

    def _merged_attributes(self, removed: tuple[str, ...]) -> str:
        """The stored attributes with the item's merged in and its removed keys gone.
        Keys are attribute keys (letters, digits, _), so they are written inline."""
        if not all(KEY_RE.match(key) for key in removed):
            raise ValueError(f"Not attribute keys: {removed!r}")
        if self.postgres:
            merged = "(c.attributes || EXCLUDED.attributes)"
            if removed:
                keys = ", ".join(f"'{key}'" for key in removed)
                merged = f"({merged} - ARRAY[{keys}]::text[])"
            return merged
        merged = "json_patch(c.attributes, EXCLUDED.attributes)"
        if removed:
            paths = ", ".join(f"'$.\"{key}\"'" for key in removed)
            merged = f"json_remove({merged}, {paths})"
        return merged

    def _attributes_differ(self, merged: str, removed: tuple[str, ...]) -> str:
        """SQL: the merge would change the stored attributes. Values compare as JSON
        values (3 equals 3.0), as they do in Python."""
        if self.postgres:
            return f"c.attributes IS DISTINCT FROM {merged}"
        # SQLite keeps JSON as text: compare key by key, as SQL values.
        given = (
            "EXISTS (SELECT 1 FROM json_each(EXCLUDED.attributes) AS e "
            "WHERE json_extract(c.attributes, '$.\"' || e.key || '\"') IS NOT e.value)"
        )
        held = [f"json_type(c.attributes, '$.\"{key}\"') IS NOT NULL" for key in removed]
        return " OR ".join([given, *held])

    def _resolve_missing_ids(self, saved: list[_Item]) -> None:
        """Unchanged rows return nothing; their ids are known unless another
        transaction made the contact meanwhile."""
        missing = {item.key for item in saved if item.contact_id is None}
        if missing:
            found = self._stored(missing)
            for item in saved:
                if item.contact_id is None and item.key in found:
                    item.contact_id = self.ids[item.key] = found[item.key].id

    # ------------------------------------------------------------ tags

    def _link_tags(self, saved: list[_Item]) -> set[tuple[int, int]]:
        """Link the items' tags in one statement; the (contact, tag) links that are new.
        A new link is a change of its contact: an unchanged item becomes updated."""
        tagged = [item for item in saved if item.tags and item.contact_id]
        if not tagged:
            return set()
        names = {}
        for item in tagged:
            for name in item.tags:
                names.setdefault(name.lower(), name)
        ordered = sorted(names)  # one lock order for concurrent writers
        tags = tags_get_or_create(self.workspace, [names[key] for key in ordered])
        tag_ids = dict(zip(ordered, (tag.id for tag in tags), strict=True))
        first: dict[tuple[int, int], _Item] = {}
        for item in tagged:  # by index: the first item asking for a link makes it
            for name in item.tags:
                first.setdefault((item.contact_id, tag_ids[name.lower()]), item)
        new_links = self._insert_links(sorted(first))
        for link in new_links:
            if first[link].outcome == UNCHANGED:
                first[link].outcome = UPDATED
        # A contact made by this call got its tags with its making.
        created = {item.contact_id for item in saved if item.outcome == CREATED}
        touched = {contact_id for contact_id, _ in new_links} - created
        if touched:
            Contact.objects.filter(pk__in=touched).update(updated_at=self.now)
        return new_links

    def _insert_links(self, links: list[tuple[int, int]]) -> set[tuple[int, int]]:
        table = connection.ops.quote_name(TAG_LINK_TABLE)
        with connection.cursor() as cursor:
            cursor.execute(
                f"INSERT INTO {table} (contact_id, tag_id, created_at) "
                f"{LINK_SOURCE[connection.vendor]} "
                "ON CONFLICT (contact_id, tag_id) DO NOTHING RETURNING contact_id, tag_id",
                [self.db_now, json.dumps(links)],
            )
            return {(contact_id, tag_id) for contact_id, tag_id in cursor.fetchall()}

    # ------------------------------------------------------------ announcing

    def _announce(self, saved: list[_Item], new_links: set[tuple[int, int]]) -> None:
        created = {item.contact_id for item in saved if item.outcome == CREATED}
        created_tags = any(c in created for c, _ in new_links)
        contacts_changed(self.workspace.id, created, Change(created=True, tags=created_tags))
        updated, fields = set(), set()
        for item in saved:
            if item.outcome == UPDATED and item.contact_id not in created:
                updated.add(item.contact_id)
                if item.written:
                    # The checks foresaw the change; if a concurrent write made the
                    # difference, name every field the item gave.
                    fields |= item.changed or item.given_fields()
        tags = any(c in updated for c, _ in new_links)
        contacts_changed(
            self.workspace.id, updated, Change(fields=fields | {"updated_at"}, tags=tags)
        )


# ---------------------------------------------------------------- rows known to be new


def _converters(model, columns: list[str]):
    """Per column, how a Python value becomes what the driver takes."""
    vendor = connection.vendor
    result = []
    for name in columns:
        f = model._meta.get_field(name)
        if isinstance(f, models.JSONField):
            result.append(json.dumps)
        elif isinstance(f, models.DateTimeField) and vendor != "postgresql":
            result.append(connection.ops.adapt_datetimefield_value)
        else:
            result.append(None)
    return result


def _prepare(convert, row) -> list:
    return [c(v) if c and v is not None else v for c, v in zip(convert, row, strict=True)]


def bulk_insert(model, columns: list[str], rows: list[tuple]) -> None:
    """INSERT many rows known to be new, fast: COPY on PostgreSQL, executemany
    elsewhere. No checks, no defaults (give created_at), no announcement: for data
    made by the program itself, like the demo data."""
    if not rows:
        return
    convert = _converters(model, columns)
    db_columns = [model._meta.get_field(name).column for name in columns]
    table = connection.ops.quote_name(model._meta.db_table)
    column_sql = ", ".join(connection.ops.quote_name(c) for c in db_columns)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            with cursor.cursor.copy(f"COPY {table} ({column_sql}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(_prepare(convert, row))
            return
        placeholders = ", ".join(["%s"] * len(columns))
        cursor.executemany(
            f"INSERT INTO {table} ({column_sql}) VALUES ({placeholders})",
            [_prepare(convert, row) for row in rows],
        )


def contacts_insert_new(workspace: Workspace, columns: list[str], rows: list[tuple]) -> list[int]:
    """Insert contacts known to be new, checked by the caller (columns start with
    "workspace"; those not given get their defaults, created_at and updated_at now);
    their ids in the order of `rows`. The caller announces them. Call inside a
    transaction."""
    defaults = {**DEFAULTS, "attributes": {}}
    defaults["created_at"] = defaults["updated_at"] = timezone.now()
    missing = [name for name in defaults if name not in columns]
    if missing:
        columns = [*columns, *missing]
        rows = [(*row, *(defaults[name] for name in missing)) for row in rows]
    before = Contact.objects.aggregate(top=Max("id"))["top"] or 0
    bulk_insert(Contact, columns, rows)
    # Ids come in insertion order (one COPY / executemany in one transaction).
    ids = list(
        Contact.objects.filter(workspace=workspace, id__gt=before)
        .order_by("id")
        .values_list("id", flat=True)
    )
    if len(ids) != len(rows):
        raise RuntimeError("Contacts were added to this workspace meanwhile; try again.")
    return ids
