"""Who may do what in the current workspace, checked at the top of a view.

The middleware already refuses every non-GET request from a viewer; these decorators
also keep viewers off the pages that only exist to write (a create form), and keep
members who are not owner or admin away from members and API keys."""

from functools import wraps

from django.core.exceptions import PermissionDenied


def writer_required(view):
    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if request.membership is None or not request.membership.can_write:
            raise PermissionDenied("Viewers can only read in this workspace.")
        return view(request, *args, **kwargs)

    return wrapper


def manager_required(view):
    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if request.membership is None or not request.membership.can_manage:
            raise PermissionDenied("Only owners and admins can do this.")
        return view(request, *args, **kwargs)

    return wrapper
