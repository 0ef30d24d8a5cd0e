"""Showing segments: badges, explanations of a rule, the contact page's Segments
section, and the segment pickers of the contact list's bulk bar and the contact page.

The pickers list up to 500 manual segments each, twice on the contact list: a template
loop over them was about 40% of the list's time, so they are drawn here in Python,
each name escaped once per request."""

from html import escape

from django import template
from django.utils.safestring import SafeString, mark_safe

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
def manual_segment_choices(context) -> list[tuple[int, str]]:
    """Active manual segments of the current workspace as (id, name), for the contact
    list's bulk bar (whose forms are built without the workspace). Read once per
    request: both segment actions draw from it."""
    workspace, request = context.get("workspace"), context.get("request")
    if workspace is None:
        return []
    cached = getattr(request, "_manual_segment_choices", None)
    if cached is None:
        cached = list(selectors.manual_segment_choices(workspace).values_list("id", "name"))
        if request is not None:
            request._manual_segment_choices = cached
    return cached


@register.simple_tag
def segment_checkboxes(choices, name: str) -> SafeString:
    """A checkbox per segment of `choices`, (id, name) pairs, all named `name`. The
    id is an int, so it is written as is (not localized: "1,234" would be a number
    of the page's text)."""
    name = escape(name)
    return mark_safe(  # noqa: S308 (the name and each label escaped here, ids are ints)
        "".join(
            f'<label class="check"><input type="checkbox" name="{name}" value="{pk:d}"> '
            f"{escape(label)}</label>\n"
            for pk, label in choices
        )
    )


@register.simple_tag
def segment_options(choices, chosen) -> SafeString:
    """An <option> per segment of `choices`, (id, name) pairs; the one whose id is
    `chosen` (a bound field's value, text when posted) selected."""
    chosen = "" if chosen is None else str(chosen)
    return mark_safe(  # noqa: S308 (each label escaped here, ids are ints)
        "".join(
            f'<option value="{pk:d}"{" selected" if str(pk) == chosen else ""}>'
            f"{escape(label)}</option>"
            for pk, label in choices
        )
    )


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
