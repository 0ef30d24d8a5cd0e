"""Showing segments: badges, explanations of a rule, the contact page's Segments
section, and the segment pickers of the contact list's bulk bar."""

from django import template

from segments import selectors

register = template.Library()

EXPLANATION_SEPARATOR = " — "


@register.filter
def condition_parts(text: str) -> dict:
    """An evaluator line "country eq France — the contact's value: 'Spain'" as the
    condition and what the contact has, to show them apart."""
    condition, _, actual = (text or "").partition(EXPLANATION_SEPARATOR)
    return {"condition": condition, "actual": actual}


@register.simple_tag(takes_context=True)
def manual_segment_choices(context):
    """Active manual segments of the current workspace, for the contact list's bulk
    bar (whose forms are built without the workspace). Read once per request: both
    segment actions draw from it."""
    workspace, request = context.get("workspace"), context.get("request")
    if workspace is None:
        return []
    cached = getattr(request, "_manual_segment_choices", None)
    if cached is None:
        cached = list(selectors.manual_segment_choices(workspace))
        if request is not None:
            request._manual_segment_choices = cached
    return cached


@register.inclusion_tag("segments/contact_segments.html#section", takes_context=True)
def contact_segments_section(context, contact):
    """The contact page's Segments section: current segments, entries and exits, and
    "Add to segment" (the same fragment the section's own actions redraw). An
    inclusion tag renders with a context of its own: the page's member and CSRF token
    are handed on."""
    section = selectors.contact_section(context["request"].workspace, contact)
    return {
        **section,
        "membership": context.get("membership"),
        "csrf_token": context.get("csrf_token"),
    }
