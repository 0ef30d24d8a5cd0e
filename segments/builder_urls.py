"""The rule builder: a new filter segment, the Conditions tab of a filter segment, and
the live preview the builder asks for after each change."""

from django.urls import path

from segments import builder_views

urlpatterns = [
    path("new/", builder_views.segment_create, name="create"),
    path("preview/", builder_views.segment_preview, name="preview"),
    path("<int:pk>/conditions/", builder_views.segment_conditions, name="conditions"),
]
