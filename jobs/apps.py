from django.apps import AppConfig


class JobsConfig(AppConfig):
    """Long work in the background, recorded in the database (the floor, beside
    workspaces: it imports nothing above it). Higher apps register job kinds and
    sweepers in their AppConfig.ready."""

    name = "jobs"
