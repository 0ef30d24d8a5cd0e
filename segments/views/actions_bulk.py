"""The segment page's actions on all its members, each a page that asks first and then
starts a background job (its page opens; a notification says when it is done):

- Mass update: a field and a value; "Preview" counts (capped) the members that
  would change, "Update" starts the job (contacts.mass_update on the set
  "segment=<id>").
- Reset score: a reason and "I agree" (recorded on the job's title and params).
- Remove all members: manual segments only; one confirming click.
- Delete all contacts: the member count first, then the segment's name typed again.

Editors only (writer_required); the segment is the workspace's (segment_or_404)."""

from django import forms
from django.contrib import messages
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from contacts import jobs as contact_jobs
from contacts import mass_update
from contacts.selectors import capped_count
from segments import actions
from segments.views.common import segment_or_404
from workspaces.access import writer_required
from workspaces.errors import KithError
from workspaces.forms import add_service_error


class ResetScoreForm(forms.Form):
    reason = forms.CharField(
        label="Reason",
        max_length=150,
        error_messages={"required": "Give a reason for resetting the scores."},
    )
    agree = forms.BooleanField(
        label="I agree: every member's score becomes 0, and this cannot be undone.",
        error_messages={"required": "Check “I agree” to reset the scores."},
    )


class ConfirmForm(forms.Form):
    pass


class TypedNameForm(forms.Form):
    name = forms.CharField(label="Type the segment's name to confirm", max_length=200)

    def __init__(self, *args, segment, **kwargs):
        super().__init__(*args, **kwargs)
        self.segment = segment

    def clean_name(self):
        name = self.cleaned_data["name"]
        if name.strip() != self.segment.name:
            raise forms.ValidationError(f"Type “{self.segment.name}” exactly to confirm.")
        return name


def _started(request, job):
    messages.info(
        request,
        f"Started in the background: {job.title}. Its progress is below, and you will get "
        "a notification when it is done.",
    )
    return redirect(job.get_absolute_url())


def _page(request, segment, form, *, title, button, help_text, extra=None):
    context = {
        "segment": segment,
        "form": form,
        "title": title,
        "button": button,
        "help_text": help_text,
        "danger": button.startswith(("Delete", "Remove")),
        **(extra or {}),
    }
    return render(
        request, "segments/segment_action.html", context, status=400 if form.errors else 200
    )


def _confirmed(request, segment, form, action, *, title, button, help_text, refusal=""):
    """Reset score, remove all, delete all: the page asks (`help_text` names the
    member count as {members}), then starts the job and opens its page."""
    if refusal:
        form.is_valid()
        form.add_error(None, refusal)
    elif form.is_valid():
        reason = form.cleaned_data.get("reason", "").strip()
        try:
            job = actions.action_start(
                segment=segment, action=action, user=request.user, reason=reason
            )
        except KithError as exc:
            add_service_error(form, exc)
        else:
            return _started(request, job)
    count, more = capped_count(actions.members(segment).contacts())
    members = f"{count:,}{'+' * more}"
    return _page(
        request,
        segment,
        form,
        title=title,
        button=button,
        help_text=help_text.format(members=members),
        extra={"count": count},
    )


@writer_required
@require_http_methods(["GET", "POST"])
def segment_mass_update(request, pk):
    segment = segment_or_404(request, pk)
    data = request.POST if request.method == "POST" else None
    form = mass_update.MassUpdateForm(data, workspace=request.workspace)
    extra = {"preview_button": True}
    if form.is_valid():
        field, value = form.cleaned_data["field"], form.cleaned_data["value"]
        contacts = actions.members(segment)
        try:
            count, more = mass_update.preview(request.workspace, contacts.contacts(), field, value)
            if "confirm" in request.POST:
                job = contact_jobs.bulk_job_start(
                    workspace=request.workspace,
                    action=mass_update.ACTION,
                    data=form.cleaned_data,
                    user=request.user,
                    contacts=contacts,
                )
                return _started(request, job)
        except KithError as exc:
            add_service_error(form, exc)
        else:
            extra.update(preview=count, preview_more=more)
    return _page(
        request,
        segment,
        form,
        title=f"Mass update “{segment.name}”",
        button="Update",
        help_text="Set one field to one value for every member. Preview how many change first.",
        extra=extra,
    )


@writer_required
@require_http_methods(["GET", "POST"])
def segment_reset_score(request, pk):
    segment = segment_or_404(request, pk)
    return _confirmed(
        request,
        segment,
        ResetScoreForm(request.POST if request.method == "POST" else None),
        "reset_score",
        title=f"Reset the score of “{segment.name}”",
        button="Reset now",
        help_text="The score of its {members} members becomes 0.",
    )


@writer_required
@require_http_methods(["GET", "POST"])
def segment_remove_all(request, pk):
    segment = segment_or_404(request, pk)
    return _confirmed(
        request,
        segment,
        # Bound on a filter segment's page too, to carry the refusal.
        ConfirmForm(request.POST if request.method == "POST" or segment.is_filter else None),
        "remove_all",
        title=f"Remove all members of “{segment.name}”",
        button="Remove all members",
        help_text="Its {members} members leave the segment; the contacts stay.",
        refusal="Only a manual segment's members can be removed." if segment.is_filter else "",
    )


@writer_required
@require_http_methods(["GET", "POST"])
def segment_delete_all(request, pk):
    segment = segment_or_404(request, pk)
    return _confirmed(
        request,
        segment,
        TypedNameForm(request.POST if request.method == "POST" else None, segment=segment),
        "delete_all",
        title=f"Delete all contacts of “{segment.name}”",
        button="Delete all contacts",
        help_text=(
            "{members} contacts will be deleted for good, from every list and segment. "
            "Type the segment's name to confirm."
        ),
    )
