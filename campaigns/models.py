"""Campaigns: a message to the people of some segments. This module holds the data
that segments already need (what uses a segment, and what contacts did with the
messages); sending comes with the campaigns issue."""

from django.conf import settings
from django.db import models

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

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="campaigns")
    name = models.CharField(max_length=200)
    kind = models.CharField(max_length=20, choices=Kind.choices, default=Kind.BROADCAST)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.DRAFT)
    topic = models.ForeignKey(Topic, null=True, blank=True, on_delete=models.SET_NULL)
    subject = models.CharField(max_length=300, blank=True)
    body = models.TextField(blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self):
        return self.name


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

    WORKSPACE_PATH = "campaign__workspace"

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="deliveries")
    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="deliveries")
    sent_at = models.DateTimeField()
    opened_at = models.DateTimeField(null=True, blank=True)
    clicked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["campaign", "contact"], name="delivery_unique")
        ]
        indexes = [models.Index(fields=["contact", "campaign"], name="delivery_contact")]
        verbose_name_plural = "deliveries"

    def __str__(self):
        return f"“{self.campaign}” to {self.contact}"
