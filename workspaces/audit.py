"""The audit trail: who created, renamed, changed, archived, deleted what, and which
actions they ran on it, per workspace (workspaces.models.AuditEntry).

- `record` is called by the services that make each change, inside their transaction:
  the entry commits with the change or not at all, and the pages, the API, the
  commands and the admin all leave one, since they all go through those services.
- Who did it is found without every caller passing it: ActorMiddleware keeps the
  request at hand, and the entry names its API key (request.auth) or its signed-in
  user; with no request (a worker, beat, a command) it is "system", unless the code
  says otherwise with `acting_as` or `actor=`.
- The subject is a type, an id and its name at that moment (the floor knows no
  segment), so a deleted segment's entries still read "Ann renamed it from X to Y".
- An action's outcome (done, failed, cancelled) is recorded by `job_ended` when the
  job that its start entry names ends, in the transaction that ends it, with the
  subject and the actor of the start."""

from collections.abc import Callable
from contextlib import contextmanager
from contextvars import ContextVar

import django_filters
from django.db.models import QuerySet

from workspaces.models import ApiKey, AuditEntry, Membership
from workspaces.params import parse_id
from workspaces.scoping import scoped

Verb = AuditEntry.Verb
Subject = AuditEntry.Subject
SYSTEM = "system"
ORDER = ("-created_at", "-id")

_request: ContextVar = ContextVar("audit_request", default=None)
_acting: ContextVar = ContextVar("audit_acting", default=None)
_CURRENT = object()  # record(actor=...) not given: whoever is acting now


class ActorMiddleware:
    """Keeps the request at hand while it is served, so `record` can name who acts
    (its user, or the API key that ninja puts on request.auth once it authenticates)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        token = _request.set(request)
        try:
            return self.get_response(request)
        finally:
            _request.reset(token)


@contextmanager
def acting_as(actor):
    """Entries recorded inside name `actor` (a user, an ApiKey, or None for system)."""
    token = _acting.set((actor,))
    try:
        yield
    finally:
        _acting.reset(token)


def _actor_of(who) -> tuple:
    """(user, api key, name) of a user, an ApiKey or nobody (the system)."""
    if isinstance(who, ApiKey):
        return None, who, f"API key “{who.name}”"
    if who is not None and getattr(who, "is_authenticated", False):
        return who, None, who.get_username()
    return None, None, SYSTEM


def current_actor() -> tuple:
    acting = _acting.get()
    if acting is not None:
        return _actor_of(acting[0])
    request = _request.get()
    if request is None:
        return _actor_of(None)
    auth = getattr(request, "auth", None)
    return _actor_of(auth if isinstance(auth, ApiKey) else getattr(request, "user", None))


def record(
    *,
    workspace,
    verb: str,
    subject_type: str,
    subject_id: int | None = None,
    subject_name: str = "",
    details: dict | None = None,
    job_id: int | None = None,
    actor=_CURRENT,
) -> AuditEntry:
    """One entry, in the caller's transaction. `workspace`: a Workspace or its id."""
    user, key, name = current_actor() if actor is _CURRENT else _actor_of(actor)
    return AuditEntry.objects.create(
        workspace_id=getattr(workspace, "pk", workspace),
        actor=user,
        actor_key=key,
        actor_name=name[:200],
        verb=verb,
        subject_type=subject_type,
        subject_id=subject_id,
        subject_name=(subject_name or "")[:200],
        details=details or {},
        job_id=job_id,
    )


# Other apps say which thing a job acts on (segments: a segment action, or an export
# or bulk action on exactly one segment's members), in their AppConfig.ready:
# resolve(job) -> (subject_type, subject_id, subject_name, details) or None.
_job_subjects: list[Callable] = []


def register_job_subject(resolve: Callable) -> None:
    if resolve not in _job_subjects:
        _job_subjects.append(resolve)


def job_started(job) -> AuditEntry | None:
    """The start of an action on a thing, when a registered app names the job's
    subject; called by jobs.services.job_start in the transaction that records the job.
    Who: whoever acts now; with no request, the person the job was started for."""
    for resolve in _job_subjects:
        found = resolve(job)
        if found is None:
            continue
        subject_type, subject_id, subject_name, details = found
        actor = current_actor()
        return record(
            workspace=job.workspace_id,
            verb=Verb.ACTION_STARTED,
            subject_type=subject_type,
            subject_id=subject_id,
            subject_name=subject_name,
            details=details,
            job_id=job.pk,
            actor=job.created_by if actor[2] == SYSTEM and job.created_by_id else _CURRENT,
        )
    return None


