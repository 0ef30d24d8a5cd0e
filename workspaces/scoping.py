"""The one place where data is scoped to a workspace.

Views, API handlers and selectors never filter on `workspace` by hand: they ask for
`scoped(Model, workspace)` (or `get_scoped_or_404`), so a forgotten filter cannot
leak another team's rows. Models reach their workspace through WORKSPACE_PATH,
"workspace" unless the model declares another path (a device belongs to a contact).
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


def get_scoped_or_404(model_or_queryset, workspace: Workspace, **lookup):
    """Like get_object_or_404, but an object of another workspace does not exist."""
    queryset = scoped(model_or_queryset, workspace)
    try:
        return queryset.get(**lookup)
    except (queryset.model.DoesNotExist, ValueError, TypeError) as exc:
        raise Http404(f"No {queryset.model._meta.verbose_name} here.") from exc
