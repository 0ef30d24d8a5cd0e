import uuid

from django.conf import settings
from django.db import models
from django.db.models.functions import Lower

from contacts.models import Contact, Topic
from workspaces.models import Workspace


class Segment(models.Model):
    class Kind(models.TextChoices):
        MANUAL = "manual", "Manual"
        FILTER = "filter", "Filter"

    class Origin(models.TextChoices):
        CREATED = "created", "Created"
        DEFAULT = "default", "Default"
        BULK = "bulk", "Bulk"
        CLONE = "clone", "Clone"
        LIST = "list", "Saved list"

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="segments")
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    kind = models.CharField(max_length=10, choices=Kind.choices)
    origin = models.CharField(max_length=10, choices=Origin.choices, default=Origin.CREATED)
    conditions = models.JSONField(null=True, blank=True)
    topics = models.ManyToManyField(Topic, blank=True, related_name="segments")
    archived = models.BooleanField(default=False)
    # Kept in step with the members table in the same transaction as every change,
    # so the dashboard shows 500 counts without counting millions of rows.
    member_count = models.PositiveIntegerField(default=0)
    refreshed_at = models.DateTimeField(null=True, blank=True)
    # When the rule last changed: people who enter because of that change do not
    # trigger campaigns, but people whose data changed after it do, whichever task
    # (the rule's refresh or the data's) gets to them first.
    rule_changed_at = models.DateTimeField(null=True, blank=True)
    # Set when a whole refresh filled the segment from empty and committed its members
    # before their "entered" history (PostgreSQL, segments.membership.settle_history):
    # the members who joined at this moment have no history row yet. Paid before any
    # other write to the members, so the history keeps its order.
    history_owed_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint("workspace", Lower("name"), name="segment_unique_name_ci")
        ]
        indexes = [
            models.Index(fields=["workspace", "archived", "id"], name="segment_ws_list"),
            # The sweep's look for history owed too long (pending.sweep): the few
            # segments owing, without reading every segment of every workspace.
            models.Index(
                fields=["history_owed_at"],
                condition=models.Q(history_owed_at__isnull=False),
                name="segment_history_owed",
            ),
        ]

    def __str__(self):
        return self.name

    @property
    def is_filter(self) -> bool:
        return self.kind == self.Kind.FILTER


class Source(models.TextChoices):
    """Why someone entered or left a segment."""

    DATA = "data", "Data change"
    RULE = "rule", "Rule change"
    SCHEDULE = "schedule", "Time passing"
    MANUAL = "manual", "Added by hand"
    IMPORT = "import", "Import"
    API = "api", "API"
    REPAIR = "repair", "Repair"


# Why someone entered or left a segment, as the History tab, the contact page and the
# admin say it: {source: (entered, left)}.
CAUSES = {
    Source.DATA: ("Their data changed", "Their data changed"),
    Source.RULE: ("The rule changed", "The rule changed"),
    Source.SCHEDULE: ("Time passed (a time-based condition)",) * 2,
    Source.MANUAL: ("Added by hand", "Removed by hand"),
    Source.IMPORT: ("Added by an import", "Removed by an import"),
    Source.API: ("Added through the API", "Removed through the API"),
    Source.REPAIR: (
        "Repair: the rule holds but they were missing",
        "Repair: the rule does not hold but they were in",
    ),
}


def cause(source: str, *, entered: bool = True) -> str:
    """Why someone entered (or left) a segment, in words."""
    words = CAUSES.get(source)
    return words[0 if entered else 1] if words else source


# Member and history rows are derived data (the rules' results and their log), written
# by the million: their references are not checked by foreign-key constraints in the
# database. Each check locked the contact's row (SELECT ... FOR KEY SHARE), which
# rewrote every contact row a refresh touched: 4.0 of 6.4 s for 187,000 members at a
# million contacts. Django still deletes them with their contact or segment (CASCADE,
# in the ORM); a contact deleted while a refresh or a manual add writes it is removed
# again by the deletion's own pass (membership.forget_missing), and
# `check_segments --repair` finds any filter segment's row left over.
DERIVED = {"db_index": False, "db_constraint": False}


class SegmentMember(models.Model):
    WORKSPACE_PATH = "segment__workspace"

    # No foreign-key indexes of Django's own: (segment, contact) and (contact) below
    # serve both foreign keys, and fewer indexes keep million-row refreshes cheaper.
    # No foreign-key constraints in the database either (DERIVED, below).
    segment = models.ForeignKey(
        Segment, on_delete=models.CASCADE, related_name="members", **DERIVED
    )
    contact = models.ForeignKey(
        Contact, on_delete=models.CASCADE, related_name="memberships", **DERIVED
    )
    joined_at = models.DateTimeField()
    source = models.CharField(max_length=10, choices=Source.choices)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["segment", "contact"], name="segment_member_unique")
        ]
        indexes = [
            # One column, so PostgreSQL keeps each contact's entries as one posting list
            # (deduplication): some four times fewer pages than (contact, segment), and
            # a new segment of 500,000 members touches (and WAL-logs) that many fewer.
            # Lookups by (segment, contact) use segment_member_unique.
            models.Index(fields=["contact"], name="segment_member_by_contact"),
            # The Members tab's order (selectors.MEMBER_ORDER): 51 rows read from the
            # index instead of sorting every member of the segment.
            models.Index(fields=["segment", "-joined_at", "-id"], name="segment_member_recent"),
        ]

    def __str__(self):
        return f"{self.contact} in “{self.segment}”"

    @property
    def cause(self) -> str:
        """Why they joined, in words."""
        return cause(self.source)