def record_on(thing, verb: str, subject_type: str, name: str, **details) -> AuditEntry:
    """The entry of a change to `thing`, a model row of a workspace (workspace_id, pk)."""
    return record(
        workspace=thing.workspace_id,
        verb=verb,
        subject_type=subject_type,
        subject_id=thing.pk,
        subject_name=name,
        details=details,
    )


OUTCOMES = {
    "done": Verb.ACTION_DONE,
    "failed": Verb.ACTION_FAILED,
    "cancelled": Verb.ACTION_CANCELLED,
}


def job_ended(job) -> AuditEntry | None:
    """The outcome of an action whose start was recorded: call it in the transaction
    that ends `job` (any object with pk, workspace_id, status, done, total, message)."""
    verb = OUTCOMES.get(job.status)
    started = (
        AuditEntry.objects.filter(
            job_id=job.pk, workspace_id=job.workspace_id, verb=Verb.ACTION_STARTED
        ).first()
        if verb
        else None
    )
    if started is None:
        return None
    details = {
        k: started.details[k] for k in ("action", "label", "on_members") if k in started.details
    }
    details.update(done=job.done, total=job.total, message=job.message or "")
    return AuditEntry.objects.create(
        workspace_id=job.workspace_id,
        actor_id=started.actor_id,
        actor_key_id=started.actor_key_id,
        actor_name=started.actor_name,
        verb=verb,
        subject_type=started.subject_type,
        subject_id=started.subject_id,
        subject_name=started.subject_name,
        details=details,
        job_id=job.pk,
    )


# ---------------------------------------------------------------- in words


def _quoted(text) -> str:
    return f"“{text}”"


NOUNS = {
    Subject.API_KEY: "API key",
    Subject.ATTRIBUTE: "custom attribute",
    Subject.TAG: "tag",
    Subject.TOPIC: "topic",
    Subject.IMPORT: "import",
    Subject.CAMPAIGN: "campaign",
}


def _subject(entry: AuditEntry, on_subject: bool) -> tuple[str, str]:
    """How the sentence names the subject: ("it", "its") on its own page."""
    if on_subject:
        return "it", "its"
    name = _quoted(entry.subject_name)
    if entry.subject_type == Subject.SEGMENT:
        name = f"the segment {name}"
    elif entry.subject_type in NOUNS:
        name = f"the {NOUNS[entry.subject_type]} {name}"
    else:
        name = entry.subject_name
    return name, f"{name}’s"


def _contacts(n) -> str:
    return "1 contact" if n == 1 else f"{n or 0:,} contacts"


def _progress(d: dict) -> str:
    done, total = d.get("done") or 0, d.get("total")
    return _contacts(done) if total in (None, done) else f"{done:,} of {_contacts(total)}"


def _rule(d: dict) -> str:
    parts = []
    if d.get("added"):
        parts.append("added " + ", ".join(_quoted(w) for w in d["added"]))
    if d.get("removed"):
        parts.append("removed " + ", ".join(_quoted(w) for w in d["removed"]))
    return f": {'; '.join(parts)}" if parts else ""


def _action(d: dict, it: str, its: str) -> str:
    """ "“Reset score” on its members"; "“Import” of the import “Leads”" for a subject
    that has no members."""
    on = f"on {its} members" if d.get("on_members", True) else f"of {it}"
    return f"{_quoted(d.get('label') or 'an action')} {on}"


def _started(d: dict, it: str, its: str) -> str:
    text = f"started {_action(d, it, its)}"
    text += f": {d['what']}" if d.get("what") else ""
    return text + (f" (reason: {d['reason']})" if d.get("reason") else "")


