import time

import pytest

from workspaces.models import Notification
from workspaces.tasks import notification_send


def test_notification_send_creates_the_notification(workspace, user):
    notification_send.delay(workspace.id, user.id, "Export ready", url="/exports/1/")
    notification = Notification.objects.get()
    assert (notification.title, notification.url) == ("Export ready", "/exports/1/")
    assert notification.user == user and notification.workspace == workspace


def test_notification_send_ignores_a_deleted_user(workspace, user):
    assert notification_send.delay(workspace.id, user.id + 999, "Gone").get() is None
    assert not Notification.objects.exists()


@pytest.mark.services
def test_a_real_worker_runs_the_task(celery_worker_process, workspace, user):
    notification_send.delay(workspace.id, user.id, "From the worker")
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if Notification.objects.filter(user=user, title="From the worker").exists():
            break
        time.sleep(0.2)
    else:
        pytest.fail(f"No notification after 10 s. Worker log:\n{celery_worker_process.log()}")
    assert "workspaces.tasks.notification_send" in celery_worker_process.log()