class SegmentChange(models.Model):
    """The entered/left history of a segment. `triggers` is False for entries that
    must not start campaigns triggered by the segment (entries caused by a rule
    change, api.md)."""

    class Action(models.TextChoices):
        ENTERED = "entered", "Entered"
        LEFT = "left", "Left"

    WORKSPACE_PATH = "segment__workspace"

    # Served by the (segment, at) and (contact, at) indexes below; no foreign-key
    # constraints in the database (DERIVED).
    segment = models.ForeignKey(
        Segment, on_delete=models.CASCADE, related_name="changes", **DERIVED
    )
    contact = models.ForeignKey(
        Contact, on_delete=models.CASCADE, related_name="segment_changes", **DERIVED
    )
    action = models.CharField(max_length=10, choices=Action.choices)
    source = models.CharField(max_length=10, choices=Source.choices)
    triggers = models.BooleanField(default=True)
    at = models.DateTimeField()

    class Meta:
        indexes = [
            models.Index(fields=["segment", "-at"], name="segment_change_recent"),
            models.Index(fields=["contact", "-at"], name="segment_change_contact"),
        ]

    def __str__(self):
        return f"{self.contact} {self.get_action_display().lower()} “{self.segment}”: {self.cause}"

    @property
    def cause(self) -> str:
        """Why they entered or left, in words."""
        return cause(self.source, entered=self.action == self.Action.ENTERED)


class SegmentDependency(models.Model):
    """ "`segment`'s rule names `depends_on`". Kept with every rule save; PROTECT lets
    the database itself refuse to delete a segment that a rule names, even when the
    rule is saved at the same moment as the delete guard looks."""

    WORKSPACE_PATH = "segment__workspace"

    segment = models.ForeignKey(Segment, on_delete=models.CASCADE, related_name="dependencies")
    depends_on = models.ForeignKey(Segment, on_delete=models.PROTECT, related_name="dependents")

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["segment", "depends_on"], name="segment_dependency_unique"
            )
        ]
        verbose_name_plural = "segment dependencies"

    def __str__(self):
        return f"“{self.segment}” names “{self.depends_on}” in its rule"


# ---------------------------------------------------------------- pending work
# The database, not the broker, is the record of membership work still to do
# (commands.md, "Background work"). segments.pending writes these rows in the
# transaction of the change, and takes and deletes them in the worker.


class PendingChange(models.Model):
    """Contacts whose data changed (one row per announcement, however many contacts),
    whose filter-segment membership is not brought in line yet. `contact_ids` None
    means too many to list: the segments the change can affect are refreshed whole."""

    workspace = models.ForeignKey(
        Workspace, on_delete=models.CASCADE, related_name="+", db_index=False
    )
    contact_ids = models.JSONField(null=True)
    # What changed: {"fields": [...], "tags": bool, "event_names": [...], "devices": bool,
    # "created": bool, "deleted": bool, "segments": [ids of manual segments changed]}
    change = models.JSONField(default=dict)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [models.Index(fields=["workspace", "id"], name="pending_change_ws")]

    def __str__(self):
        count = "all" if self.contact_ids is None else len(self.contact_ids)
        return f"{count} contact(s) changed in workspace {self.workspace_id}"


class PendingRefresh(models.Model):
    """A whole refresh of one segment still to do (its rule changed, it is new, time
    passed, or too many contacts changed): at most one per segment. `token` changes
    each time it is asked for again, so a worker deletes only what it has done."""

    workspace = models.ForeignKey(
        Workspace, on_delete=models.CASCADE, related_name="+", db_index=False
    )
    segment = models.OneToOneField(Segment, on_delete=models.CASCADE, related_name="+")
    source = models.CharField(max_length=10, choices=Source.choices)
    token = models.UUIDField(default=uuid.uuid4)
    requested_at = models.DateTimeField()

    class Meta:
        indexes = [models.Index(fields=["workspace"], name="pending_refresh_ws")]
        verbose_name_plural = "pending refreshes"

    def __str__(self):
        return f"Refresh segment {self.segment_id} ({self.source})"


class RefreshLease(models.Model):
    """Which worker is working through a workspace's pending membership work, until
    when. A worker renews it as it goes; a dead worker's lease runs out."""

    workspace = models.OneToOneField(
        Workspace, on_delete=models.CASCADE, primary_key=True, related_name="+"
    )
    holder = models.CharField(max_length=100)
    expires_at = models.DateTimeField()

    def __str__(self):
        return f"Workspace {self.workspace_id}: {self.holder} until {self.expires_at}"