WORDS = {
    Verb.CREATED: lambda d, it, its: f"created {it}",
    Verb.CLONED: lambda d, it, its: f"created {it} as a copy of {_quoted(d.get('source_name'))}",
    Verb.SAVED_AS_LIST: lambda d, it, its: (
        f"saved the members of {_quoted(d.get('source_name'))} as {it} "
        f"({_contacts(d.get('members'))})"
    ),
    Verb.RENAMED: lambda d, it, its: (
        f"renamed {it} from {_quoted(d.get('old'))} to {_quoted(d.get('new'))}"
    ),
    Verb.DESCRIBED: lambda d, it, its: f"changed {its} description",
    Verb.TOPICS: lambda d, it, its: (
        f"set {its} topics to {', '.join(d['new'])}" if d.get("new") else f"removed {its} topics"
    ),
    Verb.RULE_CHANGED: lambda d, it, its: f"changed {its} rule{_rule(d)}",
    Verb.ARCHIVED: lambda d, it, its: f"archived {it}",
    Verb.UNARCHIVED: lambda d, it, its: f"unarchived {it}",
    Verb.DELETED: lambda d, it, its: f"deleted {it}",
    Verb.ACTION_STARTED: _started,
    Verb.ACTION_DONE: lambda d, it, its: f"— {_action(d, it, its)} finished: {_progress(d)}",
    Verb.ACTION_FAILED: lambda d, it, its: f"— {_action(d, it, its)} failed after {_progress(d)}",
    Verb.ACTION_CANCELLED: lambda d, it, its: (
        f"— {_action(d, it, its)} was cancelled after {_progress(d)}"
    ),
    Verb.MEMBER_ADDED: lambda d, it, its: f"added {it} as {d.get('role', '').lower()}",
    Verb.ROLE_CHANGED: lambda d, it, its: (
        f"changed {its} role from {d.get('old', '').lower()} to {d.get('new', '').lower()}"
    ),
    Verb.MEMBER_REMOVED: lambda d, it, its: f"removed {it} from the workspace",
    Verb.KEY_CREATED: lambda d, it, its: f"created {it}",
    Verb.KEY_REVOKED: lambda d, it, its: f"revoked {it}",
}


def words(entry: AuditEntry, *, on_subject: bool = False) -> str:
    """ "ann renamed it from “VIP” to “Best customers”" (on the subject's own page), or
    "ann renamed the segment “Best customers” from …" (on the workspace's log)."""
    it, its = _subject(entry, on_subject)
    phrase = WORDS.get(entry.verb)
    text = phrase(entry.details or {}, it, its) if phrase else entry.get_verb_display().lower()
    if text.startswith("— "):  # an outcome: the actor started it, the system ended it
        return f"{entry.actor_name}’s {text[2:]}"
    return f"{entry.actor_name} {text}"


# ---------------------------------------------------------------- reads


def subject_entries(workspace, subject_type: str, subject_id: int) -> QuerySet:
    """One thing's entries (a segment's activity), newest first by ORDER."""
    return scoped(AuditEntry, workspace).filter(subject_type=subject_type, subject_id=subject_id)


class AuditFilter(django_filters.FilterSet):
    """The workspace log's filters: who (a member, an API key, the system), what kind of
    change, and one segment (its id: a deleted segment's entries are found too)."""

    who = django_filters.ChoiceFilter(label="Who", method="filter_who", empty_label="Anyone")
    verb = django_filters.ChoiceFilter(label="What", choices=Verb.choices, empty_label="Anything")
    segment = django_filters.CharFilter(label="Segment", method="filter_segment")

    class Meta:
        model = AuditEntry
        fields = ["who", "verb", "segment"]

    def __init__(self, data=None, *, workspace, **kwargs):
        super().__init__(data, queryset=scoped(AuditEntry, workspace), **kwargs)
        members = scoped(Membership, workspace).select_related("user").order_by("user__username")
        keys = scoped(ApiKey, workspace).order_by("name")
        self.filters["who"].extra["choices"] = [
            *((f"user:{m.user_id}", m.user.get_username()) for m in members),
            *((f"key:{k.pk}", f"API key “{k.name}”") for k in keys),
            (SYSTEM, "The system"),
        ]

    def filter_who(self, queryset, name, value):
        kind, _, pk = value.partition(":")
        if kind == "user":
            return queryset.filter(actor_id=pk)
        if kind == "key":
            return queryset.filter(actor_key_id=pk)
        return queryset.filter(actor__isnull=True, actor_key__isnull=True)

    def filter_segment(self, queryset, name, value):
        pk = parse_id(value)
        if pk is None:
            return queryset.none()
        return queryset.filter(subject_type=Subject.SEGMENT, subject_id=pk)
