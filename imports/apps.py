from django.apps import AppConfig


class ImportsConfig(AppConfig):
    name = "imports"

    def ready(self):
        from imports import engine
        from jobs import registry

        # The dry run (review) and the real run, each a resumable job (imports.engine).
        registry.register(registry.JobKind(engine.REVIEW, "Import review", engine.run_review))
        registry.register(registry.JobKind(engine.RUN, "Import", engine.run_import))
