"""What the segment pages share: the segment of the URL (scoped to the workspace,
with whether its count is being calculated), a tab of the segment page rendered whole
or as an HTMX fragment, where to go after a POST, the posted ids, and the links the
delete guard draws."""

from django.shortcuts import redirect
from django.template.loader import render_to_string
from django.urls import NoReverseMatch, reverse
from django_htmx.http import HttpResponseClientRedirect

from contacts.views.links import add_links
from segments import selectors
from segments.models import Segment
from workspaces.params import parse_ids
from workspaces.rendering import render_page_or_fragment, wants_fragment

MAX_SELECTED = 500  # a workspace holds at most 500 segments (SEGMENT_LIMIT)


def url_or_none(name: str, *args) -> str | None:
    """The URL of a page that may not exist yet (the builder, campaign pages)."""
    try:
        return reverse(name, args=args)
    except NoReverseMatch:
        return None


def app_link(kind: str, pk: int) -> str | None:
    """Where the delete guard links a user of a segment (selectors.segment_users): a
    segment's page, a campaign's once campaigns have pages."""
    return url_or_none("segments:detail" if kind == "segment" else "campaigns:detail", pk)


# The links of a segment's actions menu (segments/_actions_menu.html) and of its row
# on the dashboard, by the name the templates use: segment.links.<name>.
SEGMENT_LINKS = {
    "detail": "segments:detail",
    "conditions": "segments:conditions",
    "settings": "segments:settings",
    "mass_update": "segments:mass_update",
    "reset_score": "segments:reset_score",
    "remove_all": "segments:remove_all",
    "delete_all": "segments:delete_all",
    "delete": "segments:delete",
}


def add_segment_links(segments) -> None:
    """segment.links on each segment, reversed once for all of them: the dashboard's
    50 rows called reverse() 370 times, a quarter of the page's time."""
    add_links(segments, SEGMENT_LINKS)


def posted_ids(request, name="ids", limit=MAX_SELECTED) -> list[int]:
    return parse_ids(request.POST.getlist(name), limit=limit)


def done(request, url: str):
    """After a successful POST: back to `url` (the whole page, also for HTMX)."""
    return HttpResponseClientRedirect(url) if wants_fragment(request) else redirect(url)


def segment_or_404(request, pk) -> Segment:
    segment = selectors.segment_get(request.workspace, pk)
    selectors.mark_calculating([segment])
    return segment


def render_tab(
    request, template: str, context: dict, *, active_tab: str, status: int = 200, oob_count=False
):
    """A tab of the segment page: the whole page, or for an HTMX tab switch only
    `template#tab` plus the tab bar sent out of band (to move the highlight), and the
    header's member count when it may have changed.

    A tab template extends "segments/segment_base.html" and puts its content in
    {% block tab %}{% partialdef tab inline %}...{% endpartialdef %}{% endblock %};
    `context` must hold `segment`."""
    context = {**context, "active_tab": active_tab}
    add_segment_links([context["segment"]])
    response = render_page_or_fragment(request, template, "tab", context, status=status)
    if wants_fragment(request):
        extra = render_to_string("segments/_tab_bar.html", {**context, "oob": True}, request)
        if oob_count:
            extra += render_to_string("segments/_member_count.html", {**context, "oob": True})
        response.content = response.content + extra.encode()
    return response


def people(n: int) -> str:
    return "1 person" if n == 1 else f"{n:,} people"


def segments_count(n: int) -> str:
    return f"{n} segment" if n == 1 else f"{n:,} segments"
