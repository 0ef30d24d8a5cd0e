"""Reads for the JSON API: the filtered contact list and one contact, each with its
tags prefetched, so a page costs the same two queries whatever its size."""

from django.db.models import QuerySet
from django.http import Http404, QueryDict

from contacts.filters import ContactFilter
from contacts.models import Contact
from workspaces.errors import KithError
from workspaces.models import Workspace
from workspaces.params import MAX_ID
from workspaces.scoping import get_scoped_or_404, scoped


def contacts_for_api(workspace: Workspace, params: dict) -> QuerySet:
    """The API's list of contacts (api.md): the contact list's own FilterSet, on the
    API's parameters. A filter that names something the workspace does not have (a
    segment of another workspace) is a 404, as any object of another workspace is;
    another invalid value, a 400 naming it. Blank values are ignored."""
    data = QueryDict(mutable=True)
    for name, value in params.items():
        if value is not None:
            data[name] = str(value)
    queryset = scoped(Contact, workspace).prefetch_related("tags")
    filterset = ContactFilter(data, queryset=queryset, workspace=workspace)
    if not filterset.is_valid():
        errors = filterset.form.errors.as_data()
        if any(e.code == "invalid_choice" for field in errors.values() for e in field):
            raise Http404("No such object in this workspace.")
        raise KithError(fields={name: list(msgs) for name, msgs in filterset.form.errors.items()})
    return filterset.qs


def contact_for_api(workspace: Workspace, contact_id: int) -> Contact:
    """One contact of the workspace with its tags; Http404 for any other id."""
    if not 0 < contact_id <= MAX_ID:
        raise Http404("No contact here.")
    return get_scoped_or_404(Contact.objects.prefetch_related("tags"), workspace, pk=contact_id)
