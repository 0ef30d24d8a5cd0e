"""Campaigns: a message to the people of some segments, and its deliveries.

- A Delivery row is the record of one message to one contact: unique per (campaign,
  contact), so nothing (a retry, a second worker, a re-activated trigger) can send a
  campaign twice to a contact. It is written `queued` before the message leaves and
  marked `sent` (or `failed`) right after, one at a time (campaigns/sending.py).
- A triggered campaign remembers the last segment-history row it looked at
  (`trigger_cursor`): the history table, not a broker message, is the record of who
  entered (campaigns/triggers.py).
"""

from django.conf import settings
from django.db import models
from django.urls import reverse
from django.utils import timezone

from contacts.models import Contact, Topic
from workspaces.models import Workspace


class Campaign(models.Model):
    class Kind(models.TextChoices):
        BROADCAST = "broadcast", "One-off broadcast"
        TRIGGERED = "triggered", "Triggered on segment entry"

    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        SCHEDULED = "scheduled", "Scheduled"
        SENDING = "sending", "Sending"
        SENT = "sent", "Sent"
        ACTIVE = "active", "Active"
        PAUSED = "paused", "Paused"

    class Channel(models.TextChoices):
        EMAIL = "email", "Email"
        SMS = "sms", "SMS"

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="campaigns")
    name = models.CharField(max_length=200)
    channel = models.CharField(max_length=10, choices=Channel.choices, default=Channel.EMAIL)
    kind = models.CharField(max_length=20, choices=Kind.choices, default=Kind.BROADCAST)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.DRAFT)
    topic = models.ForeignKey(Topic, null=True, blank=True, on_delete=models.SET_NULL)
    subject = models.CharField(max_length=300, blank=True)
    body = models.TextField(blank=True)
    # A broadcast sent at a set time: the sweep starts it once this moment has passed.
    scheduled_at = models.DateTimeField(null=True, blank=True)
    # A triggered campaign: when it was (last) activated, and the id of the last
    # segment-history row it has looked at (entries after it are still to be read).
    activated_at = models.DateTimeField(null=True, blank=True)
    trigger_cursor = models.BigIntegerField(default=0)
    send_job = models.ForeignKey(
        "jobs.Job", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self):
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("campaigns:detail", args=[self.pk])

    @property
    def is_triggered(self) -> bool:
        return self.kind == self.Kind.TRIGGERED

    @property
    def editable(self) -> bool:
        """A broadcast that has started sending keeps its message and audience."""
        return self.status in (self.Status.DRAFT, self.Status.SCHEDULED, self.Status.PAUSED) or (
            self.is_triggered and self.status == self.Status.ACTIVE
        )


# How a campaign uses a segment, as a sentence: "“Spring sale” sends to “VIP”".
ROLE_WORDS = {"trigger": "starts when someone enters", "include": "sends to", "exclude": "skips"}


class CampaignSegment(models.Model):
    """A segment a campaign uses, and how: it starts the campaign (trigger), or its
    people are included or excluded."""

    class Role(models.TextChoices):
        TRIGGER = "trigger", "Trigger"
        INCLUDE = "include", "Include"
        EXCLUDE = "exclude", "Exclude"

    WORKSPACE_PATH = "campaign__workspace"

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="segment_links")
    # PROTECT: the database itself refuses to delete a segment a campaign uses, even
    # when a campaign is linked at the same moment as the delete guard looks.
    segment = models.ForeignKey(
        "segments.Segment", on_delete=models.PROTECT, related_name="campaign_links"
    )
    role = models.CharField(max_length=10, choices=Role.choices)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["campaign", "segment", "role"], name="campaign_segment_unique"
            )
        ]

    def __str__(self):
        return f"“{self.campaign}” {ROLE_WORDS.get(self.role, self.role)} “{self.segment}”"


class Delivery(models.Model):
    """One message of a campaign to one contact, with what the contact did with it."""

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        SENT = "sent", "Sent"
        FAILED = "failed", "Failed"

    WORKSPACE_PATH = "campaign__workspace"

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="deliveries")
    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="deliveries")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    queued_at = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField(null=True, blank=True)
    opened_at = models.DateTimeField(null=True, blank=True)
    clicked_at = models.DateTimeField(null=True, blank=True)
    # A worker sending it holds it until then; a dead worker's claim runs out.
    claimed_until = models.DateTimeField(null=True, blank=True)
    error = models.CharField(max_length=500, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["campaign", "contact"], name="delivery_unique")
        ]
        indexes = [
            models.Index(fields=["contact", "campaign"], name="delivery_contact"),
            models.Index(fields=["campaign", "status", "id"], name="delivery_campaign_status"),
            models.Index(fields=["campaign", "-id"], name="delivery_campaign_recent"),
        ]
        verbose_name_plural = "deliveries"

    def __str__(self):
        return f"“{self.campaign}” to {self.contact}"
