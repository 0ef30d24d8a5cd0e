"""Reading campaigns: the list, one campaign with its segments, its audience, its
deliveries and its activity over time. Everything is scoped to the workspace
(workspaces.scoping), and every page reads a fixed number of queries.

The audience of a campaign is the members of its include segments (any of them),
minus the members of its exclude segments, minus contacts it cannot reach (no email
for email, no phone for SMS) and contacts opted out of its topic. It is read again
chunk by chunk while sending, so who joins or leaves meanwhile is followed.
"""

from dataclasses import dataclass, field
from datetime import timedelta

from django.db.models import Count, Exists, OuterRef, Prefetch, Q, QuerySet
from django.db.models.functions import TruncDate
from django.utils import timezone

from campaigns.models import Campaign, CampaignSegment, Delivery
from contacts.models import Contact, TopicOptOut
from segments.models import Segment, SegmentMember
from workspaces.keyset import Page, page_or_first
from workspaces.models import Workspace
from workspaces.scoping import get_scoped_or_404, scoped

Role = CampaignSegment.Role


@dataclass
class Audience:
    """Who a campaign is for, as chosen (ids), before or after it is saved."""

    workspace_id: int
    include: list[int] = field(default_factory=list)
    exclude: list[int] = field(default_factory=list)
    channel: str = Campaign.Channel.EMAIL
    topic_id: int | None = None

    @classmethod
    def of(cls, campaign: Campaign) -> "Audience":
        """A campaign's audience; its segment links prefetched or read here."""
        links = list(campaign.segment_links.all())
        return cls(
            workspace_id=campaign.workspace_id,
            include=[link.segment_id for link in links if link.role == Role.INCLUDE],
            exclude=[link.segment_id for link in links if link.role == Role.EXCLUDE],
            channel=campaign.channel,
            topic_id=campaign.topic_id,
        )


def member_of(segment_ids) -> Exists:
    return Exists(
        SegmentMember.objects.filter(segment_id__in=list(segment_ids), contact=OuterRef("pk"))
    )


def _no_address(channel: str) -> Q:
    if channel == Campaign.Channel.SMS:
        return Q(phone="")
    return Q(email__isnull=True) | Q(email="")


def _opted_out(topic_id: int | None) -> Q:
    if topic_id is None:
        return Q(pk__in=[])
    return Q(Exists(TopicOptOut.objects.filter(topic_id=topic_id, contact=OuterRef("pk"))))


def reachable(contacts: QuerySet, audience: Audience) -> QuerySet:
    """`contacts` without the excluded, the unreachable and the opted out."""
    if audience.exclude:
        contacts = contacts.exclude(member_of(audience.exclude))
    return contacts.exclude(_no_address(audience.channel)).exclude(_opted_out(audience.topic_id))


def audience_contacts(audience: Audience) -> QuerySet:
    """The contacts a broadcast sends to (a queryset of Contact)."""
    contacts = Contact.objects.filter(workspace_id=audience.workspace_id)
    if not audience.include:
        return contacts.none()
    return reachable(contacts.filter(member_of(audience.include)), audience)


@dataclass
class AudienceSize:
    in_segments: int = 0  # members of the include segments
    excluded: int = 0  # of those, in an exclude segment
    no_address: int = 0  # not excluded, with no email (or phone for SMS)
    opted_out: int = 0  # not excluded, reachable, opted out of the topic
    size: int = 0  # who it sends to


def audience_size(audience: Audience) -> AudienceSize:
    """How many it sends to and why the others are skipped, in one query."""
    if not audience.include:
        return AudienceSize()
    contacts = Contact.objects.filter(
        member_of(audience.include), workspace_id=audience.workspace_id
    )
    excluded = Q(member_of(audience.exclude)) if audience.exclude else Q(pk__in=[])
    no_address, opted_out = _no_address(audience.channel), _opted_out(audience.topic_id)
    counts = contacts.aggregate(
        in_segments=Count("pk"),
        excluded=Count("pk", filter=excluded),
        no_address=Count("pk", filter=~excluded & no_address),
        opted_out=Count("pk", filter=~excluded & ~no_address & opted_out),
    )
    size = counts["in_segments"] - counts["excluded"] - counts["no_address"] - counts["opted_out"]
    return AudienceSize(**counts, size=size)


def trigger_segment_ids(campaign: Campaign) -> list[int]:
    return [link.segment_id for link in campaign.segment_links.all() if link.role == Role.TRIGGER]


# ---------------------------------------------------------------- pages


