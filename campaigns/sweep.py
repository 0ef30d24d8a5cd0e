"""The campaigns' part of the periodic sweep (jobs.sweep, every
BACKGROUND_SWEEP_SECONDS): start the scheduled broadcasts whose time has come, and
wake a worker for each workspace with an active triggered campaign, in case a wake-up
was lost (its entries, and messages a dead worker left queued, are then read and
sent)."""

from campaigns import services, tasks
from campaigns.models import Campaign


def sweep() -> int:
    started = services.start_due_broadcasts()
    active = Campaign.objects.filter(kind=Campaign.Kind.TRIGGERED, status=Campaign.Status.ACTIVE)
    workspaces = set(active.order_by().values_list("workspace_id", flat=True).distinct())
    return started + sum(
        tasks.wake(workspace_id, even_if_away=True) for workspace_id in sorted(workspaces)
    )
