"""Reads of segments, for the API, the pages, the admin and the services, by topic:
listing (the dashboard's and the API's lists, one segment), members (who is in it,
entries and exits, history, a contact's side), usage (what uses a segment, in the
delete guard's words) and preview (what a rule or a bulk split would give). Callers
use `from segments import selectors`; nothing here writes."""

from segments.selectors.listing import (
    DASHBOARD_SORTS,
    DEFAULT_DASHBOARD_SORT,
    SegmentListing,
    keyset_page,
    manual_segment_choices,
    mark_calculating,
    segment_dashboard,
    segment_get,
    segments_for_api,
)
from segments.selectors.members import (
    CHANGE_ORDER,
    CONTACT_CHANGES,
    MEMBER_ORDER,
    Day,
    contact_candidates,
    contact_changes,
    contact_section,
    contact_segments,
    is_member,
    member_history,
    segment_changes,
    segment_member_rows,
    segment_members,
)
from segments.selectors.preview import (
    Preview,
    bulk_values,
    segment_preview,
)
from segments.selectors.usage import (
    SegmentUser,
    is_in_use,
    segment_usage,
    segment_users,
    segments_delete_plan,
    segments_reading_attribute,
    segments_with_usage,
    used_by_words,
)

__all__ = [
    "CHANGE_ORDER",
    "CONTACT_CHANGES",
    "DASHBOARD_SORTS",
    "DEFAULT_DASHBOARD_SORT",
    "Day",
    "MEMBER_ORDER",
    "Preview",
    "SegmentListing",
    "SegmentUser",
    "bulk_values",
    "contact_candidates",
    "contact_changes",
    "contact_section",
    "contact_segments",
    "is_in_use",
    "is_member",
    "keyset_page",
    "manual_segment_choices",
    "mark_calculating",
    "member_history",
    "segment_changes",
    "segment_dashboard",
    "segment_get",
    "segment_member_rows",
    "segment_members",
    "segment_preview",
    "segment_usage",
    "segment_users",
    "segments_delete_plan",
    "segments_for_api",
    "segments_reading_attribute",
    "segments_with_usage",
    "used_by_words",
]
