"""Every write to campaigns: create, edit, send now or at a set time, activate and
pause, delete, and what contacts did with a message (opened, clicked). The pages, the
admin, the sweep and the tracking URLs call these; each checks before it saves and
raises CampaignError (a KithError) with the field it concerns."""

from dataclasses import dataclass, field
from datetime import datetime

from django.db import transaction
from django.utils import timezone

from campaigns import rendering, sending, triggers
from campaigns.channels import Composer, Message
from campaigns.models import Campaign, CampaignSegment, Delivery
from contacts.models import Topic
from jobs.models import Job
from jobs.services import job_cancel, job_start
from segments.models import Segment
from workspaces import audit
from workspaces.errors import KithError
from workspaces.models import Workspace

Role = CampaignSegment.Role
Status = Campaign.Status


class CampaignError(KithError):
    code = "invalid_campaign"


@dataclass
class CampaignData:
    """What a campaign is, as a form or a caller gives it."""

    name: str
    channel: str = Campaign.Channel.EMAIL
    kind: str = Campaign.Kind.BROADCAST
    subject: str = ""
    body: str = ""
    topic: Topic | None = None
    include: list[Segment] = field(default_factory=list)
    exclude: list[Segment] = field(default_factory=list)
    trigger: Segment | None = None


def _check(workspace: Workspace, data: CampaignData) -> None:
    errors: dict[str, list[str]] = {}

    def refuse(name: str, message: str) -> None:
        errors.setdefault(name, []).append(message)

    if not (data.name or "").strip():
        refuse("name", "Give the campaign a name.")
    if data.channel not in Campaign.Channel.values:
        refuse("channel", "Choose email or SMS.")
    if data.kind not in Campaign.Kind.values:
        refuse("kind", "Choose a broadcast or a triggered campaign.")
    if data.channel == Campaign.Channel.EMAIL and not (data.subject or "").strip():
        refuse("subject", "Give the email a subject.")
    if not (data.body or "").strip():
        refuse("body", "Write the message.")
    for name, source in (("subject", data.subject), ("body", data.body)):
        try:
            rendering.compile_template(source or "", field=name)
        except rendering.RenderError as exc:
            refuse(name, exc.message)
    if data.topic is not None and data.topic.workspace_id != workspace.pk:
        refuse("topic", "Choose a topic of this workspace.")
    chosen = [*data.include, *data.exclude, *([data.trigger] if data.trigger else [])]
    if any(s.workspace_id != workspace.pk for s in chosen):
        refuse("include", "Choose segments of this workspace.")
    both = {s.pk for s in data.include} & {s.pk for s in data.exclude}
    if both:
        refuse("exclude", "A segment cannot be both included and excluded.")
    if data.kind == Campaign.Kind.TRIGGERED:
        if data.trigger is None:
            refuse("trigger", "Choose the segment whose new members get the message.")
        elif data.trigger.pk in {s.pk for s in data.exclude}:
            refuse("exclude", "The trigger segment cannot be excluded.")
    elif not data.include:
        refuse("include", "Choose at least one segment to send to.")
    if errors:
        raise CampaignError(fields=errors)


def _set_links(campaign: Campaign, data: CampaignData) -> None:
    wanted = {(s.pk, Role.INCLUDE) for s in data.include}
    wanted |= {(s.pk, Role.EXCLUDE) for s in data.exclude}
    if data.kind == Campaign.Kind.TRIGGERED and data.trigger is not None:
        wanted.add((data.trigger.pk, Role.TRIGGER))
    have = {(link.segment_id, link.role): link.pk for link in campaign.segment_links.all()}
    gone = [pk for key, pk in have.items() if key not in wanted]
    CampaignSegment.objects.filter(pk__in=gone).delete()
    CampaignSegment.objects.bulk_create(
        [
            CampaignSegment(campaign=campaign, segment_id=segment_id, role=role)
            for segment_id, role in sorted(wanted - set(have))
        ]
    )
    if hasattr(campaign, "_prefetched_objects_cache"):
        campaign._prefetched_objects_cache.pop("segment_links", None)


def _apply(campaign: Campaign, data: CampaignData) -> None:
    campaign.name = data.name.strip()[:200]
    campaign.channel = data.channel
    campaign.kind = data.kind
    campaign.subject = (data.subject or "").strip()[:300]
    campaign.body = data.body or ""
    campaign.topic = data.topic


