"""Background tasks of campaigns. Thin: ids in, triggers or sending does the work. The
broadcast itself is a job (jobs.tasks.run_job runs campaigns.sending.run_send)."""

from celery import shared_task

from campaigns import triggers
from campaigns.models import Campaign, CampaignSegment
from jobs.dispatch import send_now

PROCESS_TRIGGERS = "campaigns.tasks.process_triggers"


@shared_task(acks_late=True)
def process_triggers(workspace_id: int) -> int:
    return triggers.process(workspace_id)


def wake(workspace_id: int, *, even_if_away: bool = False) -> bool:
    return send_now(PROCESS_TRIGGERS, workspace_id, even_if_away=even_if_away)


def on_entries(workspace_id: int, segment_id: int) -> None:
    """segments.entries listener: someone entered `segment_id` (after the commit)."""
    uses = Campaign.objects.filter(
        workspace_id=workspace_id,
        kind=Campaign.Kind.TRIGGERED,
        status=Campaign.Status.ACTIVE,
        segment_links__segment_id=segment_id,
        segment_links__role=CampaignSegment.Role.TRIGGER,
    )
    if uses.exists():
        wake(workspace_id)
