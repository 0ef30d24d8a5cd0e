from django.conf import settings
from django.db import models
from django.utils import timezone


class Workspace(models.Model):
    """One team's data. Every other model hangs off a workspace."""

    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=60, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name


class Role(models.TextChoices):
    OWNER = "owner", "Owner"
    ADMIN = "admin", "Admin"
    MARKETER = "marketer", "Marketer"
    VIEWER = "viewer", "Viewer"


# Roles that may change the workspace itself: members, roles and API keys.
MANAGER_ROLES = {Role.OWNER, Role.ADMIN}


class Membership(models.Model):
    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships"
    )
    role = models.CharField(max_length=20, choices=Role.choices, default=Role.MARKETER)
    created_at = models.DateTimeField(auto_now_add=True)
    # When the member last worked in this workspace (at most a minute stale): they sign
    # in to the one they used last.
    last_used_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["workspace", "user"], name="membership_unique_user")
        ]
        ordering = ["workspace__name"]

    def __str__(self):
        return f"{self.user} in {self.workspace} ({self.role})"

    @property
    def can_write(self) -> bool:
        return self.role != Role.VIEWER

    @property
    def can_manage(self) -> bool:
        return self.role in MANAGER_ROLES


class ApiKey(models.Model):
    """A key for the JSON API. Only the SHA-256 of the key is stored: the key itself is
    random (256 bits), so a slow password hash would add nothing but latency."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="api_keys")
    name = models.CharField(max_length=100)
    prefix = models.CharField(max_length=16, help_text="The start of the key, to recognise it.")
    key_hash = models.CharField(max_length=64, unique=True, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = "API key"

    def __str__(self):
        return f"{self.name} ({self.prefix}…)"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None


class Notification(models.Model):
    """An in-app message for one user of one workspace (export ready, import done...)."""

    class Level(models.TextChoices):
        INFO = "info", "Info"
        SUCCESS = "success", "Success"
        ERROR = "error", "Error"

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="notifications")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications"
    )
    level = models.CharField(max_length=10, choices=Level.choices, default=Level.INFO)
    title = models.CharField(max_length=200)
    body = models.TextField(blank=True)
    url = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    read_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["user", "workspace", "-created_at"], name="notification_inbox"),
        ]

    def __str__(self):
        return self.title


class AuditEntry(models.Model):
    """One line of the audit trail: who did what to which thing, when (workspaces.audit
    writes them, in the transaction of the change). The subject is named as it was then,
    so the entries of a deleted segment still read well; the floor knows no segment, so
    the subject is a type, an id and a name, not a foreign key."""

    class Verb(models.TextChoices):
        CREATED = "created", "Created"
        CLONED = "cloned", "Cloned"
        SAVED_AS_LIST = "saved_as_list", "Saved as a list"
        RENAMED = "renamed", "Renamed"
        DESCRIBED = "described", "Description changed"
        TOPICS = "topics", "Topics changed"
        RULE_CHANGED = "rule_changed", "Rule changed"
        ARCHIVED = "archived", "Archived"
        UNARCHIVED = "unarchived", "Unarchived"
        DELETED = "deleted", "Deleted"
        ACTION_STARTED = "action_started", "Action started"
        ACTION_DONE = "action_done", "Action done"
        ACTION_FAILED = "action_failed", "Action failed"
        ACTION_CANCELLED = "action_cancelled", "Action cancelled"
        MEMBER_ADDED = "member_added", "Member added"
        ROLE_CHANGED = "role_changed", "Role changed"
        MEMBER_REMOVED = "member_removed", "Member removed"
        KEY_CREATED = "key_created", "API key created"
        KEY_REVOKED = "key_revoked", "API key revoked"

    class Subject(models.TextChoices):
        SEGMENT = "segment", "Segment"
        MEMBER = "member", "Member"
        API_KEY = "api_key", "API key"
        ATTRIBUTE = "attribute", "Custom attribute"
        TAG = "tag", "Tag"
        TOPIC = "topic", "Topic"
        IMPORT = "import", "Import"
        CAMPAIGN = "campaign", "Campaign"

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="audit_entries")
    # Who: a user, an API key, or neither (the system: beat, a command, a worker).
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    actor_key = models.ForeignKey(
        ApiKey, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    actor_name = models.CharField(max_length=200)  # as it was then: "ann", "API key “Zapier”"
    verb = models.CharField(max_length=30, choices=Verb.choices)
    subject_type = models.CharField(max_length=20, choices=Subject.choices)
    subject_id = models.BigIntegerField(null=True, blank=True)
    subject_name = models.CharField(max_length=200, blank=True)
    # The job an action started (no foreign key: jobs sit above the floor); its outcome
    # entry finds the start's subject by it.
    job_id = models.BigIntegerField(null=True, blank=True)
    details = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = "audit entry"
        verbose_name_plural = "audit entries"
        indexes = [
            models.Index(fields=["workspace", "-created_at", "-id"], name="audit_workspace"),
            models.Index(
                fields=["subject_type", "subject_id", "-created_at", "-id"], name="audit_subject"
            ),
            models.Index(
                fields=["job_id"], name="audit_job", condition=models.Q(job_id__isnull=False)
            ),
        ]

    def __str__(self):
        return f"{self.actor_name} {self.get_verb_display().lower()} {self.subject_name}"
