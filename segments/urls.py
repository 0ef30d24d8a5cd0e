"""Segment pages. The dashboard, the segment page's tabs and actions live in
segments/page_urls.py; the rule builder (Conditions tab, create, live preview) in
segments/builder_urls.py."""

from segments.builder_urls import urlpatterns as builder_urlpatterns
from segments.page_urls import urlpatterns as page_urlpatterns

app_name = "segments"
urlpatterns = page_urlpatterns + builder_urlpatterns
