"""Telling other parts of the product that contacts changed.

Segment membership must follow the data. Write services collect the ids they changed
and call `contacts_changed` once per call (never once per contact) with a Change
saying which fields, tags, event names or devices changed, so listeners can skip the
rules that cannot be affected. Listeners (the segment engine registers one in its
AppConfig.ready) run at once, inside the transaction of the change: the work they
record (a pending refresh) commits with the change or rolls back with it, and they
wake their workers after the commit themselves.
"""

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from django.db import transaction


@dataclass
class Change:
    fields: set[str] = field(default_factory=set)  # "country", "attributes.plan", ...
    tags: bool = False
    event_names: set[str] = field(default_factory=set)
    devices: bool = False
    created: bool = False
    deleted: bool = False


Listener = Callable[[int, list[int], Change], None]
_listeners: list[Listener] = []
# Called inside the transaction, before contacts are deleted, while what hangs off
# them (segment memberships) can still be read.
_delete_listeners: list[Callable[[int, list[int]], None]] = []


def register_listener(listener: Listener) -> None:
    if listener not in _listeners:
        _listeners.append(listener)


def contacts_changed(workspace_id: int, contact_ids: Iterable[int], change: Change) -> None:
    ids = sorted(set(contact_ids))
    if not ids:
        return
    with transaction.atomic():  # outside a transaction, still all or nothing
        for listener in list(_listeners):
            listener(workspace_id, ids, change)


def register_delete_listener(listener: Callable[[int, list[int]], None]) -> None:
    if listener not in _delete_listeners:
        _delete_listeners.append(listener)


def contacts_deleting(workspace_id: int, contact_ids: Iterable[int]) -> None:
    ids = sorted(set(contact_ids))
    for listener in list(_delete_listeners):
        listener(workspace_id, ids)
