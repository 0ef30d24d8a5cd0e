"""What uses a segment: campaigns (trigger, include, exclude) and the rules of other
segments. The delete guard (templates/segments/_used_by.html, on the delete pages and
in the admin) names each user with a link, in a marketer's words, never an id; the
API answers the same as `usage`. Campaigns are reached through the reverse relation
campaign_links: segments imports nothing of campaigns."""

from collections.abc import Callable
from dataclasses import dataclass

from django.db.models import Prefetch, QuerySet

from segments import rules
from segments.models import Segment, SegmentDependency
from workspaces.models import Workspace
from workspaces.scoping import scoped


def segments_with_usage(workspace: Workspace, ids) -> list[Segment]:
    """The workspace's segments with these ids, by name, each with `usage` (as
    segment_usage gives it), in three queries whatever their number."""
    segments = list(
        scoped(Segment, workspace)
        .filter(pk__in=ids)
        .prefetch_related(
            Prefetch("campaign_links", queryset=_campaign_links().order_by("campaign_id")),
            Prefetch("dependents", queryset=_dependents().order_by("segment_id")),
        )
        .order_by("name", "pk")
    )
    for segment in segments:
        segment.usage = _usage(segment.campaign_links.all(), segment.dependents.all())
    return segments


def _campaign_links() -> QuerySet:
    """Campaign links with their campaign, reached through the reverse relation:
    segments imports nothing of campaigns."""
    links = Segment._meta.get_field("campaign_links").related_model
    return links.objects.select_related("campaign")


def _dependents() -> QuerySet:
    return SegmentDependency.objects.select_related("segment")


def _usage(links, dependents) -> dict:
    return {
        "campaigns": [
            {"id": link.campaign_id, "name": link.campaign.name, "role": link.role}
            for link in links
        ],
        "segments": [{"id": dep.segment_id, "name": dep.segment.name} for dep in dependents],
    }


def segment_usage(segment: Segment) -> dict:
    """What uses a segment (api.md's usage body): the campaigns that target it with
    their role, and the segments whose rule names it, by id and name."""
    return _usage(
        _campaign_links().filter(segment=segment).order_by("campaign_id"),
        _dependents().filter(depends_on=segment).order_by("segment_id"),
    )


def is_in_use(usage: dict) -> bool:
    return bool(usage["campaigns"] or usage["segments"])


@dataclass(frozen=True)
class SegmentUser:
    """One user of a segment as the delete guard names it (templates/segments/
    _used_by.html): "the segment VIP buyers", "the campaign Spring sale (trigger)"."""

    kind: str  # "segment" or "campaign"
    id: int
    name: str
    url: str | None = None
    role: str = ""  # a campaign's, in words: "trigger", "include", "exclude"


def segment_users(usage: dict, *, link: Callable[[str, int], str | None]) -> list[SegmentUser]:
    """The users of a segment (segment_usage's dict), segments first, each with the
    URL `link(kind, id)` gives: the app's pages, or the admin's."""
    links = Segment._meta.get_field("campaign_links").related_model
    roles = dict(links._meta.get_field("role").choices)
    users = [
        SegmentUser("segment", use["id"], use["name"], link("segment", use["id"]))
        for use in usage["segments"]
    ]
    users += [
        SegmentUser(
            "campaign",
            use["id"],
            use["name"],
            link("campaign", use["id"]),
            str(roles.get(use["role"], use["role"])).lower(),
        )
        for use in usage["campaigns"]
    ]
    return users


def used_by_words(name: str, usage: dict) -> str:
    """The guard's sentence in plain text, for the API's message: "“VIP” is used by the
    segment “VIP buyers” and the campaign “Spring sale” (trigger)"."""
    parts = [
        f"the {user.kind} “{user.name}”" + (f" ({user.role})" if user.role else "")
        for user in segment_users(usage, link=lambda kind, pk: None)
    ]
    if not parts:  # the database refused, though nothing was seen using it yet
        return f"“{name}” is in use"
    listed = parts[0] if len(parts) == 1 else f"{', '.join(parts[:-1])} and {parts[-1]}"
    return f"“{name}” is used by {listed}"


def segments_delete_plan(chosen: list[Segment]) -> tuple[list[Segment], list[Segment]]:
    """Which of `chosen` (from segments_with_usage) a bulk delete
    (services.segments_delete) would delete and which it would keep: a segment used
    by a campaign stays, and so does one named by a rule that is not deleted with it."""
    going = {segment.pk for segment in chosen}
    changed = True
    while changed:
        changed = False
        for segment in chosen:
            if segment.pk not in going:
                continue
            users = {use["id"] for use in segment.usage["segments"]}
            if segment.usage["campaigns"] or not users <= going:
                going.discard(segment.pk)
                changed = True
    return (
        [segment for segment in chosen if segment.pk in going],
        [segment for segment in chosen if segment.pk not in going],
    )


def segments_reading_attribute(attribute) -> list[str]:
    """The names of the segments whose rules read a custom attribute."""
    field = f"attributes.{attribute.key}".lower()
    segments = scoped(Segment, attribute.workspace).filter(conditions__isnull=False)
    return [
        f"segment '{s.name}'"
        for s in segments.only("name", "conditions").order_by("name")
        if field in rules.reads(s.conditions).fields
    ]
