"""Topics: what a segment or campaign is about, and what a contact can opt out of.
A topic's name is unique per workspace, case-insensitively."""

from django.db import IntegrityError, transaction

from contacts.models import Topic
from workspaces import audit
from workspaces.errors import KithError
from workspaces.models import Workspace

MAX_NAME, MAX_DESCRIPTION = 100, 300


@transaction.atomic
def topic_create(*, workspace: Workspace, name: str, description: str = "") -> Topic:
    name, description = (name or "").strip(), (description or "").strip()
    if not name:
        raise KithError("Give the topic a name.", field="name")
    if len(name) > MAX_NAME:
        raise KithError(f"At most {MAX_NAME} characters.", field="name")
    if len(description) > MAX_DESCRIPTION:
        raise KithError(f"At most {MAX_DESCRIPTION} characters.", field="description")
    if Topic.objects.filter(workspace=workspace, name__iexact=name).exists():
        raise KithError(f"There is already a topic '{name}'.", field="name")
    try:
        with transaction.atomic():
            topic = Topic.objects.create(workspace=workspace, name=name, description=description)
    except IntegrityError:
        raise KithError(f"There is already a topic '{name}'.", field="name") from None
    audit.record_on(topic, audit.Verb.CREATED, audit.Subject.TOPIC, name)
    return topic


@transaction.atomic
def topic_delete(*, topic: Topic) -> None:
    audit.record_on(topic, audit.Verb.DELETED, audit.Subject.TOPIC, topic.name)
    topic.delete()
