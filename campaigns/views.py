"""The campaign pages: the list, the form (with a live preview for a sample contact and
the audience's size), a campaign's page (audience, deliveries, opens and clicks over
time) and its actions (send now, schedule, activate, pause, delete).

Every page needs a member of the workspace and reads through campaigns.selectors,
which scope to it: another workspace's campaign is a 404. Views are thin: they read
the form, call a service and turn its KithError into words beside the field."""

from django.contrib import messages
from django.db import transaction
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_htmx.http import HttpResponseClientRedirect

from campaigns import selectors, services
from campaigns.forms import CampaignForm, ScheduleForm, initial_of
from campaigns.models import Campaign
from campaigns.rendering import RenderError
from contacts.models import Contact
from contacts.selectors import topic_list
from workspaces.access import writer_required
from workspaces.errors import KithError, sentences
from workspaces.params import parse_id
from workspaces.rendering import render_page_or_fragment, wants_fragment
from workspaces.scoping import scoped

PAGE_SIZE = 30
DELIVERIES_PAGE_SIZE = 50
SAMPLES = 10  # contacts of the audience the preview offers


@require_GET
def campaign_list(request):
    page, bad_cursor = selectors.campaign_page(
        request.workspace, request.GET.get("cursor"), limit=PAGE_SIZE
    )
    context = {"page": page, "bad_cursor": bad_cursor}
    return render_page_or_fragment(request, "campaigns/campaign_list.html", "results", context)


# ---------------------------------------------------------------- the form


def _form(request, data=None, initial=None) -> CampaignForm:
    return CampaignForm(
        data,
        initial=initial,
        workspace=request.workspace,
        segments=selectors.segment_choices(request.workspace),
        topics=topic_list(request.workspace),
    )


def _initial_from_query(request) -> dict:
    """ "Create campaign" on a segment's page: that segment as the audience."""
    initial = {"channel": Campaign.Channel.EMAIL, "kind": Campaign.Kind.BROADCAST}
    segment_id = parse_id(request.GET.get("segment"))
    if segment_id is not None:
        segment = selectors.segment_choices(request.workspace).filter(pk=segment_id).first()
        if segment is not None:
            initial["include"] = [segment.pk]
            initial["trigger"] = segment.pk
            initial["name"] = f"Campaign to “{segment.name}”"[:200]
    return initial


def _render_form(request, form, campaign=None, status=200):
    context = {"form": form, "campaign": campaign, **_preview(request, form)}
    return render(request, "campaigns/campaign_form.html", context, status=status)


@writer_required
@require_http_methods(["GET", "POST"])
def campaign_create(request):
    if request.method == "GET":
        return _render_form(request, _form(request, initial=_initial_from_query(request)))
    form = _form(request, request.POST)
    if form.is_valid():
        try:
            campaign = services.campaign_create(
                workspace=request.workspace, data=form.data_for_service(), user=request.user
            )
        except KithError as exc:
            form.add_service_errors(exc)
        else:
            messages.success(request, f"Campaign “{campaign.name}” saved as a draft.")
            return redirect(campaign.get_absolute_url())
    return _render_form(request, form, status=400)


@writer_required
@require_http_methods(["GET", "POST"])
def campaign_edit(request, pk):
    campaign = selectors.campaign_get(request.workspace, pk)
    if request.method == "GET":
        return _render_form(request, _form(request, initial=initial_of(campaign)), campaign)
    form = _form(request, request.POST)
    if form.is_valid():
        try:
            services.campaign_update(campaign=campaign, data=form.data_for_service())
        except KithError as exc:
            form.add_service_errors(exc)
        else:
            messages.success(request, f"Campaign “{form.cleaned_data['name']}” saved.")
            return redirect(campaign.get_absolute_url())
    return _render_form(request, form, campaign, status=400)


def _sample(request, form, samples: list) -> Contact | None:
    """The contact a preview is for: the one chosen, else the first of the audience,
    else the workspace's first."""
    contacts = scoped(Contact, request.workspace)
    chosen = form.cleaned_data.get("sample") if form.is_bound and form.is_valid() else None
    if chosen is None:
        chosen = parse_id(request.GET.get("sample"))
    if chosen is not None:
        contact = contacts.filter(pk=chosen).first()
        if contact is not None:
            return contact
    return samples[0] if samples else contacts.order_by("pk").first()


def _preview(request, form) -> dict:
    """The message for a sample contact and the audience's size, from the form as it
    is (bound and valid, or its initial values)."""
    if form.is_bound:
        if not form.is_valid():
            return {"preview": None, "size": None}
        data = form.data_for_service()
    else:
        data = _initial_data(form)
    audience = selectors.Audience(
        workspace_id=request.workspace.pk,
        include=[s.pk for s in data.include],
        exclude=[s.pk for s in data.exclude],
        channel=data.channel,
        topic_id=data.topic.pk if data.topic else None,
    )
    if data.kind == Campaign.Kind.TRIGGERED and data.trigger is not None:
        audience.include = [data.trigger.pk]  # who is in it now; entries come later
    size = selectors.audience_size(audience)
    samples = list(selectors.audience_contacts(audience).order_by("pk")[:SAMPLES])
    contact = _sample(request, form, samples)
    if contact is not None and contact not in samples:
        samples.insert(0, contact)
    preview, error = None, None
    if contact is not None and (data.subject or data.body):
        try:
            preview = services.campaign_preview(data=data, contact=contact)
        except RenderError as exc:
            error = sentences(exc)
    return {
        "preview": preview,
        "preview_error": error,
        "sample": contact,
        "samples": samples,
        "size": size,
    }


