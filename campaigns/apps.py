from django.apps import AppConfig


class CampaignsConfig(AppConfig):
    name = "campaigns"

    def ready(self):
        from campaigns import conditions

        # Segment rules may name campaign activity (conditions.md): the kind lives
        # here, beside the deliveries it reads, and joins the segments' registry.
        conditions.register()