def _links() -> Prefetch:
    return Prefetch(
        "segment_links",
        queryset=CampaignSegment.objects.select_related("segment").order_by(
            "role", "segment__name"
        ),
    )


def campaign_list(workspace: Workspace) -> QuerySet:
    """The workspace's campaigns, newest first, with their segments."""
    return (
        scoped(Campaign, workspace)
        .select_related("topic")
        .prefetch_related(_links())
        .order_by("-created_at", "-id")
    )


def campaign_page(workspace: Workspace, cursor: str | None, limit: int = 50) -> tuple[Page, bool]:
    """A keyset page of campaigns, each with `sent_count` and `opened_count`: counted
    for the page's campaigns only, in one query (counting in the list's own query
    would count the deliveries of every campaign before the page is cut)."""
    page, bad_cursor = page_or_first(
        campaign_list(workspace), order=("-created_at", "-id"), cursor=cursor, limit=limit
    )
    counts = {
        row["campaign_id"]: row
        for row in Delivery.objects.filter(campaign__in=[c.pk for c in page.items])
        .values("campaign_id")
        .annotate(
            sent=Count("pk", filter=Q(status=Delivery.Status.SENT)),
            opened=Count("pk", filter=Q(opened_at__isnull=False)),
        )
        .order_by()
    }
    for campaign in page.items:
        row = counts.get(campaign.pk, {})
        campaign.sent_count, campaign.opened_count = row.get("sent", 0), row.get("opened", 0)
    return page, bad_cursor


def campaign_get(workspace: Workspace, pk) -> Campaign:
    """One campaign of the workspace (404 otherwise) with its segments and topic."""
    queryset = Campaign.objects.select_related("topic", "send_job").prefetch_related(_links())
    return get_scoped_or_404(queryset, workspace, pk=pk)


def segment_choices(workspace: Workspace) -> QuerySet:
    """The segments a campaign can use: the workspace's active ones."""
    return scoped(Segment, workspace).filter(archived=False).order_by("name", "id")


@dataclass
class DeliveryCounts:
    queued: int = 0
    sent: int = 0
    failed: int = 0
    opened: int = 0
    clicked: int = 0

    @property
    def total(self) -> int:
        return self.queued + self.sent + self.failed


def delivery_counts(campaign: Campaign) -> DeliveryCounts:
    counts = campaign.deliveries.aggregate(
        queued=Count("pk", filter=Q(status=Delivery.Status.QUEUED)),
        sent=Count("pk", filter=Q(status=Delivery.Status.SENT)),
        failed=Count("pk", filter=Q(status=Delivery.Status.FAILED)),
        opened=Count("pk", filter=Q(opened_at__isnull=False)),
        clicked=Count("pk", filter=Q(clicked_at__isnull=False)),
    )
    return DeliveryCounts(**counts)


def delivery_page(campaign: Campaign, cursor: str | None, limit: int = 50) -> tuple[Page, bool]:
    """The campaign's deliveries, newest first, a keyset page at a time."""
    deliveries = Delivery.objects.filter(campaign=campaign).select_related("contact")
    return page_or_first(deliveries, order=("-id",), cursor=cursor, limit=limit)


ACTIVITY_DAYS = 30


def activity_by_day(campaign: Campaign, days: int = ACTIVITY_DAYS) -> list[dict]:
    """Sends, opens and clicks per day over the last `days` days (two queries)."""
    today = timezone.localdate()
    start = today - timedelta(days=days - 1)
    rows = {start + timedelta(days=n): {"sent": 0, "opened": 0, "clicked": 0} for n in range(days)}
    since = timezone.now() - timedelta(days=days)
    for column, key in (("sent_at", "sent"), ("opened_at", "opened"), ("clicked_at", "clicked")):
        per_day = (
            campaign.deliveries.filter(**{f"{column}__gte": since})
            .annotate(day=TruncDate(column))
            .values("day")
            .annotate(n=Count("pk"))
            .order_by()
        )
        for row in per_day:
            if row["day"] in rows:
                rows[row["day"]][key] = row["n"]
    peak = max((max(r.values()) for r in rows.values()), default=0) or 1
    days_out = []
    for index, (day, counts) in enumerate(sorted(rows.items())):
        # Bar geometry of the chart (viewBox 4 units a day, 100 high): three bars a day.
        bars = []
        for offset, key in enumerate(("sent", "opened", "clicked")):
            height = round(counts[key] * 100 / peak)
            if counts[key]:
                bars.append({"kind": key, "x": index * 4 + offset, "y": 100 - height, "h": height})
        days_out.append({"day": day, **counts, "bars": bars})
    return days_out
