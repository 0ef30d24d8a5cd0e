from django.apps import AppConfig


class WorkspacesConfig(AppConfig):
    name = "workspaces"

    def ready(self):
        from django.contrib.auth.signals import user_logged_in

        from workspaces.middleware import start_in_last_used

        # A session starts in the workspace the member used last.
        user_logged_in.connect(
            lambda sender, request, user, **kwargs: start_in_last_used(request, user),
            weak=False,
            dispatch_uid="workspaces.start_in_last_used",
        )
