from django.apps import AppConfig


class ImportsConfig(AppConfig):
    name = "imports"

    def ready(self):
        from imports import engine, services
        from jobs import registry
        from workspaces import audit

        # The dry run (review) and the real run, each a resumable job (imports.engine).
        registry.register(registry.JobKind(engine.REVIEW, "Import review", engine.run_review))
        registry.register(registry.JobKind(engine.RUN, "Import", engine.run_import))
        audit.register_job_subject(services.job_subject)  # a run, on the import's log
