"""The rule builder's pages: a new filter segment, the Conditions tab of a filter
segment (save, save as a new segment), and the live preview.

The rule travels as JSON in one form field (segments.forms.RuleForm). The services
validate it; a rule error comes back with its JSON path, shown next to the condition
it names (by the script) and above the textarea (without it)."""

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseBadRequest
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from segments import builder, selectors, services
from segments.conditions import Vocabulary
from segments.forms import ConditionsForm, SegmentCreateForm
from segments.views.common import render_tab, segment_or_404
from workspaces.access import writer_required
from workspaces.params import BadInput, loads_json, parse_id

# A new segment starts with one condition that already makes sense.
STARTING_RULE = {"all": [{"field": "email", "op": "exists"}]}
SAMPLE_SIZE = 10


# ---------------------------------------------------------------- pages


@writer_required
@require_http_methods(["GET", "POST"])
def segment_create(request):
    form = SegmentCreateForm(request.POST or None, initial={"conditions": STARTING_RULE})
    state = BuilderState()
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        if request.POST.get("action") == "preview":
            state.preview_for(form, request.workspace, data["conditions"])
        else:
            try:
                segment = services.segment_create(
                    workspace=request.workspace,
                    name=data["name"],
                    kind="filter",
                    conditions=data["conditions"],
                    description=data["description"],
                    created_by=request.user,
                )
            except services.SegmentError as exc:
                state.error_from(form, exc)
            else:
                messages.success(
                    request, f"Created '{segment.name}'; its members are filled in the background."
                )
                return redirect("segments:detail", pk=segment.pk)
    context = {"form": form, **state.context(request, form, segment=None)}
    status = 400 if form.errors else 200
    return render(request, "segments/builder/create.html", context, status=status)


@require_http_methods(["GET", "POST"])
def segment_conditions(request, pk):
    segment = segment_or_404(request, pk)
    if request.method == "POST" and not request.membership.can_write:
        raise PermissionDenied("Viewers can only read in this workspace.")
    if not segment.is_filter:
        status = 400 if request.method == "POST" else 200
        return render_tab(
            request,
            "segments/builder/conditions.html",
            {"segment": segment},
            active_tab="conditions",
            status=status,
        )
    form = ConditionsForm(request.POST or None, initial={"conditions": segment.conditions})
    if not request.membership.can_write:
        form.fields["conditions"].widget.attrs["readonly"] = True
    state = BuilderState()
    if request.method == "POST" and form.is_valid():
        response = _save_conditions(request, segment, form, state)
        if response is not None:
            return response
    context = {"form": form, "segment": segment, **state.context(request, form, segment=segment)}
    return render_tab(
        request,
        "segments/builder/conditions.html",
        context,
        active_tab="conditions",
        status=400 if form.errors else 200,
    )


def _save_conditions(request, segment, form, state):
    """Save, save as a new segment, or (without JavaScript) preview; a redirect when
    done, else None with the errors put on the form."""
    action = request.POST.get("action", "save")
    conditions = form.cleaned_data["conditions"]
    if action == "preview":
        state.preview_for(form, request.workspace, conditions, segment=segment)
        return None
    if action == "save_as":
        return _save_as_new(request, form, state, conditions)
    try:
        services.segment_update(segment=segment, conditions=conditions)
    except services.SegmentError as exc:
        state.error_from(form, exc)
        return None
    messages.success(
        request,
        f"Saved the conditions of '{segment.name}'; its members follow in the background.",
    )
    return redirect("segments:detail", pk=segment.pk)


def _save_as_new(request, form, state, conditions):
    name = form.cleaned_data["new_name"]
    if not name:
        form.add_error("new_name", "Give the new segment a name.")
        return None
    try:
        created = services.segment_create(
            workspace=request.workspace,
            name=name,
            kind="filter",
            conditions=conditions,
            created_by=request.user,
        )
    except services.SegmentError as exc:
        state.error_from(form, exc)
        return None
    messages.success(
        request,
        f"Created '{created.name}' with these conditions; "
        "its members are filled in the background.",
    )
    return redirect("segments:detail", pk=created.pk)


@require_POST
def segment_preview(request):
    """The live panel: how many contacts the posted rule matches, who would enter and
    leave the segment (when `segment` is given), and a sample; for an invalid rule, its
    error and JSON path (data-error-path). A rule being typed is invalid half the time:
    that is an answer, not a failed request (a 4xx would also be logged as an error in
    the browser's console on every keystroke), so it is a 200 too."""
    segment = None
    raw_id = request.POST.get("segment", "")
    if raw_id:
        if parse_id(raw_id) is None:
            return HttpResponseBadRequest("'segment' is a segment id.")
        segment = segment_or_404(request, parse_id(raw_id))
    context = {"segment": segment}
    try:
        conditions = loads_json(request.POST.get("conditions", ""), what="The rule")
        context["preview"] = selectors.segment_preview(
            workspace=request.workspace,
            conditions=conditions,
            segment=segment,
            sample_size=SAMPLE_SIZE,
            cap=selectors.PREVIEW_COUNT_CAP,
        )
    except BadInput as exc:  # not JSON, or JSON Kith cannot take (NUL, nesting...)
        context["rule_error"] = {"path": "", "message": str(exc)}
    except services.InvalidConditions as exc:
        context["rule_error"] = {"path": exc.path or "", "message": exc.words}
    return render(request, "segments/builder/_preview.html", context)


# ---------------------------------------------------------------- shared


class BuilderState:
    """The rule error and (without JavaScript) the preview that a page shows beside
    its form."""

    def __init__(self):
        self.rule_error = None
        self.preview = None
        self.vocabulary = None  # the workspace's names, read once for the whole page

    def error_from(self, form, exc: services.SegmentError) -> None:
        """A rule's error where the builder draws it; any other beside its field."""
        if isinstance(exc, services.InvalidConditions):
            self._rule_error(form, exc)
        else:
            form.add_service_errors(exc)

    def preview_for(self, form, workspace, conditions, segment=None) -> None:
        self.vocabulary = Vocabulary(workspace.pk)
        try:
            self.preview = selectors.segment_preview(
                workspace=workspace,
                conditions=conditions,
                segment=segment,
                sample_size=SAMPLE_SIZE,
                cap=selectors.PREVIEW_COUNT_CAP,
                vocabulary=self.vocabulary,
            )
        except services.InvalidConditions as exc:
            self._rule_error(form, exc)

    def _rule_error(self, form, exc: services.InvalidConditions) -> None:
        """At its condition, in the builder's words; above the JSON textarea, in the
        JSON's (whoever reads it there typed the JSON)."""
        path = exc.path or ""
        self.rule_error = {"path": path, "message": exc.words}
        form.add_error("conditions", f"At {path}: {exc.message}" if path else exc.message)

    def context(self, request, form, *, segment) -> dict:
        if form.is_bound:  # what was posted, even when a check refused it
            try:
                rule = loads_json(form.data.get("conditions", ""), what="The rule")
            except ValueError:
                rule = None
        else:
            rule = segment.conditions if segment is not None else STARTING_RULE
        return {
            "catalog": builder.catalog(
                request.workspace, segment=segment, vocabulary=self.vocabulary
            ),
            "rule": rule,
            "rule_error": self.rule_error,
            "preview": self.preview,
            "readonly": not request.membership.can_write,
            "preview_url": reverse("segments:preview"),
        }
