"""Contacts and what hangs off them: custom attributes, tags, events, devices, topics.

Emails and external ids are unique per workspace case-insensitively, enforced by the
database with expression indexes on LOWER(). Missing values are NULL for those two (so
they never collide) and "" for the other text fields, as Django does for CharField.
PostgreSQL-only search indexes (text_pattern_ops, pg_trgm) live in migration 0002."""

from django.db import models
from django.db.models.functions import Lower
from django.utils.text import capfirst

from workspaces.models import Workspace

TEXT_FIELDS = [
    "email",
    "phone",
    "first_name",
    "last_name",
    "company",
    "country",
    "state",
    "city",
    "language",
    "external_id",
]
NUMBER_FIELDS = ["score"]
DATE_FIELDS = ["created_at", "updated_at", "last_activity_at"]
BUILTIN_FIELD_TYPES = {
    **{name: "text" for name in TEXT_FIELDS},
    **{name: "number" for name in NUMBER_FIELDS},
    **{name: "date" for name in DATE_FIELDS},
}


class Contact(models.Model):
    # verbose_name is what every page calls a field (contacts.models.field_label): the
    # forms, the filters, the contact page, the rule builder, bulk segments.
    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="contacts")
    external_id = models.CharField("external id", max_length=255, null=True, blank=True)
    email = models.EmailField("email", max_length=254, null=True, blank=True)
    phone = models.CharField("phone", max_length=50, blank=True)
    first_name = models.CharField("first name", max_length=150, blank=True)
    last_name = models.CharField("last name", max_length=150, blank=True)
    company = models.CharField("company", max_length=200, blank=True)
    country = models.CharField("country", max_length=100, blank=True)
    state = models.CharField("state / region", max_length=100, blank=True)
    city = models.CharField("city", max_length=100, blank=True)
    language = models.CharField("language", max_length=35, blank=True)
    score = models.IntegerField("score", default=0)
    attributes = models.JSONField(default=dict, blank=True)
    tags = models.ManyToManyField("Tag", through="ContactTag", related_name="contacts")
    created_at = models.DateTimeField("created", auto_now_add=True)
    updated_at = models.DateTimeField("updated", auto_now=True)
    last_activity_at = models.DateTimeField("last activity", null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint("workspace", Lower("email"), name="contact_unique_email_ci"),
            models.UniqueConstraint(
                "workspace", Lower("external_id"), name="contact_unique_external_id_ci"
            ),
        ]
        indexes = [
            # Keyset pagination and the default ordering of every list.
            models.Index(fields=["workspace", "id"], name="contact_ws_id"),
            # The list's filters and the rules compare these without regard to case,
            # on LOWER() (contacts.filters.ContactFilter, segments' `in`).
            models.Index("workspace", Lower("country"), name="contact_ws_country_ci"),
            models.Index("workspace", Lower("city"), name="contact_ws_city_ci"),
            models.Index("workspace", Lower("language"), name="contact_ws_language_ci"),
            # The list's keyset orders end with id, so its indexes do too.
            models.Index(fields=["workspace", "score", "id"], name="contact_ws_score_id"),
            models.Index(fields=["workspace", "created_at", "id"], name="contact_ws_created_id"),
            models.Index(fields=["workspace", "last_activity_at"], name="contact_ws_activity"),
        ]

    def __str__(self):
        return self.email or self.external_id or self.full_name or f"Contact {self.pk}"

    @property
    def full_name(self) -> str:
        return " ".join(part for part in (self.first_name, self.last_name) if part)


def clean_lookup(value) -> str:
    """The key a contact is found by: emails and external ids are matched
    case-insensitively, ignoring spaces, as the unique LOWER() indexes above hold them."""
    return str(value).strip().lower()


def field_label(name: str) -> str:
    """What the pages call a contact's built-in field: "State / region"."""
    return capfirst(Contact._meta.get_field(name).verbose_name)


