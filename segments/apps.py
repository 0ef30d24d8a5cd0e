from django.apps import AppConfig


class SegmentsConfig(AppConfig):
    name = "segments"

    def ready(self):
        from contacts import bulk
        from contacts.changes import register_delete_listener, register_listener
        from contacts.filters import register_filter
        from contacts.services import register_attribute_user
        from jobs.sweep import register_sweeper
        from segments import bulk_actions, defaults, filters, membership, pending, selectors
        from workspaces.services import register_workspace_initializer

        register_workspace_initializer(defaults.create_default_segments)
        register_listener(pending.record_change)
        register_sweeper(pending.sweep)
        register_attribute_user(selectors.segments_reading_attribute)
        register_delete_listener(membership.forget_contacts)
        register_filter(filters.CONTACT_LIST_FILTER)  # the contact list's `segment=`
        for action in bulk_actions.ACTIONS:  # "Add to segments", "Remove from segment"
            bulk.register(action)
        from contacts import mass_update
        from segments import actions, jobs  # "Refresh segments", and the actions above as jobs

        bulk.register(mass_update.ACTION)  # the list's bulk bar and a segment's page
        jobs.register()
        actions.register()  # reset score, remove all, delete all of a segment
