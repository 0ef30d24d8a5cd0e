"""Reads for the JSON API: the filtered contact list and one contact, each with its
tags prefetched, so a page costs the same two queries whatever its size."""

from django.db.models import QuerySet
from django.db.models.functions import Lower
from django.http import Http404

from contacts.models import Contact, Tag
from contacts.selectors import contact_search
from contacts.services import clean_lookup
from workspaces.models import Workspace
from workspaces.params import MAX_ID
from workspaces.scoping import get_scoped_or_404, scoped


def _by_lookup(queryset: QuerySet, field: str, value: str) -> QuerySet:
    # LOWER(field) = value uses the unique (workspace, LOWER(field)) index.
    return queryset.annotate(**{f"_{field}_key": Lower(field)}).filter(
        **{f"_{field}_key": clean_lookup(value)}
    )


def _by_tag(queryset: QuerySet, workspace: Workspace, name: str) -> QuerySet:
    tag_ids = (
        scoped(Tag, workspace)
        .annotate(_key=Lower("name"))
        .filter(_key=name.strip().lower())
        .values("id")
    )
    return queryset.filter(contact_tags__tag__in=tag_ids)


def contacts_for_api(
    workspace: Workspace,
    *,
    email: str | None = None,
    external_id: str | None = None,
    tag: str | None = None,
    q: str | None = None,
    segment: int | None = None,
) -> QuerySet:
    """The workspace's contacts matching every filter given (blank ones are ignored);
    the caller pages through them with workspaces.keyset.paginate."""
    queryset = scoped(Contact, workspace).prefetch_related("tags")
    if email and email.strip():
        queryset = _by_lookup(queryset, "email", email)
    if external_id and external_id.strip():
        queryset = _by_lookup(queryset, "external_id", external_id)
    if tag and tag.strip():
        queryset = _by_tag(queryset, workspace, tag)
    if q and q.strip():
        queryset = contact_search(queryset, q)
    if segment is not None:
        from segments.selectors import members_filter  # segments builds on contacts

        queryset = queryset.filter(members_filter(workspace, segment))
    return queryset


def contact_for_api(workspace: Workspace, contact_id: int) -> Contact:
    """One contact of the workspace with its tags; Http404 for any other id."""
    if not 0 < contact_id <= MAX_ID:
        raise Http404("No contact here.")
    return get_scoped_or_404(Contact.objects.prefetch_related("tags"), workspace, pk=contact_id)
