from django.apps import AppConfig


class ContactsConfig(AppConfig):
    name = "contacts"

    def ready(self):
        from contacts import exports, jobs
        from jobs import registry, sweep
        from workspaces import sections

        # Bulk actions on more than BULK_JOB_THRESHOLD contacts run as this job.
        registry.register(registry.JobKind(jobs.KIND, jobs.LABEL, jobs.run))
        registry.register(registry.JobKind(exports.KIND, exports.LABEL, exports.run))
        # Export files older than EXPORT_RETENTION_DAYS go with the periodic sweep.
        sweep.register_sweeper(exports.expire_old)
        # Tabs of the workspace's settings page (pages in contacts.views.settings).
        for key, label, order in [
            ("attributes", "Custom attributes", 20),
            ("tags", "Tags", 30),
            ("topics", "Topics", 40),
        ]:
            sections.register(sections.SettingsSection(key, label, f"contacts:{key}", order))
