"""Contact-list bulk actions on many contacts, as background jobs ("tag all 80,000
contacts that match").

- The request records what the list selected (a contacts.sets.ContactSet), not the
  contacts: the action's name, its cleaned form data, and the list's query string (or
  the checked ids). The worker selects the contacts again through the list's own
  selector (contact_list), so the job touches what the list's filters select, nothing
  else.
- It walks them in id order, one chunk at a time (a keyset on id: an indexed range,
  never an OFFSET), and commits each chunk's work with its counters and the last id
  done (the checkpoint): a job taken over by another worker resumes after the last
  committed chunk and never does one twice.
- Its first run fixes the highest matching id and counts the contacts up to it (the
  size of the progress bar, counted in the worker, not in the request): contacts
  added while it runs are not swept in. Each chunk reads the filters as they are when
  it runs, so a contact that stopped matching before its chunk is left alone.
"""

import json

from django.core.exceptions import ValidationError
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models, transaction
from django.urls import reverse

from contacts import bulk
from contacts.sets import ContactSet
from jobs.models import Job
from jobs.services import job_start
from workspaces.errors import sentences

KIND = "contacts_bulk"
LABEL = "Contact list action"
CHUNK_SIZE = 1000


def json_safe(data: dict) -> dict:
    """Cleaned form data as JSON: model instances become their ids, dates ISO text."""

    def plain(value):
        if isinstance(value, models.Model):
            return value.pk
        if isinstance(value, list | tuple | set | models.QuerySet):
            return [plain(item) for item in value]
        return value

    return json.loads(json.dumps({k: plain(v) for k, v in data.items()}, cls=DjangoJSONEncoder))


@transaction.atomic
def bulk_job_start(
    *,
    workspace,
    action: bulk.BulkAction,
    data: dict,
    user=None,
    contacts: ContactSet,
) -> Job:
    """Record the job that runs `action` on a set of contacts: the list's query,
    selected again by the worker, or the checked ids."""
    params = {"action": action.name, "data": json_safe(data), **contacts.params()}
    total = None if contacts.is_matching else len(contacts.ids)
    name = action.label
    if action.job is not None and action.job.title is not None:
        name = action.job.title(workspace=workspace, data=data)
    return job_start(
        workspace=workspace,
        kind=KIND,
        title=f"{name}: {contacts.describe()}",
        params=params,
        user=user,
        total=total,
    )


def _run_chunk(action: bulk.BulkAction, *, workspace, contact_ids, data, user, rows) -> dict:
    if action.job is not None:
        extra = {"contacts": rows} if action.job.ranged else {}
        return action.job.run_chunk(
            workspace=workspace, contact_ids=contact_ids, data=data, user=user, **extra
        )
    action.run(workspace=workspace, contact_ids=contact_ids, data=data, user=user)
    return {}


def run(context) -> None:
    """The job's handler (registered in ContactsConfig.ready)."""
    job = context.job
    params = job.params
    action = bulk.get(params.get("action"))
    if action is None:
        raise RuntimeError(f"There is no bulk action '{params.get('action')}' any more.")
    workspace, data, user = job.workspace, params.get("data") or {}, job.created_by
    try:
        contacts = ContactSet.from_params(workspace, params).contacts()
        point = job.checkpoint or {}
        if "until" not in point:
            until = contacts.order_by("-pk").values_list("pk", flat=True).first() or 0
            total = job.total if "ids" in params else contacts.filter(pk__lte=until).count()
            point = {"last": 0, "until": until}
            with transaction.atomic():
                context.advance(total=total, checkpoint=point)
        last, until = point["last"], point["until"]
        size = (action.job and action.job.chunk_size) or CHUNK_SIZE
        while True:
            context.raise_if_cancelled()
            chunk = contacts.filter(pk__gt=last, pk__lte=until).order_by("pk")
            # dict.fromkeys: a filter that joins could name a contact twice.
            ids = list(dict.fromkeys(chunk.values_list("pk", flat=True)[:size]))
            if not ids:
                break
            rows = contacts.filter(pk__gt=last, pk__lte=ids[-1])
            with transaction.atomic():
                counters = _run_chunk(
                    action, workspace=workspace, contact_ids=ids, data=data, user=user, rows=rows
                )
                context.advance(
                    add_done=len(ids),
                    counters=counters,
                    checkpoint={"last": ids[-1], "until": until},
                )
            last = ids[-1]
    except ValidationError as exc:
        context.set_result(message=f"Stopped after {job.done:,} contacts: {sentences(exc)}")
        raise
    if job.total != job.done:  # the count was taken before contacts changed
        with transaction.atomic():
            context.advance(total=job.done)
    if action.job is not None:
        message = action.job.message(workspace=workspace, data=data, counters=job.counters)
    else:
        message = f"{action.label}: done for {job.done:,} contacts."
    query = params.get("query")
    url = reverse("contacts:list") + (f"?{query}" if query else "")
    context.set_result(url=url, message=message)
