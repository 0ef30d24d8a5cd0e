"""The one place where data is scoped to a workspace.

Views, API handlers and selectors never filter on `workspace` by hand: they ask for
`scoped(Model, workspace)` (or `get_scoped_or_404`), so a forgotten filter cannot
leak another team's rows. Models reach their workspace through WORKSPACE_PATH,
"workspace" unless the model declares another path (a device belongs to a contact).

An object that is not in the workspace is a 404 (NotInThisWorkspace). The middleware
may then ask it whether the object is in another workspace the member belongs to,
and open that one (a link from another workspace); for anyone else it stays a 404
that says nothing of where the object is.
"""

from django.db.models import Model, QuerySet
from django.http import Http404

from workspaces.models import Workspace


def workspace_path(model: type[Model]) -> str:
    return getattr(model, "WORKSPACE_PATH", "workspace")


def scoped(model_or_queryset: type[Model] | QuerySet, workspace: Workspace) -> QuerySet:
    if isinstance(model_or_queryset, QuerySet):
        queryset = model_or_queryset
    else:
        queryset = model_or_queryset._default_manager.all()
    return queryset.filter(**{workspace_path(queryset.model): workspace})


class NotInThisWorkspace(Http404):
    """No such object in the current workspace (it may exist in another one)."""

    def __init__(self, message: str, queryset: QuerySet, lookup: dict):
        super().__init__(message)
        self._queryset = queryset  # not scoped
        self._lookup = lookup

    def workspace_among(self, workspace_ids: list[int]) -> int | None:
        """The id of the workspace among `workspace_ids` that holds the object."""
        if not workspace_ids:
            return None
        path = workspace_path(self._queryset.model)
        found = self._queryset.filter(**{f"{path}__in": workspace_ids}, **self._lookup)
        return found.order_by().values_list(path, flat=True).first()


def get_scoped_or_404(model_or_queryset, workspace: Workspace, **lookup):
    """Like get_object_or_404, but an object of another workspace does not exist."""
    queryset = scoped(model_or_queryset, workspace)
    message = f"No {queryset.model._meta.verbose_name} here."
    try:
        return queryset.get(**lookup)
    except (ValueError, TypeError) as exc:
        raise Http404(message) from exc
    except queryset.model.DoesNotExist as exc:
        if isinstance(model_or_queryset, QuerySet):
            unscoped = model_or_queryset
        else:
            unscoped = model_or_queryset._default_manager.all()
        raise NotInThisWorkspace(message, unscoped, lookup) from exc
