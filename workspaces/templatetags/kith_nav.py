"""The top bar's navigation: an item shows only once its app is installed.

Segments, imports and campaigns arrive in later work; trying to reverse their list
URL lets the bar pick them up without anyone editing the layout."""

from django import template
from django.urls import NoReverseMatch, reverse

register = template.Library()

# (label, URL name, URL namespace that marks the item as current)
NAV_ITEMS = [
    ("Contacts", "contacts:list", "contacts"),
    ("Segments", "segments:list", "segments"),
    ("Imports", "imports:list", "imports"),
    ("Exports", "exports:list", "exports"),
    ("Campaigns", "campaigns:list", "campaigns"),
]


def _url(name: str) -> str | None:
    try:
        return reverse(name)
    except NoReverseMatch:
        return None


@register.simple_tag(takes_context=True)
def nav_items(context) -> list[dict]:
    request = context.get("request")
    match = getattr(request, "resolver_match", None)
    current = match.namespace if match else ""
    items = []
    for label, name, namespace in NAV_ITEMS:
        url = _url(name)
        if url:
            items.append({"label": label, "url": url, "active": current == namespace})
    return items


@register.simple_tag
def url_if_exists(name: str, *args) -> str:
    """The URL of `name`, or "" when that page does not exist (yet)."""
    try:
        return reverse(name, args=args)
    except NoReverseMatch:
        return ""
