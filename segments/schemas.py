"""The shapes of the segments API (api.md). As in contacts/schemas.py, values are
typed loosely where segments.services checks them with its own messages."""

from datetime import datetime
from typing import Annotated, Any, Literal

from ninja import Field, Schema
from pydantic import ConfigDict, WithJsonSchema

from contacts.schemas import MAX_LIMIT, ContactOut
from segments.models import Segment

Rule = Annotated[
    Any,
    WithJsonSchema(
        {
            "type": ["object", "null"],
            "description": 'A rule of conditions.md: {"all": [...]} or {"any": [...]}.',
        }
    ),
]
Names = Annotated[Any, WithJsonSchema({"type": "array", "items": {"type": "string"}})]
Values = Annotated[Any, WithJsonSchema({"type": "array", "maxItems": 10000})]


class SegmentOut(Schema):
    id: int
    name: str
    description: str
    kind: str
    origin: str
    conditions: dict | None
    member_count: int
    archived: bool
    topics: list[str]
    created_at: datetime
    updated_at: datetime

    @staticmethod
    def resolve_topics(segment: Segment) -> list[str]:
        return sorted((t.name for t in segment.topics.all()), key=str.lower)


class SegmentPage(Schema):
    results: list[SegmentOut]
    next_cursor: str | None


class SegmentFilters(Schema):
    kind: Literal["manual", "filter"] | None = None
    archived: bool = Field(False, description="true: only archived segments.")
    q: str | None = Field(None, max_length=200, description="Part of the name.")
    limit: int = Field(50, ge=1, le=MAX_LIMIT)
    cursor: str | None = None


class SegmentIn(Schema):
    model_config = ConfigDict(extra="forbid")

    name: Annotated[Any, WithJsonSchema({"type": "string", "maxLength": 200})]
    description: Annotated[Any, WithJsonSchema({"type": "string"})] = ""
    kind: Literal["manual", "filter"]
    conditions: Rule = None
    topics: Names = None


class SegmentPatch(Schema):
    model_config = ConfigDict(extra="forbid")

    name: Annotated[Any, WithJsonSchema({"type": "string"})] = None
    description: Annotated[Any, WithJsonSchema({"type": "string"})] = None
    conditions: Rule = None
    archived: Annotated[Any, WithJsonSchema({"type": "boolean"})] = None
    topics: Names = None


class NameIn(Schema):
    model_config = ConfigDict(extra="forbid")

    name: Annotated[Any, WithJsonSchema({"type": "string"})]


class UsageCampaign(Schema):
    id: int
    name: str
    role: str


class UsageSegment(Schema):
    id: int
    name: str


class UsageOut(Schema):
    campaigns: list[UsageCampaign]
    segments: list[UsageSegment]


class MemberOut(Schema):
    id: int
    email: str | None
    external_id: str | None
    joined_at: datetime


class MemberPage(Schema):
    results: list[MemberOut] = Field(
        description="Newest members first (joined_at, then id, descending), as on the "
        "segment's Members tab."
    )
    next_cursor: str | None = Field(
        description="The next page's cursor (opaque; it holds the last row's joined_at "
        "and id), null on the last page."
    )


class MembersIn(Schema):
    model_config = ConfigDict(extra="forbid")

    ids: Values = None
    emails: Values = None
    external_ids: Values = None


class MembersAdded(Schema):
    added: int
    already_members: int
    not_found: list[Any]


class MembersRemoved(Schema):
    removed: int
    not_members: int
    not_found: list[Any]


class PreviewIn(Schema):
    model_config = ConfigDict(extra="forbid")

    conditions: Rule


class PreviewOut(Schema):
    count: int
    sample: list[ContactOut]


class BulkIn(Schema):
    model_config = ConfigDict(extra="forbid")

    field: Annotated[Any, WithJsonSchema({"type": "string"})]
    name_prefix: Annotated[Any, WithJsonSchema({"type": "string"})] = None


class BulkSkipped(Schema):
    value: str
    name: str = Field(description="the name the segment would have had")
    existing_id: int = Field(description="the segment that already covers this value")
    existing_name: str
    reason: str = Field(description="'name' (a segment has that name) or 'rule' (field eq value)")


class BulkOut(Schema):
    segments: list[SegmentOut]
    skipped: list[BulkSkipped] = Field(
        default_factory=list, description="values left alone because a segment covers them"
    )


class ContactSegmentOut(Schema):
    id: int
    name: str
    kind: str
    joined_at: datetime


class ContactSegmentsOut(Schema):
    results: list[ContactSegmentOut]
