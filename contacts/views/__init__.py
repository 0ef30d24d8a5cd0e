"""The contact pages, a module per page family: the list and its bulk actions
(listing), one contact (contact), and the workspace settings sections that define
what contacts hold: custom attributes, tags and topics (settings)."""
