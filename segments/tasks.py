"""Background work of segments. Thin: ids in, the domain does the work. Each task is
idempotent (a refresh brings membership in line with the data, however often it
runs), so acks_late and retries are safe."""

from celery import shared_task

from segments import membership
from segments.models import Segment, Source


@shared_task(acks_late=True)
def refresh_contacts(workspace_id: int, contact_ids: list[int], change: dict) -> dict:
    result = membership.refresh_contacts(
        workspace_id, contact_ids, membership.change_from_payload(change)
    )
    return {str(k): [d.entered, d.left] for k, d in result.diffs.items()}


@shared_task(acks_late=True)
def refresh_segment(segment_id: int, source: str = Source.RULE) -> dict:
    segment = Segment.objects.filter(pk=segment_id).first()
    if segment is None:  # deleted meanwhile: nothing to do
        return {}
    result = membership.refresh_segment_and_dependents(segment, source=source)
    return {str(k): [d.entered, d.left] for k, d in result.diffs.items()}


@shared_task(acks_late=True)
def refresh_segment_dependents(workspace_id: int, segment_id: int, contact_ids: list[int]) -> None:
    """A manual segment's members changed: re-evaluate those contacts in the rules
    that name it."""
    from contacts.changes import Change

    membership.refresh_contacts(workspace_id, contact_ids, Change(), changed_segments={segment_id})


@shared_task(acks_late=True)
def refresh_time_based() -> int:
    return len(membership.refresh_time_based().diffs)
