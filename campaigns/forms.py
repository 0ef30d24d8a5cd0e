"""Forms of the campaign pages. They check the shape of the input; campaigns.services
decides what is allowed (segments of the workspace, a trigger for a triggered
campaign, templates that compile) and its errors come back beside their fields
(add_service_errors)."""

from django import forms

from campaigns.models import Campaign
from campaigns.services import CampaignData
from contacts.models import Topic
from segments.models import Segment
from workspaces.forms import ServiceErrorsMixin, name_required
from workspaces.params import IdField, ModelIdsField, parse_id

MAX_BODY = 20_000


class ModelIdField(forms.ModelChoiceField):
    """ModelChoiceField whose value is an id before it reaches a query (Django would
    ask the database for pk=10**30, which it refuses: a 500)."""

    def to_python(self, value):
        if value in self.empty_values:
            return None
        if parse_id(value) is None:
            raise forms.ValidationError(
                self.error_messages["invalid_choice"], code="invalid_choice"
            )
        return super().to_python(value)


class CampaignForm(ServiceErrorsMixin, forms.Form):
    name = forms.CharField(
        label="Name",
        max_length=200,
        error_messages=name_required("campaign"),
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )
    channel = forms.ChoiceField(
        label="Channel", choices=Campaign.Channel.choices, widget=forms.RadioSelect
    )
    kind = forms.ChoiceField(
        label="Kind",
        choices=Campaign.Kind.choices,
        widget=forms.RadioSelect,
        help_text="A broadcast goes once to its audience; a triggered campaign goes to each "
        "person who enters its trigger segment because their data changed.",
    )
    subject = forms.CharField(
        label="Subject",
        max_length=300,
        required=False,
        help_text="Email only. Contact fields in double braces: {{ first_name }}.",
    )
    body = forms.CharField(
        label="Message",
        max_length=MAX_BODY,
        required=False,
        widget=forms.Textarea(attrs={"rows": 10}),
        help_text='Plain text; links are tracked. Use {{ first_name|default:"there" }}, '
        "{{ attributes.plan }} and the other contact fields.",
    )
    topic = ModelIdField(
        label="Topic",
        queryset=Topic.objects.none(),
        required=False,
        empty_label="No topic",
        help_text="Contacts who opted out of this topic are skipped.",
    )
    include = ModelIdsField(
        label="Send to (include segments)",
        queryset=Segment.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="Members of any of these. For a triggered campaign, optional: only "
        "people who are also in one of these get it.",
    )
    exclude = ModelIdsField(
        label="Skip (exclude segments)",
        queryset=Segment.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="Members of any of these never get it.",
    )
    trigger = ModelIdField(
        label="Trigger segment",
        queryset=Segment.objects.none(),
        required=False,
        empty_label="—",
        help_text="Triggered campaigns: who enters this segment gets the message.",
    )
    sample = IdField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args, workspace, segments, topics, **kwargs):
        super().__init__(*args, **kwargs)
        self.workspace = workspace
        for name in ("include", "exclude", "trigger"):
            self.fields[name].queryset = segments
        self.fields["topic"].queryset = topics

    def data_for_service(self) -> CampaignData:
        data = self.cleaned_data
        return CampaignData(
            name=data.get("name") or "",
            channel=data.get("channel") or Campaign.Channel.EMAIL,
            kind=data.get("kind") or Campaign.Kind.BROADCAST,
            subject=data.get("subject") or "",
            body=data.get("body") or "",
            topic=data.get("topic"),
            include=list(data.get("include") or []),
            exclude=list(data.get("exclude") or []),
            trigger=data.get("trigger"),
        )


def initial_of(campaign: Campaign) -> dict:
    links = list(campaign.segment_links.all())
    return {
        "name": campaign.name,
        "channel": campaign.channel,
        "kind": campaign.kind,
        "subject": campaign.subject,
        "body": campaign.body,
        "topic": campaign.topic_id,
        "include": [link.segment_id for link in links if link.role == "include"],
        "exclude": [link.segment_id for link in links if link.role == "exclude"],
        "trigger": next((link.segment_id for link in links if link.role == "trigger"), None),
    }


class ScheduleForm(forms.Form):
    scheduled_at = forms.DateTimeField(
        label="Send at",
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M:%S"],
        error_messages={"required": "Choose when to send it."},
    )
