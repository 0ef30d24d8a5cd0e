"""Triggered campaigns: a message to each contact who enters the trigger segment
because their data changed, after the campaign was activated.

- The segment's history table is the record: each active campaign keeps the id of
  the last history row it read (`trigger_cursor`) and reads the entries after it
  with triggers=True (entries caused by a rule change have False, api.md). The
  deliveries and the new cursor commit together, so a worker that dies mid-way
  leaves the entries to be read again, and the unique delivery keeps anyone from
  getting the message twice.
- Reading takes the trigger segments' row locks (which every membership write holds
  while it writes history): no entry is being written meanwhile, so every row after
  the highest id seen now is written later and will be read next time.
- segments.entries wakes a worker after entries commit (campaigns.tasks.on_entries);
  the sweep (campaigns.sweep) wakes one for every workspace with active triggered
  campaigns, in case a wake was lost.
- Activation (again, after a pause) starts from the history as it is then: entries
  recorded while a campaign was paused or a draft do not start it.
"""

import logging

from django.db import transaction
from django.db.models import Max

from campaigns import selectors, sending
from campaigns.models import Campaign, CampaignSegment
from contacts.models import Contact
from segments.models import Segment, SegmentChange

logger = logging.getLogger(__name__)

READ_BATCH = 5000


def _active(workspace_id: int | None = None):
    campaigns = Campaign.objects.filter(kind=Campaign.Kind.TRIGGERED, status=Campaign.Status.ACTIVE)
    if workspace_id is not None:
        campaigns = campaigns.filter(workspace_id=workspace_id)
    return campaigns


def _lock_segments(segment_ids: list[int]) -> None:
    """Wait for the membership writes in progress on these segments to commit, and
    hold new ones back until this transaction ends."""
    list(
        Segment.objects.select_for_update(no_key=True)
        .filter(pk__in=segment_ids)
        .order_by("pk")
        .values_list("pk", flat=True)
    )


def history_high() -> int:
    return SegmentChange.objects.aggregate(high=Max("pk"))["high"] or 0


def trigger_ids(campaign: Campaign) -> list[int]:
    """The campaign's trigger segments, read from the database."""
    links = CampaignSegment.objects.filter(campaign=campaign, role=CampaignSegment.Role.TRIGGER)
    return list(links.values_list("segment_id", flat=True))


def start_cursor(campaign: Campaign) -> int:
    """The cursor of a campaign activated now: after every entry recorded so far."""
    _lock_segments(trigger_ids(campaign))
    return history_high()


def read_entries(campaign_id: int) -> int:
    """Queue a delivery for each eligible contact who entered since the cursor; returns
    how many were queued. Skips a campaign another worker is reading."""
    queued = 0
    while True:
        with transaction.atomic():
            campaign = (
                _active()
                .select_for_update(skip_locked=True, of=("self",))
                .filter(pk=campaign_id)
                .first()
            )
            if campaign is None:
                return queued
            links = list(CampaignSegment.objects.filter(campaign=campaign))
            campaign._prefetched_objects_cache = {"segment_links": links}
            triggers = selectors.trigger_segment_ids(campaign)
            if not triggers:
                return queued
            _lock_segments(triggers)
            high = history_high()
            rows = list(
                SegmentChange.objects.filter(
                    segment_id__in=triggers,
                    pk__gt=campaign.trigger_cursor,
                    pk__lte=high,
                    action=SegmentChange.Action.ENTERED,
                    triggers=True,
                )
                .order_by("pk")
                .values_list("pk", "contact_id")[:READ_BATCH]
            )
            full = len(rows) == READ_BATCH
            cursor = rows[-1][0] if full else high
            contact_ids = sorted({contact_id for _, contact_id in rows})
            if contact_ids:
                queued += sending.queue(campaign, eligible(campaign, contact_ids))
            Campaign.objects.filter(pk=campaign.pk).update(trigger_cursor=cursor)
        if not full:
            return queued


def eligible(campaign: Campaign, contact_ids: list[int]) -> list[int]:
    """Of the contacts who entered, those the campaign sends to: in one of its
    include segments (when it names any), in none of its exclude segments, reachable
    and not opted out of its topic."""
    audience = selectors.Audience.of(campaign)
    contacts = Contact.objects.filter(workspace_id=campaign.workspace_id, pk__in=contact_ids)
    if audience.include:
        contacts = contacts.filter(selectors.member_of(audience.include))
    return list(selectors.reachable(contacts, audience).values_list("pk", flat=True))


def process(workspace_id: int | None = None) -> int:
    """Read the new entries of every active triggered campaign (of one workspace) and
    send what is queued. Returns how many messages were sent."""
    sent = 0
    for campaign_id in _active(workspace_id).order_by("pk").values_list("pk", flat=True):
        read_entries(campaign_id)
        campaign = _active().filter(pk=campaign_id).first()
        if campaign is not None:
            sent += sending.send_queued(campaign)
    return sent