class CustomAttribute(models.Model):
    """A typed custom field of a workspace; values live in Contact.attributes[key]."""

    class Type(models.TextChoices):
        TEXT = "text", "Text"
        NUMBER = "number", "Number"
        DATE = "date", "Date"
        BOOLEAN = "boolean", "Yes / no"

    workspace = models.ForeignKey(
        Workspace, on_delete=models.CASCADE, related_name="custom_attributes"
    )
    key = models.CharField(max_length=64)
    label = models.CharField(max_length=100, blank=True)
    type = models.CharField(max_length=10, choices=Type.choices, default=Type.TEXT)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint("workspace", Lower("key"), name="attribute_unique_key_ci")
        ]
        ordering = ["key"]

    def __str__(self):
        return self.label or self.key


class Tag(models.Model):
    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="tags")
    name = models.CharField(max_length=100)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint("workspace", Lower("name"), name="tag_unique_name_ci")
        ]
        ordering = ["name"]

    def __str__(self):
        return self.name


class ContactTag(models.Model):
    WORKSPACE_PATH = "contact__workspace"

    # No single-column indexes: the two below serve both foreign keys, and every
    # index is written with each of millions of tag links.
    contact = models.ForeignKey(
        Contact, on_delete=models.CASCADE, related_name="contact_tags", db_index=False
    )
    tag = models.ForeignKey(
        Tag, on_delete=models.CASCADE, related_name="contact_tags", db_index=False
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["contact", "tag"], name="contact_tag_unique")
        ]
        # (contact, tag) is the unique index; rules ask "who has tag T".
        indexes = [models.Index(fields=["tag", "contact"], name="contact_tag_by_tag")]

    def __str__(self):
        return f"{self.contact_id} has {self.tag_id}"


class Event(models.Model):
    """Something a contact did. Page views are events named `page_view` with a `url`."""

    # Served by the indexes below (no single-column ones: ten events a contact are
    # written with every index).
    workspace = models.ForeignKey(
        Workspace, on_delete=models.CASCADE, related_name="events", db_index=False
    )
    contact = models.ForeignKey(
        Contact, on_delete=models.CASCADE, related_name="events", db_index=False
    )
    name = models.CharField(max_length=200)
    occurred_at = models.DateTimeField()
    properties = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-occurred_at", "-id"]
        indexes = [
            # Rules count a contact's events of one name in a time window.
            models.Index(fields=["contact", "name", "occurred_at"], name="event_contact_name_time"),
            # "Which names exist here" (a skip scan), and a rule's events of one name
            # in a window across the workspace, read from the index alone (a whole-
            # workspace count: segments.conditions.event).
            models.Index(
                fields=["workspace", "name", "occurred_at", "contact"], name="event_ws_name_time"
            ),
        ]

    def __str__(self):
        return f"{self.name} at {self.occurred_at:%Y-%m-%d %H:%M}"


class Device(models.Model):
    class Platform(models.TextChoices):
        IOS = "ios", "iOS"
        ANDROID = "android", "Android"
        WEB = "web", "Web"

    WORKSPACE_PATH = "contact__workspace"

    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="devices")
    platform = models.CharField(max_length=10, choices=Platform.choices)
    identifier = models.CharField(max_length=255, blank=True, help_text="Push token or id.")
    last_seen_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [models.Index(fields=["platform", "contact"], name="device_platform_contact")]

    def __str__(self):
        return f"{self.get_platform_display()} {self.identifier}".strip()


class Topic(models.Model):
    """A subject segments and campaigns are about; contacts may opt out of one."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="topics")
    name = models.CharField(max_length=100)
    description = models.CharField(max_length=300, blank=True)
    opted_out = models.ManyToManyField(
        Contact, through="TopicOptOut", related_name="opted_out_topics", blank=True
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint("workspace", Lower("name"), name="topic_unique_name_ci")
        ]
        ordering = ["name"]

    def __str__(self):
        return self.name


class TopicOptOut(models.Model):
    WORKSPACE_PATH = "topic__workspace"

    topic = models.ForeignKey(Topic, on_delete=models.CASCADE)
    contact = models.ForeignKey(Contact, on_delete=models.CASCADE)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["topic", "contact"], name="topic_opt_out_unique")
        ]
        verbose_name = "topic opt-out"

    def __str__(self):
        return f"{self.contact_id} opted out of {self.topic_id}"
