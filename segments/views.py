"""The segment pages (not the rule builder: segments/builder_views.py). Views check
access, call a selector or a service, and render; HTMX requests get the fragment
they swap."""

from django.http import Http404
from django.template.loader import render_to_string
from django.utils.safestring import mark_safe
from django.views.decorators.http import require_GET

from segments import selectors
from workspaces.rendering import render_page_or_fragment, wants_fragment

# ---------------------------------------------------------------- the segment page's tabs


def render_tab(request, template: str, context: dict, *, active_tab: str, status: int = 200):
    """A tab of the segment page: the whole page, or for an HTMX tab switch only
    `template#tab` plus the tab bar sent out of band (to move the highlight).

    A tab template extends "segments/segment_base.html" and puts its content in
    {% block tab %}{% partialdef tab inline %}...{% endpartialdef %}{% endblock %};
    `context` must hold `segment`."""
    context = {**context, "active_tab": active_tab}
    response = render_page_or_fragment(request, template, "tab", context, status=status)
    if wants_fragment(request):
        bar = render_to_string("segments/_tab_bar.html", {**context, "oob": True}, request=request)
        response.content = response.content + mark_safe(bar).encode()
    return response


@require_GET
def segment_list(request):
    raise Http404("Not yet.")


@require_GET
def segment_members(request, pk):
    segment = selectors.segment_get(request.workspace, pk)
    return render_tab(
        request, "segments/segment_members.html", {"segment": segment}, active_tab="members"
    )


def _todo(request, pk=None):
    raise Http404("Not yet.")


segment_bulk = segment_create_manual = segment_bulk_create = _todo
segment_members_add = segment_members_remove = segment_candidates = _todo
segment_usage = segment_history = segment_settings = _todo
segment_clone = segment_save_as_list = segment_archive = segment_delete = _todo
contact_segments = contact_segments_add = contact_segments_remove = contact_why = _todo