@transaction.atomic
def campaign_create(*, workspace: Workspace, data: CampaignData, user=None) -> Campaign:
    _check(workspace, data)
    campaign = Campaign(workspace=workspace, created_by=user if _signed_in(user) else None)
    _apply(campaign, data)
    campaign.save()
    _set_links(campaign, data)
    return campaign


@transaction.atomic
def campaign_update(*, campaign: Campaign, data: CampaignData) -> Campaign:
    campaign = _locked(campaign)
    if not campaign.editable:
        raise CampaignError(f"“{campaign.name}” is {campaign.get_status_display().lower()}: it "
                            "can no longer be changed.")  # fmt: skip
    if data.kind != campaign.kind and campaign.status == Status.ACTIVE:
        raise CampaignError("Pause the campaign before changing its kind.", field="kind")
    _check(campaign.workspace, data)
    trigger_before = set(triggers.trigger_ids(campaign))
    _apply(campaign, data)
    campaign.save()
    _set_links(campaign, data)
    if campaign.status == Status.ACTIVE and set(triggers.trigger_ids(campaign)) != trigger_before:
        # A new trigger segment starts from now: who entered it before does not get it.
        campaign.trigger_cursor = triggers.start_cursor(campaign)
        campaign.save(update_fields=["trigger_cursor"])
    return campaign


def _signed_in(user) -> bool:
    return user is not None and getattr(user, "is_authenticated", False)


def _locked(campaign: Campaign) -> Campaign:
    return Campaign.objects.select_for_update().select_related("workspace").get(pk=campaign.pk)


def _needs(campaign: Campaign, kind: str, statuses, doing: str) -> None:
    if campaign.kind != kind:
        what = "a broadcast" if kind == Campaign.Kind.BROADCAST else "a triggered campaign"
        raise CampaignError(f"Only {what} can be {doing}.")
    if campaign.status not in statuses:
        raise CampaignError(
            f"“{campaign.name}” is {campaign.get_status_display().lower()}: "
            f"it cannot be {doing} now."
        )


def _check_saved(campaign: Campaign) -> None:
    """A saved campaign is still whole: its segments and templates may have changed
    since it was saved (a segment archived, a broken template from the admin)."""
    links = list(campaign.segment_links.select_related("segment"))
    _check(
        campaign.workspace,
        CampaignData(
            name=campaign.name,
            channel=campaign.channel,
            kind=campaign.kind,
            subject=campaign.subject,
            body=campaign.body,
            topic=campaign.topic,
            include=[link.segment for link in links if link.role == Role.INCLUDE],
            exclude=[link.segment for link in links if link.role == Role.EXCLUDE],
            trigger=next((link.segment for link in links if link.role == Role.TRIGGER), None),
        ),
    )


SENDABLE = (Status.DRAFT, Status.SCHEDULED, Status.PAUSED)


@transaction.atomic
def campaign_send(*, campaign: Campaign, user=None) -> Job:
    """Send a broadcast now, as a job; a paused one goes on where it stopped."""
    campaign = _locked(campaign)
    _needs(campaign, Campaign.Kind.BROADCAST, SENDABLE, "sent")
    _check_saved(campaign)
    job = job_start(
        workspace=campaign.workspace,
        kind=sending.KIND,
        title=f"Send “{campaign.name}”",
        params={"campaign_id": campaign.pk},
        user=user if _signed_in(user) else None,
    )
    campaign.status, campaign.send_job = Status.SENDING, job
    campaign.save(update_fields=["status", "send_job", "updated_at"])
    return job


def job_subject(job: Job):
    """The campaign a send acts on, for the audit trail (workspaces.audit)."""
    if job.kind != sending.KIND:
        return None
    campaign = (
        Campaign.objects.filter(pk=job.params.get("campaign_id"), workspace_id=job.workspace_id)
        .only("name")
        .first()
    )
    if campaign is None:
        return None
    details = {"label": "Send", "on_members": False}
    return audit.Subject.CAMPAIGN, campaign.pk, campaign.name, details


@transaction.atomic
def campaign_schedule(*, campaign: Campaign, at: datetime) -> Campaign:
    campaign = _locked(campaign)
    _needs(campaign, Campaign.Kind.BROADCAST, SENDABLE, "scheduled")
    if at is None or at <= timezone.now():
        raise CampaignError("Choose a moment in the future.", field="scheduled_at")
    _check_saved(campaign)
    campaign.status, campaign.scheduled_at = Status.SCHEDULED, at
    campaign.save(update_fields=["status", "scheduled_at", "updated_at"])
    return campaign