def _initial_data(form) -> services.CampaignData:
    initial = form.initial
    segments = form.fields["include"].queryset
    chosen = {s.pk: s for s in segments.filter(pk__in=initial.get("include") or [])}
    trigger = initial.get("trigger")
    return services.CampaignData(
        name=initial.get("name") or "",
        channel=initial.get("channel") or Campaign.Channel.EMAIL,
        kind=initial.get("kind") or Campaign.Kind.BROADCAST,
        subject=initial.get("subject") or "",
        body=initial.get("body") or "",
        include=list(chosen.values()),
        exclude=list(segments.filter(pk__in=initial.get("exclude") or [])),
        trigger=chosen.get(trigger) or segments.filter(pk=trigger).first() if trigger else None,
    )


@writer_required
@require_POST
def campaign_preview(request):
    """The form's preview and audience size, redrawn as the form changes (HTMX)."""
    form = _form(request, request.POST)
    form.is_valid()
    context = {"form": form, **_preview(request, form)}
    if not wants_fragment(request):
        return render(request, "campaigns/campaign_form.html", context)
    return render(request, "campaigns/campaign_form.html#preview", context)


# ---------------------------------------------------------------- a campaign's page


@require_GET
def campaign_detail(request, pk):
    campaign = selectors.campaign_get(request.workspace, pk)
    page, bad_cursor = selectors.delivery_page(
        campaign, request.GET.get("cursor"), limit=DELIVERIES_PAGE_SIZE
    )
    context = {
        "campaign": campaign,
        "page": page,
        "bad_cursor": bad_cursor,
        "links": list(campaign.segment_links.all()),
    }
    if wants_fragment(request):
        return render(request, "campaigns/campaign_detail.html#deliveries", context)
    context.update(
        counts=selectors.delivery_counts(campaign),
        size=selectors.audience_size(_audience_now(campaign)),
        activity=selectors.activity_by_day(campaign),
        chart_width=selectors.ACTIVITY_DAYS * 4,
        schedule_form=ScheduleForm(),
        job=campaign.send_job,
    )
    return render(request, "campaigns/campaign_detail.html", context)


def _audience_now(campaign: Campaign) -> selectors.Audience:
    audience = selectors.Audience.of(campaign)
    if campaign.is_triggered:
        audience.include = selectors.trigger_segment_ids(campaign)
    return audience


def _act(request, pk, action, done: str):
    campaign = selectors.campaign_get(request.workspace, pk)
    try:
        with transaction.atomic():
            after = action(campaign)
    except KithError as exc:
        messages.error(request, sentences(exc))
    except Exception as exc:  # jobs.services refuses with Django's ValidationError
        if not hasattr(exc, "messages"):
            raise
        messages.error(request, " ".join(exc.messages))
    else:
        if callable(done):
            done = done(after)
        messages.success(request, done.format(name=campaign.name))
    url = campaign.get_absolute_url()
    if wants_fragment(request):
        return HttpResponseClientRedirect(url)
    return redirect(url)


@writer_required
@require_POST
def campaign_send(request, pk):
    return _act(
        request,
        pk,
        lambda c: services.campaign_send(campaign=c, user=request.user),
        "Sending “{name}”: follow it here or on the Activity page.",
    )


@writer_required
@require_POST
def campaign_schedule(request, pk):
    form = ScheduleForm(request.POST)
    if not form.is_valid():
        campaign = selectors.campaign_get(request.workspace, pk)
        messages.error(request, " ".join(e for errors in form.errors.values() for e in errors))
        return redirect(campaign.get_absolute_url())
    at = form.cleaned_data["scheduled_at"]
    return _act(
        request,
        pk,
        lambda c: services.campaign_schedule(campaign=c, at=at),
        "“{name}” will be sent at " + f"{at:%b %-d, %Y %H:%M}.",
    )


@writer_required
@require_POST
def campaign_activate(request, pk):
    return _act(
        request,
        pk,
        lambda c: services.campaign_activate(campaign=c),
        "“{name}” is active: people who enter its trigger segment from now on get it.",
    )


@writer_required
@require_POST
def campaign_pause(request, pk):
    def pause(campaign):
        if campaign.status == Campaign.Status.SCHEDULED:
            return services.campaign_unschedule(campaign=campaign)
        return services.campaign_pause(campaign=campaign)

    def said(campaign) -> str:
        if campaign.status == Campaign.Status.DRAFT:
            return "“{name}” is no longer scheduled."
        if campaign.status == Campaign.Status.SENDING:
            return "“{name}” stops after the messages it is sending now; what is sent stays sent."
        return "“{name}” is paused."

    return _act(request, pk, pause, said)


@writer_required
@require_http_methods(["GET", "POST"])
def campaign_delete(request, pk):
    campaign = selectors.campaign_get(request.workspace, pk)
    if request.method == "GET":
        return render(request, "campaigns/campaign_delete.html", {"campaign": campaign})
    try:
        services.campaign_delete(campaign=campaign)
    except KithError as exc:
        messages.error(request, sentences(exc))
        return redirect(campaign.get_absolute_url())
    messages.success(request, f"Campaign “{campaign.name}” deleted.")
    url = reverse("campaigns:list")
    return HttpResponseClientRedirect(url) if wants_fragment(request) else redirect(url)
