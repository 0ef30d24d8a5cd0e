"""The workspace settings sections that define what contacts hold: custom attributes,
tags and topics. They sit in the workspace's settings (their tab is registered from
ContactsConfig.ready) but belong to contacts: the floor app knows nothing of them.

Reading them is open to every member; changing them, to members who can write. A
form that fails is drawn again on its section with the errors beside its fields."""

from django.contrib import messages
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from contacts import selectors, services
from contacts.forms import AttributeForm, AttributeLabelForm, TagRenameForm, TopicForm
from contacts.models import CustomAttribute, Tag, Topic
from workspaces.access import writer_required
from workspaces.errors import KithError
from workspaces.forms import submit
from workspaces.keyset import page_or_first
from workspaces.scoping import get_scoped_or_404

TAGS_PAGE_SIZE = 100


# ---------------------------------------------------------------- custom attributes


@require_GET
def settings_attributes(request):
    return _attributes_page(request)


def _attributes_page(request, *, create_form=None, row_form=None, row_pk=None, status=200):
    attributes = selectors.attribute_list(request.workspace)
    for attribute in attributes:
        if attribute.pk == row_pk:
            attribute.label_form = row_form
        else:
            attribute.label_form = AttributeLabelForm(initial={"label": attribute.label})
        attribute.label_form.auto_id = f"id_attribute{attribute.pk}_%s"
    context = {
        "section": "attributes",
        "attributes": attributes,
        "create_form": create_form or AttributeForm(),
    }
    return render(request, "contacts/settings/attributes.html", context, status=status)


@writer_required
@require_POST
def attribute_create(request):
    form = AttributeForm(request.POST)
    if attribute := submit(form, services.attribute_define, workspace=request.workspace):
        messages.success(request, f"Added the attribute “{attribute.key}”.")
        return redirect("contacts:attributes")
    return _attributes_page(request, create_form=form, status=400)


@writer_required
@require_POST
def attribute_edit(request, pk):
    attribute = get_scoped_or_404(CustomAttribute, request.workspace, pk=pk)
    form = AttributeLabelForm(request.POST)
    if submit(form, services.attribute_update, attribute=attribute):
        messages.success(request, f"Saved the label of “{attribute.key}”.")
        return redirect("contacts:attributes")
    return _attributes_page(request, row_form=form, row_pk=attribute.pk, status=400)


@writer_required
@require_POST
def attribute_delete(request, pk):
    attribute = get_scoped_or_404(CustomAttribute, request.workspace, pk=pk)
    try:
        count = services.attribute_delete(attribute=attribute)
    except KithError as exc:
        messages.error(request, exc.message)
        return redirect("contacts:attributes")
    messages.success(
        request,
        f"Deleted “{attribute.key}” and its value on {count:,} contact{'s' * (count != 1)}.",
    )
    return redirect("contacts:attributes")


# ---------------------------------------------------------------- tags


@require_GET
def settings_tags(request):
    return _tags_page(request)


def _tags_page(request, *, row_form=None, row_pk=None, status=200):
    tags = selectors.tag_list(request.workspace)
    page, _ = page_or_first(
        tags, order=("name", "id"), cursor=request.GET.get("cursor"), limit=TAGS_PAGE_SIZE
    )
    selectors.cap_tag_counts(page.items)
    for tag in page.items:
        tag.rename_form = (
            row_form if tag.pk == row_pk else TagRenameForm(initial={"name": tag.name})
        )
        tag.rename_form.auto_id = f"id_tag{tag.pk}_%s"
    context = {"section": "tags", "page": page, "row_pk": row_pk}
    return render(request, "contacts/settings/tags.html", context, status=status)


@writer_required
@require_POST
def tag_rename(request, pk):
    tag = get_scoped_or_404(Tag, request.workspace, pk=pk)
    old_name = tag.name
    form = TagRenameForm(request.POST)
    if submit(form, services.tag_rename, tag=tag):
        messages.success(request, f"Renamed “{old_name}” to “{tag.name}”.")
        return redirect("contacts:tags")
    return _tags_page(request, row_form=form, row_pk=tag.pk, status=400)


@writer_required
@require_POST
def tag_delete(request, pk):
    tag = get_scoped_or_404(Tag, request.workspace, pk=pk)
    services.tag_delete(tag=tag)
    messages.success(request, f"Deleted the tag “{tag.name}”.")
    return redirect("contacts:tags")


# ---------------------------------------------------------------- topics


@require_GET
def settings_topics(request):
    return _topics_page(request)


def _topics_page(request, *, form=None, status=200):
    context = {
        "section": "topics",
        "topics": selectors.topic_list(request.workspace),
        "form": form or TopicForm(),
    }
    return render(request, "contacts/settings/topics.html", context, status=status)


@writer_required
@require_POST
def topic_create(request):
    form = TopicForm(request.POST)
    if topic := submit(form, services.topic_create, workspace=request.workspace):
        messages.success(request, f"Added the topic “{topic.name}”.")
        return redirect("contacts:topics")
    return _topics_page(request, form=form, status=400)


@writer_required
@require_POST
def topic_delete(request, pk):
    topic = get_scoped_or_404(Topic, request.workspace, pk=pk)
    services.topic_delete(topic=topic)
    messages.success(request, f"Deleted the topic “{topic.name}”.")
    return redirect("contacts:topics")
