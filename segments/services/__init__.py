"""Every write to segments: web pages, the API, commands, tasks and other apps call
these, through this package (`from segments import services`), whatever module holds
them. By topic:

- lifecycle: create, change (name, description, topics, archived), archive, delete,
  clone, save as a list;
- rules: a filter segment's rule changing (its check, dependencies, refresh);
- members: the members of manual segments, by hand, API, bulk bar or import;
- bulk: one filter segment per value of a field.

The errors they refuse with are segments.errors' (re-exported here), and reads
(usage, preview, bulk values) are segments.selectors'."""

from segments.errors import (
    DuplicateName,
    InvalidConditions,
    NotManual,
    SegmentError,
    SegmentInUse,
    SegmentLimit,
    conditions_validate,
)
from segments.services.bulk import (
    BulkItem,
    BulkPlan,
    BulkResult,
    bulk_prefix,
    segments_bulk_create,
    segments_bulk_plan,
)
from segments.services.lifecycle import (
    DeleteResult,
    segment_clone,
    segment_create,
    segment_delete,
    segment_save_as_list,
    segment_update,
    segments_delete,
    segments_set_archived,
)
from segments.services.members import (
    MembersResult,
    manual_segments_for,
    segment_contacts_add,
    segment_contacts_remove,
    segment_members_add,
    segment_members_remove,
)
from segments.services.rules import UNSET, segment_audit

__all__ = [
    "UNSET",
    "BulkItem",
    "BulkPlan",
    "BulkResult",
    "DeleteResult",
    "DuplicateName",
    "InvalidConditions",
    "MembersResult",
    "NotManual",
    "SegmentError",
    "SegmentInUse",
    "SegmentLimit",
    "bulk_prefix",
    "conditions_validate",
    "manual_segments_for",
    "segment_clone",
    "segment_contacts_add",
    "segment_contacts_remove",
    "segment_create",
    "segment_delete",
    "segment_members_add",
    "segment_members_remove",
    "segment_audit",
    "segment_save_as_list",
    "segment_update",
    "segments_bulk_create",
    "segments_bulk_plan",
    "segments_delete",
    "segments_set_archived",
]