@transaction.atomic
def campaign_unschedule(*, campaign: Campaign) -> Campaign:
    campaign = _locked(campaign)
    _needs(campaign, Campaign.Kind.BROADCAST, (Status.SCHEDULED,), "unscheduled")
    campaign.status, campaign.scheduled_at = Status.DRAFT, None
    campaign.save(update_fields=["status", "scheduled_at", "updated_at"])
    return campaign


def start_due_broadcasts() -> int:
    """The sweep: send the scheduled broadcasts whose moment has passed."""
    due = Campaign.objects.filter(status=Status.SCHEDULED, scheduled_at__lte=timezone.now())
    started = 0
    for campaign in due.select_related("created_by").order_by("scheduled_at", "pk"):
        try:
            campaign_send(campaign=campaign, user=campaign.created_by)
            started += 1
        except KithError as exc:  # it changed since it was scheduled: say so, go on
            Campaign.objects.filter(pk=campaign.pk, status=Status.SCHEDULED).update(
                status=Status.DRAFT
            )
            sending.logger.warning("Scheduled campaign %s not sent: %s", campaign.pk, exc)
    return started


@transaction.atomic
def campaign_activate(*, campaign: Campaign) -> Campaign:
    """A triggered campaign starts listening: people who enter its trigger segment
    from now on (because their data changed) get it."""
    campaign = _locked(campaign)
    _needs(campaign, Campaign.Kind.TRIGGERED, (Status.DRAFT, Status.PAUSED), "activated")
    _check_saved(campaign)
    campaign.trigger_cursor = triggers.start_cursor(campaign)
    campaign.status, campaign.activated_at = Status.ACTIVE, timezone.now()
    campaign.save(update_fields=["status", "activated_at", "trigger_cursor", "updated_at"])
    return campaign


@transaction.atomic
def campaign_pause(*, campaign: Campaign) -> Campaign:
    """A triggered campaign stops listening; a broadcast being sent stops after its
    current chunk (what is sent stays sent; sending again goes on from there)."""
    campaign = _locked(campaign)
    if campaign.status == Status.ACTIVE:
        campaign.status = Status.PAUSED
        campaign.save(update_fields=["status", "updated_at"])
    elif campaign.status == Status.SENDING:
        job = campaign.send_job
        if job is not None and job.is_open:
            job_cancel(job=job)
            job.refresh_from_db()
        if job is None or not job.is_open:
            campaign.status = Status.PAUSED
            campaign.save(update_fields=["status", "updated_at"])
    else:
        raise CampaignError(
            f"“{campaign.name}” is {campaign.get_status_display().lower()}: "
            "there is nothing to pause."
        )
    return campaign


@transaction.atomic
def campaign_delete(*, campaign: Campaign) -> None:
    campaign = _locked(campaign)
    if campaign.status == Status.SENDING:
        raise CampaignError("Pause the campaign before deleting it: it is being sent.")
    campaign.delete()


def campaign_preview(*, data: CampaignData, contact) -> Message:
    """The message `contact` would get (no tracking); a RenderError names the field."""
    draft = Campaign(
        workspace_id=contact.workspace_id,
        channel=data.channel,
        subject=data.subject or "",
        body=data.body or "",
    )
    return Composer(draft).compose(contact)


# ---------------------------------------------------------------- opens and clicks


def delivery_opened(*, delivery_id: int) -> bool:
    """The open pixel was fetched: the first open is kept. False for no delivery."""
    return _record(delivery_id, "opened_at")


def delivery_clicked(*, delivery_id: int) -> bool:
    """A tracked link was followed: the first click is kept, and counts as an open
    (mail programs that block images still let links through)."""
    return _record(delivery_id, "clicked_at")


def _record(delivery_id: int, column: str) -> bool:
    now = timezone.now()
    delivery = (
        Delivery.objects.filter(pk=delivery_id)
        .values("pk", "contact_id", "campaign__workspace_id", "opened_at", "clicked_at")
        .first()
    )
    if delivery is None:
        return False
    changed = 0
    with transaction.atomic():
        for name in {column, "opened_at"}:
            if delivery[name] is None:
                changed += Delivery.objects.filter(
                    pk=delivery_id, **{f"{name}__isnull": True}
                ).update(**{name: now})
        if changed:
            sending.announce_activity(delivery["campaign__workspace_id"], [delivery["contact_id"]])
    return True
