"""The segment pages, a module per page family: the dashboard (list, bulk archive
and delete), creating manual and bulk segments (create), the segment page's tabs
(members, builder for Conditions, usage, history, settings) and actions (clone, save
as list, archive, delete), and the contact page's side (contact). segments/urls.py
maps them; common holds what several of them share.

Views check access, call a selector or a service, and render; HTMX requests get the
fragment they swap. Every form also works as a plain POST with JavaScript off."""
