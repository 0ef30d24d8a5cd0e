"""Segments in the JSON API (api.md). Handlers are thin: the key's workspace, a
selector or a service of segments.services, the answer."""

from ninja import Query, Router

from contacts.api_selectors import contact_for_api
from contacts.schemas import MAX_LIMIT
from segments import selectors, services
from segments.models import Source
from segments.schemas import (
    BulkIn,
    BulkOut,
    ContactSegmentsOut,
    MemberPage,
    MembersAdded,
    MembersIn,
    MembersRemoved,
    NameIn,
    PreviewIn,
    PreviewOut,
    SegmentFilters,
    SegmentIn,
    SegmentOut,
    SegmentPage,
    SegmentPatch,
    UsageOut,
)
from segments.selectors.members import segment_members_page
from workspaces.errors import KithError
from workspaces.keyset import paginate

router = Router(tags=["segments"])
contact_segments_router = Router(tags=["segments"])


def _workspace(request):
    return request.auth.workspace


def _segment(request, segment_id: int):
    return selectors.segment_get(_workspace(request), segment_id)


def _fresh(request, segment) -> object:
    """The segment as stored now (counts and topics included)."""
    return selectors.segment_get(_workspace(request), segment.pk)


@router.get("", response=SegmentPage, summary="List segments")
def segments_list(request, filters: Query[SegmentFilters]):
    segments = selectors.segments_for_api(
        _workspace(request), kind=filters.kind, archived=filters.archived, q=filters.q
    )
    page = paginate(segments, order=("id",), cursor=filters.cursor, limit=filters.limit)
    return {"results": page.items, "next_cursor": page.next_cursor}


@router.post("", response={201: SegmentOut}, summary="Create a segment")
def segments_create(request, payload: SegmentIn):
    segment = services.segment_create(
        workspace=_workspace(request),
        name=payload.name,
        kind=payload.kind,
        conditions=payload.conditions,
        description=payload.description or "",
        topics=payload.topics,
    )
    return _fresh(request, segment)


@router.post("/preview", response=PreviewOut, summary="Count and sample a rule's contacts")
def segments_preview(request, payload: PreviewIn):
    preview = selectors.segment_preview(
        workspace=_workspace(request), conditions=payload.conditions
    )
    return {"count": preview.count, "sample": preview.sample}


@router.post("/bulk", response={201: BulkOut}, summary="One segment per value of a field")
def segments_bulk(request, payload: BulkIn):
    result = services.segments_bulk_create(
        workspace=_workspace(request), field_name=payload.field, name_prefix=payload.name_prefix
    )
    workspace = _workspace(request)
    return {
        "segments": [selectors.segment_get(workspace, s.pk) for s in result.created],
        "skipped": [
            {
                "value": item.value,
                "name": item.name,
                "existing_id": item.existing.pk,
                "existing_name": item.existing.name,
                "reason": item.reason,
            }
            for item in result.skipped
        ],
    }


@router.get("/{segment_id}", response=SegmentOut, summary="Get a segment")
def segments_get(request, segment_id: int):
    return _segment(request, segment_id)


@router.patch("/{segment_id}", response=SegmentOut, summary="Change a segment")
def segments_patch(request, segment_id: int, payload: SegmentPatch):
    segment = _segment(request, segment_id)
    changes = {k: v for k, v in payload.model_dump(exclude_unset=True).items()}
    if "conditions" in changes and changes["conditions"] is None:
        raise KithError("conditions cannot be null.", code="invalid_conditions", path="")
    services.segment_update(segment=segment, **changes)
    return _fresh(request, segment)


@router.delete("/{segment_id}", response={204: None}, summary="Delete a segment")
def segments_delete(request, segment_id: int):
    services.segment_delete(segment=_segment(request, segment_id))
    return None


@router.get("/{segment_id}/usage", response=UsageOut, summary="What uses a segment")
def segments_usage(request, segment_id: int):
    return selectors.segment_usage(_segment(request, segment_id))


@router.get("/{segment_id}/members", response=MemberPage, summary="A segment's members")
def segments_members(
    request,
    segment_id: int,
    limit: int = Query(50, ge=1, le=MAX_LIMIT),  # in the schema, as api.md's limits
    cursor: str | None = None,
):
    page = segment_members_page(_segment(request, segment_id), cursor=cursor, limit=limit)
    return {
        "results": [
            {
                "id": m.contact_id,
                "email": m.contact.email,
                "external_id": m.contact.external_id,
                "joined_at": m.joined_at,
            }
            for m in page.items
        ],
        "next_cursor": page.next_cursor,
    }


def _lookup(payload: MembersIn) -> tuple[str, list]:
    given = payload.model_dump(exclude_unset=True)
    if len(given) != 1:
        raise KithError("Send exactly one of ids, emails or external_ids.")
    ((key, values),) = given.items()
    if isinstance(values, list) and len(values) > 10_000:
        raise KithError("At most 10,000 contacts in one call.", code="too_large", status=413)
    return {"ids": "id", "emails": "email", "external_ids": "external_id"}[key], values


@router.post("/{segment_id}/members", response=MembersAdded, summary="Add people (manual)")
def segments_members_add(request, segment_id: int, payload: MembersIn):
    lookup, values = _lookup(payload)
    result = services.segment_members_add(
        segment=_segment(request, segment_id), lookup=lookup, values=values, source=Source.API
    )
    return {
        "added": result.changed,
        "already_members": result.unchanged,
        "not_found": result.not_found,
    }


@router.post(
    "/{segment_id}/members/remove", response=MembersRemoved, summary="Remove people (manual)"
)
def segments_members_remove(request, segment_id: int, payload: MembersIn):
    lookup, values = _lookup(payload)
    result = services.segment_members_remove(
        segment=_segment(request, segment_id), lookup=lookup, values=values, source=Source.API
    )
    return {
        "removed": result.changed,
        "not_members": result.unchanged,
        "not_found": result.not_found,
    }


@router.post("/{segment_id}/clone", response={201: SegmentOut}, summary="Clone a segment")
def segments_clone(request, segment_id: int, payload: NameIn):
    clone = services.segment_clone(segment=_segment(request, segment_id), name=payload.name)
    return _fresh(request, clone)


@router.post(
    "/{segment_id}/save-as-list", response={201: SegmentOut}, summary="Freeze today's members"
)
def segments_save_as_list(request, segment_id: int, payload: NameIn):
    snapshot = services.segment_save_as_list(
        segment=_segment(request, segment_id), name=payload.name
    )
    return _fresh(request, snapshot)


@contact_segments_router.get(
    "/{contact_id}/segments", response=ContactSegmentsOut, summary="A contact's segments"
)
def contact_segments(request, contact_id: int):
    contact = contact_for_api(_workspace(request), contact_id)
    return {
        "results": [
            {
                "id": m.segment_id,
                "name": m.segment.name,
                "kind": m.segment.kind,
                "joined_at": m.joined_at,
            }
            for m in selectors.contact_segments(contact)
        ]
    }
