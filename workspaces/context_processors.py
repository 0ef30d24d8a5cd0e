from workspaces.models import Notification


def workspace(request):
    """The current workspace, the switcher's list and the bell's unread count."""
    current = getattr(request, "workspace", None)
    if current is None:
        return {}
    unread = Notification.objects.filter(
        workspace=current, user=request.user, read_at__isnull=True
    ).count()
    return {
        "workspace": current,
        "membership": request.membership,
        "memberships": request.memberships,
        "unread_notifications": unread,
    }
