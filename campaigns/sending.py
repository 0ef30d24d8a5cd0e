"""Sending a campaign's messages, never twice to one contact.

- A broadcast is a job (jobs app, kind "campaign_send"): it walks the audience in
  contact-id order, a chunk at a time; each chunk's Delivery rows are created `queued`
  in the same transaction as the job's checkpoint (the last contact id done), then
  sent. A job taken over by another worker resumes after the last committed chunk.
- Delivery is unique per (campaign, contact) and rows are inserted with
  ignore_conflicts: a chunk done again, a campaign sent again after a pause, or a
  triggered entry seen twice adds nobody twice.
- Each message is claimed (claimed_until) before it is sent and marked sent (or
  failed) right after, in its own statement: a resumed sender never sends one that is
  marked sent, and two senders never send the same one. The one message a worker
  killed between the mail server's answer and that mark was sending is the only one
  that can go twice, after its claim runs out (CLAIM_SECONDS).
- Sends, opens and clicks are announced as contact changes (field "campaign_activity")
  so segments with campaign-activity rules follow them.
"""

import logging
import time
from datetime import timedelta

from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.db import connection, transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone

from campaigns import selectors
from campaigns.channels import Composer, Outbox
from campaigns.conditions import ACTIVITY_FIELD
from campaigns.models import Campaign, Delivery
from campaigns.rendering import RenderError
from contacts.changes import Change, contacts_changed
from jobs.runner import JobCancelled, LeaseLost

logger = logging.getLogger(__name__)

KIND = "campaign_send"
ACTIVITY = Change(fields={ACTIVITY_FIELD})
HEARTBEAT_EVERY = 50  # messages between two renewals of the job's lease


def claim_seconds() -> int:
    return settings.JOB_LEASE_SECONDS


def batch_size() -> int:
    return max(1, settings.CAMPAIGN_BATCH_SIZE)


def announce_activity(workspace_id: int, contact_ids: list[int]) -> None:
    """Campaign-activity rules may change for these contacts."""
    if contact_ids:
        contacts_changed(workspace_id, contact_ids, ACTIVITY)


def queue(campaign: Campaign, contact_ids: list[int]) -> int:
    """Delivery rows for these contacts, queued; those that have one keep it."""
    now = timezone.now()
    rows = [Delivery(campaign=campaign, contact_id=pk, queued_at=now) for pk in contact_ids]
    before = Delivery.objects.filter(campaign=campaign, contact_id__in=contact_ids).count()
    Delivery.objects.bulk_create(rows, ignore_conflicts=True, batch_size=1000)
    after = Delivery.objects.filter(campaign=campaign, contact_id__in=contact_ids).count()
    return after - before


def _claimable(campaign: Campaign):
    free = Q(claimed_until__isnull=True) | Q(claimed_until__lt=timezone.now())
    return Delivery.objects.filter(free, campaign=campaign, status=Delivery.Status.QUEUED)


# One statement each, written once: built by the ORM for every message, the claim and
# the mark took most of a message's time (measured: 1,000 messages, 11 s of 42 s).
TABLE = Delivery._meta.db_table
CLAIM_SQL = (
    f"UPDATE {TABLE} SET claimed_until = %s WHERE id = %s AND status = 'queued' "
    "AND (claimed_until IS NULL OR claimed_until < %s)"
)
MARK_SQL = (
    f"UPDATE {TABLE} SET status = %s, sent_at = %s, error = %s, claimed_until = NULL "
    "WHERE id = %s AND status = 'queued'"
)


def _moment(value):
    return connection.ops.adapt_datetimefield_value(value)


def _claim(delivery: Delivery) -> bool:
    """Take the delivery to send it, unless it is sent or another sender holds it."""
    now = timezone.now()
    until = now + timedelta(seconds=claim_seconds())
    with connection.cursor() as cursor:
        cursor.execute(CLAIM_SQL, [_moment(until), delivery.pk, _moment(now)])
        return cursor.rowcount == 1


def _mark(delivery: Delivery, status: str, error: str = "") -> None:
    sent_at = _moment(timezone.now()) if status == Delivery.Status.SENT else None
    with connection.cursor() as cursor:
        cursor.execute(MARK_SQL, [status, sent_at, error[:500], delivery.pk])


def _fail_all(campaign: Campaign, error: RenderError) -> int:
    """The message cannot be made (its template is broken): what is queued fails."""
    return Delivery.objects.filter(campaign=campaign, status=Delivery.Status.QUEUED).update(
        status=Delivery.Status.FAILED, error=str(error)[:500], claimed_until=None
    )


