from django.apps import AppConfig


class CampaignsConfig(AppConfig):
    name = "campaigns"

    def ready(self):
        from campaigns import conditions, sending, services, sweep, tasks
        from jobs import registry
        from jobs import sweep as jobs_sweep
        from segments import entries
        from workspaces import audit

        # Segment rules may name campaign activity (conditions.md): the kind lives
        # here, beside the deliveries it reads, and joins the segments' registry.
        conditions.register()
        registry.register(registry.JobKind(sending.KIND, "Send a campaign", sending.run_send))
        audit.register_job_subject(services.job_subject)  # a send, on the campaign's log
        # Entries into a trigger segment wake a worker; the sweep starts scheduled
        # broadcasts and wakes one again in case a wake-up was lost.
        entries.register_listener(tasks.on_entries)
        jobs_sweep.register_sweeper(sweep.sweep)
