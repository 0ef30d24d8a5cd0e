from django.apps import AppConfig


class ContactsConfig(AppConfig):
    name = "contacts"

    def ready(self):
        from contacts import jobs
        from jobs import registry

        # Bulk actions on more than BULK_JOB_THRESHOLD contacts run as this job.
        registry.register(registry.JobKind(jobs.KIND, jobs.LABEL, jobs.run))
