"""Actions on all the contacts of a segment, each a background job (kind
"segment_action"): reset score, remove all members (manual segments), delete all
contacts. (Mass update of a segment's members is the contact list's bulk action, as a
job on the set "segment=<id>": contacts.mass_update.)

The job walks the segment's members as contacts.sets.ContactSet selects them (the
contact list's `segment=<id>` filter), in id order, one chunk at a time: each chunk's
work, its counters and the last id done (the checkpoint) commit together, so a job
taken over by another worker never does a chunk twice. The highest member id is fixed
on the first run: who joins meanwhile is left alone.

The job's message is its record: how many contacts were changed, removed or deleted,
and, when it is cancelled or fails, how many were and how many were not."""

from dataclasses import dataclass
from urllib.parse import parse_qs

from django.db import transaction
from django.urls import reverse

from contacts import bulk, exports, mass_update
from contacts import jobs as contact_jobs
from contacts.changes import Change, contacts_changed, contacts_deleting
from contacts.models import Contact
from contacts.sets import ContactSet
from jobs import registry
from jobs.models import Job
from jobs.runner import JobCancelled
from jobs.services import job_start
from segments import services
from segments.models import Segment, Source
from workspaces import audit
from workspaces.errors import KithError
from workspaces.params import parse_id

KIND = "segment_action"
CHUNK_SIZE = 1000


def members(segment: Segment) -> ContactSet:
    return ContactSet.matching(segment.workspace, f"segment={segment.pk}")


def _people(n: int) -> str:
    return f"{n:,} contact" if n == 1 else f"{n:,} contacts"


# ---------------------------------------------------------------- what each chunk does


def _reset_chunk(segment, ids) -> int:
    return mass_update.update_chunk(segment.workspace, ids, "score", 0)


def _remove_chunk(segment, ids) -> int:
    result = services.segment_members_remove(
        segment=segment, lookup="id", values=ids, source=Source.MANUAL
    )
    return result.changed


def _delete_chunk(segment, ids) -> int:
    workspace_id = segment.workspace_id
    ids = list(
        Contact.objects.filter(workspace_id=workspace_id, pk__in=ids).values_list("pk", flat=True)
    )
    contacts_deleting(workspace_id, ids)
    Contact.objects.filter(workspace_id=workspace_id, pk__in=ids).delete()
    contacts_changed(workspace_id, ids, Change(deleted=True))
    return len(ids)


@dataclass(frozen=True)
class Action:
    name: str
    label: str  # "Reset score"
    verb: str  # what the record says of each contact: "reset", "removed", "deleted"
    chunk: object  # chunk(segment, ids) -> how many it did
    manual_only: bool = False


ACTIONS = {
    a.name: a
    for a in [
        Action("reset_score", "Reset score", "had their score reset", _reset_chunk),
        Action("remove_all", "Remove all members", "removed", _remove_chunk, manual_only=True),
        Action("delete_all", "Delete all contacts", "deleted", _delete_chunk),
    ]
}


# ---------------------------------------------------------------- starting


@transaction.atomic
def action_start(*, segment: Segment, action: str, user=None, reason: str = "") -> Job:
    """Record the job of `action` on the segment's members; KithError when it does not
    apply (remove all on a filter segment)."""
    chosen = ACTIONS[action]
    if chosen.manual_only and segment.is_filter:
        raise KithError(
            "Only a manual segment's members can be removed; a filter segment's follow its "
            "conditions.",
            code="not_manual",
        )
    title = f"{chosen.label} of “{segment.name}”"
    if reason:
        who = getattr(user, "username", "") or "someone"
        title = f"{title} by {who}: {reason}"
    return job_start(
        workspace=segment.workspace,
        kind=KIND,
        title=title,
        params={
            "action": action,
            "segment": segment.pk,
            "segment_name": segment.name,
            "reason": reason,
            "author": getattr(user, "username", ""),
        },
        user=user,
    )


# ---------------------------------------------------------------- the job


def _record(job: Job, action: Action, ended: str = "") -> str:
    done = job.counters.get("done", 0)
    name = job.params.get("segment_name", "")
    message = f"{action.label} of “{name}”: {_people(done)} {action.verb}."
    if ended:
        left = max((job.total or 0) - job.done, 0)
        message = (
            f"{action.label} of “{name}” {ended}: {_people(done)} {action.verb}, "
            f"{_people(left)} not."
        )
    return message


def run(context) -> None:
    job = context.job
    action = ACTIONS[job.params["action"]]
    segment = Segment.objects.filter(workspace=job.workspace, pk=job.params["segment"]).first()
    if segment is None:
        context.set_result(message=f"The segment “{job.params.get('segment_name')}” is gone.")
        raise RuntimeError("The segment was deleted.")
    try:
        contacts = members(segment).contacts()
        point = job.checkpoint or {}
        if "until" not in point:
            until = contacts.order_by("-pk").values_list("pk", flat=True).first() or 0
            point = {"last": 0, "until": until}
            with transaction.atomic():
                context.advance(total=contacts.filter(pk__lte=until).count(), checkpoint=point)
        last, until = point["last"], point["until"]
        while True:
            context.raise_if_cancelled()
            chunk = contacts.filter(pk__gt=last, pk__lte=until).order_by("pk")
            ids = list(dict.fromkeys(chunk.values_list("pk", flat=True)[:CHUNK_SIZE]))
            if not ids:
                break
            with transaction.atomic():
                count = action.chunk(segment, ids)
                context.advance(
                    add_done=len(ids),
                    counters={"done": count},
                    checkpoint={"last": ids[-1], "until": until},
                )
            last = ids[-1]
    except JobCancelled:
        context.set_result(message=_record(job, action, "was cancelled"))
        raise
    except Exception as exc:
        context.set_result(message=f"{_record(job, action, 'failed')} ({exc})")
        raise
    if job.total != job.done:
        with transaction.atomic():
            context.advance(total=job.done)
    context.set_result(
        url=reverse("segments:detail", args=[segment.pk]), message=_record(job, action)
    )


# ---------------------------------------------------------------- the audit trail


def _one_segment(query: str) -> int | None:
    """The segment whose members a contact list's query is, exactly ("segment=12")."""
    params = parse_qs(query or "", keep_blank_values=True)
    if list(params) != ["segment"] or len(params["segment"]) != 1:
        return None
    return parse_id(params["segment"][0])


def job_subject(job: Job):
    """The segment a job acts on, for workspaces.audit: a segment action, or an export
    or bulk action (mass update...) on exactly one segment's members."""
    params = job.params or {}
    if job.kind == KIND:
        chosen = ACTIONS.get(params.get("action"))
        details = {"action": params.get("action"), "label": chosen.label if chosen else ""}
        details["reason"] = params.get("reason", "")
        segment_id = params.get("segment")
    elif job.kind == exports.KIND:
        segment_id = _one_segment((params.get("contacts") or {}).get("query"))
        details = {"action": "export", "label": "Export", "what": params.get("name", "")}
    elif job.kind == contact_jobs.KIND:
        segment_id = _one_segment(params.get("query"))
        action = bulk.get(params.get("action"))
        details = {"action": params.get("action"), "label": action.label if action else ""}
        details["what"] = job.title.split(": ", 1)[0] if action else ""
    else:
        return None
    segment = (
        Segment.objects.filter(workspace_id=job.workspace_id, pk=segment_id).only("name").first()
        if segment_id
        else None
    )
    if segment is None:
        return None
    return audit.Subject.SEGMENT, segment.pk, segment.name, details


def register() -> None:
    registry.register(registry.JobKind(KIND, "Segment action", run))
    audit.register_job_subject(job_subject)
