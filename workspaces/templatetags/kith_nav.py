"""The top bar's navigation: an item shows only once its app is installed.

Segments, imports and campaigns arrive in later work; trying to reverse their list
URL lets the bar pick them up without anyone editing the layout."""

from django import template
from django.urls import NoReverseMatch, reverse

from workspaces import sections

register = template.Library()

# (label, URL name, URL namespace that marks the item as current)
NAV_ITEMS = [
    ("Contacts", "contacts:list", "contacts"),
    ("Segments", "segments:list", "segments"),
    ("Imports", "imports:list", "imports"),
    ("Exports", "contacts:exports", "contacts"),  # /exports/, pages of contacts
    ("Campaigns", "campaigns:list", "campaigns"),
]


def _url(name: str) -> str | None:
    try:
        return reverse(name)
    except NoReverseMatch:
        return None


@register.simple_tag(takes_context=True)
def nav_items(context) -> list[dict]:
    """An item is current on the pages of its namespace under its own path (the
    contacts app's settings sections live under /workspaces/settings/, not Contacts)."""
    request = context.get("request")
    match = getattr(request, "resolver_match", None)
    current = match.namespace if match else ""
    path = getattr(request, "path", "")
    items = []
    for label, name, namespace in NAV_ITEMS:
        url = _url(name)
        if url:
            active = current == namespace and path.startswith(url)
            items.append({"label": label, "url": url, "active": active})
    return items


@register.simple_tag
def settings_sections(current: str, membership=None) -> list[dict]:
    """The tabs of the settings page (workspaces.sections) that `membership` may open,
    `current` marked."""
    manager = membership is not None and membership.can_manage
    return [
        {"label": section.label, "url": reverse(section.url_name), "active": section.key == current}
        for section in sections.all_sections()
        if manager or not section.managers_only
    ]


@register.simple_tag
def url_if_exists(name: str, *args) -> str:
    """The URL of `name`, or "" when that page does not exist (yet)."""
    try:
        return reverse(name, args=args)
    except NoReverseMatch:
        return ""
