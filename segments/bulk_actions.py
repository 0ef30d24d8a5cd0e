"""The contact list's segment actions ("Add to segments", "Remove from segment"),
registered in contacts.bulk from SegmentsConfig.ready. They work on the checked
contacts, or on every contact that matches the list's filters (set-based: one
INSERT ... SELECT or DELETE per segment, never a loop over contacts)."""

from django import forms

from contacts.bulk import BulkAction
from segments import services
from workspaces.params import IdField, IdListField


class AddToSegmentsForm(forms.Form):
    # The choices are the workspace's manual segments, which the bulk bar's forms are
    # built without: the service checks the ids against the workspace.
    segments = IdListField(
        label="Segments",
        error_messages={
            "required": "Pick at least one segment.",
            "invalid": "Pick segments from the list.",
        },
    )


class RemoveFromSegmentForm(forms.Form):
    segment = IdField(
        label="Segment",
        error_messages={
            "required": "Pick the segment to remove them from.",
            "invalid": "Pick the segment from the list.",
        },
    )


def _segments(workspace, ids):
    return services.manual_segments_for(workspace, ids)


def _people(n: int) -> str:
    return "1 contact" if n == 1 else f"{n:,} contacts"


def _names(segments) -> str:
    names = [f"“{s.name}”" for s in segments]
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} and {names[-1]}"


def add_to_segments(*, workspace, contact_ids, data, user=None) -> str:
    chosen = _segments(workspace, data["segments"])
    counts = []
    for segment in chosen:
        result = services.segment_members_add(segment=segment, lookup="id", values=contact_ids)
        counts.append((segment, result.changed))
    return _added_message(chosen, counts)


def add_to_segments_matching(*, workspace, contacts, data, user=None) -> str:
    chosen = _segments(workspace, data["segments"])
    counts = [(s, services.segment_contacts_add(segment=s, contacts=contacts)) for s in chosen]
    return _added_message(chosen, counts)


def _added_message(chosen, counts) -> str:
    """ "Added 3 contacts to “A” and 2 contacts to “B”." (people already in one are
    not counted for it)"""
    if not any(n for _, n in counts):
        return f"They were all in {_names(chosen)} already."
    parts = [f"{_people(n)} to “{segment.name}”" for segment, n in counts]
    joined = parts[0] if len(parts) == 1 else f"{', '.join(parts[:-1])} and {parts[-1]}"
    return f"Added {joined}."


def remove_from_segment(*, workspace, contact_ids, data, user=None) -> str:
    (segment,) = _segments(workspace, [data["segment"]])
    result = services.segment_members_remove(segment=segment, lookup="id", values=contact_ids)
    return _removed_message(segment, result.changed)


def remove_from_segment_matching(*, workspace, contacts, data, user=None) -> str:
    (segment,) = _segments(workspace, [data["segment"]])
    return _removed_message(
        segment, services.segment_contacts_remove(segment=segment, contacts=contacts)
    )


def _removed_message(segment, n: int) -> str:
    if not n:
        return f"None of them was in “{segment.name}”."
    return f"Removed {_people(n)} from “{segment.name}”."


ACTIONS = [
    BulkAction(
        name="add_to_segments",
        label="Add to segments",
        form_class=AddToSegmentsForm,
        template="segments/bulk/add_to_segments.html",
        run=add_to_segments,
        run_queryset=add_to_segments_matching,
        order=20,
    ),
    BulkAction(
        name="remove_from_segment",
        label="Remove from segment",
        form_class=RemoveFromSegmentForm,
        template="segments/bulk/remove_from_segment.html",
        run=remove_from_segment,
        run_queryset=remove_from_segment_matching,
        order=30,
    ),
]
