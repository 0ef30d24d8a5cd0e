"""Contacts and events in the JSON API (api.md). Handlers are thin: the key's
workspace, a selector or a service from contacts.services.*, the answer.

GET /contacts/{id}/segments lives with the segments (segments/api.py)."""

from typing import Any

import pydantic
from django.conf import settings
from django.db import transaction
from ninja import Query, Router

from contacts.api_selectors import contact_for_api, contacts_for_api
from contacts.schemas import (
    ContactFilters,
    ContactIn,
    ContactOut,
    ContactPage,
    ContactPatch,
    EventIn,
    EventsIn,
    EventsOut,
    TagsIn,
    UpsertIn,
    UpsertOut,
)
from contacts.services.contacts import contact_create, contact_delete, contact_update
from contacts.services.events import events_record
from contacts.services.tags import clean_tag_names, contact_tags_add, contact_tags_remove
from contacts.writer import contacts_upsert
from workspaces.errors import KithError, describe_errors, join_errors
from workspaces.keyset import paginate
from workspaces.models import Workspace

# ANSWER_IN_THE_WRITE: a write and the contact it answers with are read in one
# transaction, so a connection lost between them (a database restart) loses both and
# the 503 that follows is true: nothing was saved (workspaces.middleware).
router = Router(tags=["contacts"])
events_router = Router(tags=["events"])


def _workspace(request) -> Workspace:
    return request.auth.workspace  # the API key's workspace (workspaces.api_auth)


def _check_batch(items: list, what: str) -> None:
    if len(items) > settings.API_MAX_BATCH:
        raise KithError(
            f"At most {settings.API_MAX_BATCH} {what} per call; this one has {len(items)}.",
            code="too_large",
            status=413,
        )


def _check_items(schema: type[pydantic.BaseModel], items: list) -> tuple[list, list]:
    """([(index, item as a dict)], [{"index", "message"}]): the items whose shape is
    right (an object without unknown fields), and an error for each other one."""
    valid, errors = [], []
    for index, item in enumerate(items):
        if not isinstance(item, dict):
            errors.append({"index": index, "message": "Each item must be an object."})
            continue
        try:
            valid.append((index, schema.model_validate(item).model_dump(exclude_unset=True)))
        except pydantic.ValidationError as exc:
            described = describe_errors(exc.errors(), from_request=False)
            errors.append({"index": index, "message": join_errors(described)})
    return valid, errors


def _merge_errors(valid: list, shape_errors: list, service_errors: list) -> list[dict]:
    """The service numbered the valid items only; give its errors their original index."""
    errors = shape_errors + [
        {"index": valid[e["index"]][0], "message": e["message"]} for e in service_errors
    ]
    return sorted(errors, key=lambda e: e["index"])


# ---------------------------------------------------------------- contacts


@router.get("", response=ContactPage, summary="List contacts")
def contacts_list(request, filters: Query[ContactFilters]):
    # The contact list's FilterSet; the API's `tag` is a name (the page's, an id).
    queryset = contacts_for_api(
        _workspace(request),
        {
            "email": filters.email,
            "external_id": filters.external_id,
            "tag_name": filters.tag,
            "q": filters.q,
            "segment": filters.segment,
        },
    )
    # Oldest first by id: rows created while a client pages land on later pages.
    page = paginate(queryset, order=("id",), cursor=filters.cursor, limit=filters.limit)
    return {"results": page.items, "next_cursor": page.next_cursor}


@router.post("", response={201: ContactOut}, summary="Create a contact")
@transaction.atomic  # see ANSWER_IN_THE_WRITE
def contacts_create(request, payload: ContactIn):
    data = payload.model_dump(exclude_unset=True)
    tags = data.pop("tags", None)
    workspace = _workspace(request)
    contact = contact_create(
        workspace=workspace,
        data=data,
        tags=clean_tag_names(tags) if tags is not None else None,
    )
    return contact_for_api(workspace, contact.id)


# Declared before /{contact_id} so that "upsert" is not taken for an id.
@router.post("/upsert", response=UpsertOut, summary="Create or update many contacts")
def contacts_upsert_many(request, payload: UpsertIn):
    _check_batch(payload.contacts, "contacts")
    valid, shape_errors = _check_items(ContactIn, payload.contacts)
    result = contacts_upsert(
        workspace=_workspace(request),
        match_on=payload.match_on,
        items=[item for _, item in valid],
    )
    return {
        "created": result.created,
        "updated": result.updated,
        "errors": _merge_errors(valid, shape_errors, result.errors),
    }


@router.get("/{contact_id}", response=ContactOut, summary="Get a contact")
def contacts_get(request, contact_id: int):
    return contact_for_api(_workspace(request), contact_id)


@router.patch("/{contact_id}", response=ContactOut, summary="Change some fields of a contact")
@transaction.atomic  # see ANSWER_IN_THE_WRITE
def contacts_patch(request, contact_id: int, payload: ContactPatch):
    workspace = _workspace(request)
    contact = contact_for_api(workspace, contact_id)
    contact_update(contact=contact, data=payload.model_dump(exclude_unset=True))
    return contact_for_api(workspace, contact.id)


@router.delete("/{contact_id}", response={204: None}, summary="Delete a contact")
def contacts_delete(request, contact_id: int):
    contact_delete(contact=contact_for_api(_workspace(request), contact_id))


@router.post("/{contact_id}/tags", response=ContactOut, summary="Add tags to a contact")
@transaction.atomic  # see ANSWER_IN_THE_WRITE
def contacts_tags_add(request, contact_id: int, payload: TagsIn):
    workspace = _workspace(request)
    contact = contact_for_api(workspace, contact_id)
    contact_tags_add(contact=contact, names=payload.tags)
    return contact_for_api(workspace, contact.id)


@router.post("/{contact_id}/tags/remove", response=ContactOut, summary="Remove tags from a contact")
@transaction.atomic  # see ANSWER_IN_THE_WRITE
def contacts_tags_remove(request, contact_id: int, payload: TagsIn):
    workspace = _workspace(request)
    contact = contact_for_api(workspace, contact_id)
    contact_tags_remove(contact=contact, names=payload.tags)
    return contact_for_api(workspace, contact.id)


# ---------------------------------------------------------------- events


@events_router.post("", response={202: EventsOut}, summary="Record one event or many")
def events_create(request, payload: EventsIn):
    given: dict[str, Any] = payload.model_dump(exclude_unset=True)
    if "events" in given:
        if len(given) > 1:
            raise KithError('Send one event, or {"events": [...]} with nothing beside it.')
        items = given["events"]
        _check_batch(items, "events")
        valid, shape_errors = _check_items(EventIn, items)
    else:
        valid, shape_errors = [(0, given)], []
    result = events_record(workspace=_workspace(request), items=[item for _, item in valid])
    return {
        "accepted": result.accepted,
        "errors": _merge_errors(valid, shape_errors, result.errors),
    }
