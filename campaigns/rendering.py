"""A campaign's subject and body: Django templates over a contact's fields, rendered in
a sandbox.

- The engine has no loaders and no `{% load %}`, `{% include %}`, `{% extends %}` or
  `{% url %}`: a template sees the contact's values and nothing of the site.
- Only tags and filters whose work is bounded by the template's own size are there:
  no `{% for %}` (nested loops over a value grow exponentially), no padding or number
  formatting with a width taken from the template (`ljust:"999999999"`).
- The context is plain values (text, numbers, the attributes dict), never a model, so
  no method of a contact can be called from a template.
- Every failure is a RenderError (a KithError on the field it concerns): the form
  shows it beside the field, a delivery records it as failed; never a 500.
"""

import re

from django.template import (
    Context,
    Engine,
    Library,
    TemplateSyntaxError,
    defaultfilters,
    defaulttags,
)
from django.template.base import VariableNode

from workspaces.errors import KithError

SAFE_TAGS = (
    "autoescape", "comment", "filter", "firstof", "if", "now", "spaceless", "templatetag",
    "verbatim", "with",
)  # fmt: skip
SAFE_FILTERS = (
    "add", "capfirst", "cut", "date", "default", "default_if_none", "divisibleby", "escape",
    "first", "join", "last", "length", "linebreaksbr", "lower", "make_list", "pluralize",
    "slice", "slugify", "striptags", "time", "title", "truncatechars", "truncatewords",
    "upper", "urlencode", "wordcount", "yesno",
)  # fmt: skip
# The names a template may use: the contact's built-in fields and its attributes.
FIELDS = (
    "email", "phone", "first_name", "last_name", "company", "country", "state", "city",
    "language", "score", "external_id",
)  # fmt: skip
NAMES = (*FIELDS, "attributes")
MAX_OUTPUT = 100_000


def _library() -> Library:
    library = Library()
    library.tags = {name: defaulttags.register.tags[name] for name in SAFE_TAGS}
    library.filters = {name: defaultfilters.register.filters[name] for name in SAFE_FILTERS}
    return library


class SandboxEngine(Engine):
    default_builtins = []


ENGINE = SandboxEngine(loaders=[], libraries={}, autoescape=False)
ENGINE.template_builtins = [_library()]


class RenderError(KithError):
    code = "invalid_template"


def compile_template(source: str, *, field: str):
    """The compiled template, or a RenderError beside `field` naming what is wrong."""
    try:
        template = ENGINE.from_string(source or "")
    except TemplateSyntaxError as exc:
        raise RenderError(_in_words(str(exc)), field=field) from exc
    except Exception as exc:  # the lexer and parser raise more than their own error
        raise RenderError(f"The template cannot be read: {exc}", field=field) from exc
    unknown = sorted(
        {
            name
            for node in template.nodelist.get_nodes_by_type(VariableNode)
            if (name := _first_name(node)) and name not in NAMES
        }
    )
    if unknown:
        raise RenderError(
            f"Unknown field {', '.join(unknown)}: a template can use {', '.join(NAMES)} "
            "(attributes.KEY for a custom attribute).",
            field=field,
        )
    return template


BLOCK_TAG = re.compile(r"Invalid block tag on line (\d+): '([^']*)'")
FILTER = re.compile(r"Invalid filter: '([^']*)'")


def _in_words(error: str) -> str:
    """Django's syntax error, said for a marketer: a tag or filter left out of the
    sandbox is named with what is there instead of "did you forget to load it"."""
    found = BLOCK_TAG.search(error)
    if found and found.group(2) not in SAFE_TAGS and not found.group(2).startswith("end"):
        line, tag = found.groups()
        return (
            f"Line {line}: {{% {tag} %}} cannot be used in a message. "
            f"Tags that can: {', '.join(SAFE_TAGS)}."
        )
    found = FILTER.search(error)
    if found:
        return (
            f"The filter “{found.group(1)}” cannot be used in a message. "
            f"Filters that can: {', '.join(SAFE_FILTERS)}."
        )
    return f"The template cannot be read: {error}"


def _first_name(node: VariableNode) -> str | None:
    var = node.filter_expression.var
    lookups = getattr(var, "lookups", None)
    return lookups[0] if lookups else None


def contact_context(contact) -> dict:
    """What a template sees of a contact: its values, as plain data."""
    values = {name: getattr(contact, name) or "" for name in FIELDS}
    values["score"] = contact.score
    values["attributes"] = dict(contact.attributes or {})
    return values


def render(template, contact, *, field: str) -> str:
    """The template rendered for `contact`; a RenderError when it fails there."""
    try:
        text = template.render(Context(contact_context(contact), autoescape=False))
    except Exception as exc:  # a filter's own error: divisibleby:0, a bad date format
        raise RenderError(f"The template fails for this contact: {exc}", field=field) from exc
    if len(text) > MAX_OUTPUT:
        raise RenderError(
            f"The message would be longer than {MAX_OUTPUT:,} characters.", field=field
        )
    return text


def render_source(source: str, contact, *, field: str) -> str:
    return render(compile_template(source, field=field), contact, field=field)
