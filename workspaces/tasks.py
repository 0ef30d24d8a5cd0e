"""Background work of workspaces. Thin: ids in, a service does the work."""

from celery import shared_task
from django.contrib.auth import get_user_model

from workspaces.models import Workspace
from workspaces.services import notification_create


@shared_task(acks_late=True)
def notification_send(
    workspace_id: int, user_id: int, title: str, body: str = "", url: str = "", level="info"
) -> int | None:
    """Create a notification from the background; None when the workspace or the user
    was deleted meanwhile."""
    workspace = Workspace.objects.filter(pk=workspace_id).first()
    user = get_user_model().objects.filter(pk=user_id).first()
    if workspace is None or user is None:
        return None
    notification = notification_create(
        workspace=workspace, user=user, title=title, body=body, url=url, level=level
    )
    return notification.pk
