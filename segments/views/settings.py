"""The Settings tab: name, description and topics (chosen, or new ones typed)."""

from django.contrib import messages
from django.urls import reverse
from django.views.decorators.http import require_http_methods

from segments import services
from segments.forms import SettingsForm
from segments.views.common import done, render_tab, segment_or_404
from workspaces.rendering import wants_fragment


@require_http_methods(["GET", "POST"])
def segment_settings(request, pk):
    segment = segment_or_404(request, pk)
    initial = {
        "name": segment.name,
        "description": segment.description,
        "topics": list(segment.topics.all()),
    }
    form = SettingsForm(request.POST or None, initial=initial, workspace=request.workspace)
    if request.method == "POST" and form.is_valid():
        try:
            services.segment_update(
                segment=segment,
                name=form.cleaned_data["name"],
                description=form.cleaned_data["description"],
                topics=form.topic_names(),
            )
        except services.SegmentError as exc:
            form.add_service_errors(exc)
        else:
            messages.success(request, "Saved the segment's settings.")
            return done(request, reverse("segments:settings", args=[segment.pk]))
    # HTMX only swaps 2xx answers: a form with errors is still the tab to show.
    status = 400 if form.errors and not wants_fragment(request) else 200
    context = {"segment": segment, "form": form}
    return render_tab(
        request, "segments/segment_settings.html", context, active_tab="settings", status=status
    )
