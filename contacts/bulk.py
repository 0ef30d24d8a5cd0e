"""Bulk actions of the contact list: what can be done to the checked contacts.

Each action is a form (its fields prefixed with the action's name on the page), a
template that draws its controls in the bulk bar, and a function that does the work
through a service. Other apps add theirs ("Add to segment") with `register` in their
AppConfig.ready, and the bar and the bulk view pick them up.

An action on more contacts than settings.BULK_JOB_THRESHOLD runs as a background job
(contacts.jobs) that calls it on one chunk of ids at a time. An action with a `job`
hook (BulkJob) reports what each chunk did as counters the job adds up, so the job
ends with the same sentence as the action done at once ("Tagged 12,000 contacts...");
without one, the job says how many contacts it went through."""

from collections.abc import Callable
from dataclasses import dataclass

from django import forms

from contacts.forms import BulkTagForm
from contacts.services.tags import contacts_tag
from workspaces.models import Workspace


@dataclass(frozen=True)
class BulkJob:
    """How an action reports when it runs as a job, one chunk of contacts at a time."""

    # run_chunk(workspace=, contact_ids=, data=, user=) -> counters to add up, e.g.
    # {"tagged": 1000}. Called instead of `run` on each chunk.
    run_chunk: Callable[..., dict[str, int]]
    # message(workspace=, data=, counters=the totals) -> the sentence the job ends with
    message: Callable[..., str]
    # title(workspace=, data=) -> what the Activity page calls the job ("Add tag “vip”");
    # the action's label without it. A ValidationError refuses to start the job.
    title: Callable[..., str] | None = None
    # Contacts per chunk (contacts.jobs.CHUNK_SIZE without it).
    chunk_size: int | None = None
    # run_chunk also gets `contacts=`: the chunk as a range of the set (its filters,
    # low < id <= high), for one set-based statement instead of a list of ids.
    ranged: bool = False


@dataclass(frozen=True)
class BulkAction:
    name: str  # the value of the submit button, and the form prefix
    label: str
    form_class: type[forms.Form]
    template: str
    # run(workspace=, contact_ids=, data=cleaned form data, user=) -> message for the user
    run: Callable[..., str]
    order: int = 100
    # run_queryset(workspace=, contacts=queryset, data=, user=) -> message: the action on
    # every contact that matches the list's filters ("select all N"), set-based. Without
    # it, "all that match" calls `run` with their ids (at most BULK_JOB_THRESHOLD of
    # them; more run as a job).
    run_queryset: Callable[..., str] | None = None
    # How it runs as a background job on many contacts (see BulkJob); optional.
    job: BulkJob | None = None
    # The form is made with workspace= (its choices depend on the workspace's data).
    form_needs_workspace: bool = False
    # preview(workspace=, contacts=ContactSet, data=) -> a sentence shown in the bar
    # instead of running (what would change), or None to run: asked before each run.
    preview: Callable[..., str | None] | None = None

    def form(self, workspace: Workspace, data=None) -> forms.Form:
        extra = {"workspace": workspace} if self.form_needs_workspace else {}
        return self.form_class(data, prefix=self.name, **extra)


_actions: dict[str, BulkAction] = {}


def register(action: BulkAction) -> None:
    _actions[action.name] = action


def get(name: str | None) -> BulkAction | None:
    return _actions.get(name or "")


def all_actions() -> list[BulkAction]:
    return sorted(_actions.values(), key=lambda a: (a.order, a.label))


def _plural(n: int) -> str:
    return f"{n} contact" if n == 1 else f"{n:,} contacts"


def _tag_chunk(*, workspace: Workspace, contact_ids: list[int], data: dict, user=None) -> dict:
    count = contacts_tag(workspace=workspace, contact_ids=contact_ids, names=[data["name"]])
    return {"tagged": count}


def _tagged(*, workspace: Workspace, data: dict, counters: dict) -> str:
    return f"Tagged {_plural(counters.get('tagged', 0))} with “{data['name']}”."


def _tag_title(*, workspace: Workspace, data: dict) -> str:
    return f"Add tag “{data['name']}”"


def _tag(*, workspace: Workspace, contact_ids: list[int], data: dict, user=None) -> str:
    counters = _tag_chunk(workspace=workspace, contact_ids=contact_ids, data=data)
    return _tagged(workspace=workspace, data=data, counters=counters)


register(
    BulkAction(
        name="tag",
        label="Add tag",
        form_class=BulkTagForm,
        template="contacts/bulk/tag.html",
        run=_tag,
        order=10,
        job=BulkJob(run_chunk=_tag_chunk, message=_tagged, title=_tag_title),
    )
)