def send_queued(campaign: Campaign, *, heartbeat=None, wait_for_claims: bool = False) -> int:
    """Send the campaign's queued deliveries that nobody else is sending; returns how
    many were sent. With `wait_for_claims`, also those a dead sender claimed, once
    their claim runs out (the end of a send job)."""
    try:
        composer = Composer(campaign)
    except RenderError as exc:
        _fail_all(campaign, exc)
        return 0
    sent = 0
    while True:
        batch = list(_claimable(campaign).select_related("contact").order_by("pk")[: batch_size()])
        if not batch:
            if not wait_for_claims or not campaign.deliveries.filter(status="queued").exists():
                return sent
            time.sleep(0.5)  # another sender's claim: wait for it to end or run out
            if heartbeat:
                heartbeat()
            continue
        done = []
        with Outbox(campaign) as outbox:
            for index, delivery in enumerate(batch):
                if heartbeat and index and index % HEARTBEAT_EVERY == 0:
                    heartbeat()
                if not _claim(delivery):
                    continue
                if _send_one(composer, outbox, delivery):
                    sent += 1
                done.append(delivery.contact_id)
        announce_activity(campaign.workspace_id, done)


def _send_one(composer: Composer, outbox: Outbox, delivery: Delivery) -> bool:
    try:
        message = composer.compose(delivery.contact, delivery.pk)
        if not message.to:
            raise RenderError("The contact has no address for this channel any more.")
        outbox.send(message, delivery_id=delivery.pk)
    except Exception as exc:
        logger.warning("Delivery %s failed: %s", delivery.pk, exc)
        _mark(delivery, Delivery.Status.FAILED, str(exc))
        return False
    _mark(delivery, Delivery.Status.SENT)
    return True


# ---------------------------------------------------------------- the broadcast job


def run_send(context) -> None:
    """The job's handler (registered in CampaignsConfig.ready)."""
    job = context.job
    campaign = Campaign.objects.filter(
        workspace=job.workspace, pk=job.params["campaign_id"]
    ).first()
    if campaign is None:
        context.set_result(message="The campaign was deleted before it was sent.")
        return
    try:
        _run(context, campaign)
    except (LeaseLost, SoftTimeLimitExceeded):
        raise  # another worker, or the next task, goes on with it: still sending
    except (JobCancelled, Exception):
        Campaign.objects.filter(pk=campaign.pk, status=Campaign.Status.SENDING).update(
            status=Campaign.Status.PAUSED
        )
        raise
    counts = selectors.delivery_counts(campaign)
    Campaign.objects.filter(pk=campaign.pk).update(status=Campaign.Status.SENT)
    failed = f"; {counts.failed:,} failed" if counts.failed else ""
    context.set_result(
        url=reverse("campaigns:detail", args=[campaign.pk]),
        message=f"Sent “{campaign.name}” to {counts.sent:,} contacts{failed}.",
    )


def _run(context, campaign: Campaign) -> None:
    job = context.job
    contacts = selectors.audience_contacts(selectors.Audience.of(campaign))
    point = job.checkpoint or {}
    if "until" not in point:
        # The audience as it is now, up to its highest id: who joins later is not
        # swept in, who leaves before their chunk is left out.
        until = contacts.order_by("-pk").values_list("pk", flat=True).first() or 0
        point = {"last": 0, "until": until}
        with transaction.atomic():
            context.advance(total=contacts.filter(pk__lte=until).count(), checkpoint=point)

    def heartbeat():
        with transaction.atomic():
            context.advance()

    last, until = point["last"], point["until"]
    handled = Q(status__in=[Delivery.Status.SENT, Delivery.Status.FAILED])
    while True:
        context.raise_if_cancelled()
        send_queued(campaign, heartbeat=heartbeat)  # what an earlier worker left queued
        chunk = contacts.filter(pk__gt=last, pk__lte=until).order_by("pk")
        ids = list(dict.fromkeys(chunk.values_list("pk", flat=True)[: batch_size()]))
        if not ids:
            break
        with transaction.atomic():
            queued = queue(campaign, ids)
            context.advance(
                done=campaign.deliveries.filter(handled).count(),
                counters={"queued": queued},
                checkpoint={"last": ids[-1], "until": until},
            )
        last = ids[-1]
    send_queued(campaign, heartbeat=heartbeat, wait_for_claims=True)
    with transaction.atomic():
        done = campaign.deliveries.filter(handled).count()
        context.advance(done=done, total=done)
