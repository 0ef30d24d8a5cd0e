"""The segments app's background jobs, registered from SegmentsConfig.ready:

- "Refresh segments" (the admin's refresh action): the chosen filter segments of one
  workspace, in dependency order, each refreshed with the segments whose rules name
  it (membership.refresh_segment_and_dependents). A chunk is one segment: its refresh
  and the job's progress commit together, and the checkpoint (how many are done)
  lets a job taken over by another worker go on with the next one.
- The contact list's segment actions on many contacts (contacts.jobs runs them a
  chunk at a time): each chunk's counts, per segment, add up on the job, which ends
  with the sentence the action says when done at once ("Added 12,000 contacts to
  “A”.").
"""

from dataclasses import replace

from django.core.exceptions import ValidationError
from django.db import transaction
from django.urls import reverse

from contacts import bulk
from jobs import registry
from jobs.models import Job
from jobs.services import job_start
from segments import bulk_actions, membership, services
from segments.models import Segment, Source
from workspaces.models import Membership

REFRESH = "segments_refresh"


# ---------------------------------------------------------------- refresh


def refresh_start(*, segments, user=None) -> list[Job]:
    """One job per workspace of the chosen segments (filter segments only); the user is
    told when it ends if they are a member of that workspace."""
    by_workspace: dict[int, list[Segment]] = {}
    for segment in segments:
        if segment.kind == Segment.Kind.FILTER:
            by_workspace.setdefault(segment.workspace_id, []).append(segment)
    jobs = []
    for chosen in by_workspace.values():
        ordered = membership.dependency_order(chosen)
        workspace = ordered[0].workspace
        member = Membership.objects.filter(workspace=workspace, user_id=getattr(user, "pk", None))
        title = (
            f"Refresh “{ordered[0].name}”"
            if len(ordered) == 1
            else f"Refresh {len(ordered)} filter segments"
        )
        jobs.append(
            job_start(
                workspace=workspace,
                kind=REFRESH,
                title=title,
                params={"segment_ids": [s.pk for s in ordered]},
                user=user if member.exists() else None,
                total=len(ordered),
            )
        )
    return jobs


def run_refresh(context) -> None:
    job = context.job
    ids = job.params["segment_ids"]
    for index in range((job.checkpoint or {}).get("next", 0), len(ids)):
        context.raise_if_cancelled()
        segment = Segment.objects.filter(workspace=job.workspace, pk=ids[index]).first()
        counters = {"entered": 0, "left": 0}
        with transaction.atomic():
            if segment is None:
                counters["gone"] = 1
            else:
                result = membership.refresh_segment_and_dependents(segment, source=Source.RULE)
                counters["entered"] = sum(d.entered for d in result.diffs.values())
                counters["left"] = sum(d.left for d in result.diffs.values())
            context.advance(add_done=1, counters=counters, checkpoint={"next": index + 1})
    entered, left = job.counters.get("entered", 0), job.counters.get("left", 0)
    what = job.title.removeprefix("Refresh ")
    url = reverse("segments:detail", args=[ids[0]]) if len(ids) == 1 else reverse("segments:list")
    context.set_result(
        url=url,
        message=f"Refreshed {what} and the segments that use them: "
        f"{entered:,} entered, {left:,} left.",
    )


# ---------------------------------------------------------------- the contact list's actions


def _added_to(segment) -> str:
    """A counter of the job's page: 'Added to “VIP”'."""
    return f"added to “{segment.name}”"


def _add_chunk(*, workspace, contact_ids, data, user=None) -> dict:
    counters = {}
    for segment in bulk_actions._segments(workspace, data["segments"]):
        result = services.segment_members_add(segment=segment, lookup="id", values=contact_ids)
        counters[_added_to(segment)] = result.changed
    return counters


def _added(*, workspace, data, counters) -> str:
    try:
        chosen = bulk_actions._segments(workspace, data["segments"])
    except ValidationError:
        return f"Added {sum(counters.values()):,} memberships; a segment was deleted since."
    counts = [(s, counters.get(_added_to(s), 0)) for s in chosen]
    return bulk_actions._added_message(chosen, counts)


def _remove_chunk(*, workspace, contact_ids, data, user=None) -> dict:
    (segment,) = bulk_actions._segments(workspace, [data["segment"]])
    result = services.segment_members_remove(segment=segment, lookup="id", values=contact_ids)
    return {"removed": result.changed}


def _removed(*, workspace, data, counters) -> str:
    try:
        (segment,) = bulk_actions._segments(workspace, [data["segment"]])
    except ValidationError:
        return f"Removed {counters.get('removed', 0):,} contacts; the segment was deleted since."
    return bulk_actions._removed_message(segment, counters.get("removed", 0))


def _add_title(*, workspace, data) -> str:
    return f"Add to {bulk_actions._names(bulk_actions._segments(workspace, data['segments']))}"


def _remove_title(*, workspace, data) -> str:
    (segment,) = bulk_actions._segments(workspace, [data["segment"]])
    return f"Remove from “{segment.name}”"


BULK_JOBS = {
    "add_to_segments": bulk.BulkJob(run_chunk=_add_chunk, message=_added, title=_add_title),
    "remove_from_segment": bulk.BulkJob(
        run_chunk=_remove_chunk, message=_removed, title=_remove_title
    ),
}


def register() -> None:
    """The refresh job, and how the segment actions of the contact list report as
    jobs (after bulk_actions registered them)."""
    registry.register(registry.JobKind(REFRESH, "Refresh segments", run_refresh))
    for name, hook in BULK_JOBS.items():
        action = bulk.get(name)
        if action is not None:
            bulk.register(replace(action, job=hook))
