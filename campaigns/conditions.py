"""The campaign-activity condition of segment rules (conditions.md, 6):
`{"campaign": ID | "*", "activity": "sent" | "opened" | "clicked", "op": "has" |
"has_not", WINDOW}`: what the contact did with messages of one campaign or of any.

It lives here, beside the deliveries it reads, and campaigns.apps registers it into
the segments' registry of condition kinds: segments imports nothing of campaigns.
"""

from django.db.models import Exists, OuterRef, Q

from campaigns.models import Campaign, Delivery
from segments.conditions import base, windows
from segments.conditions.base import Kind, RuleError, Verdict, category, check_op, choice, options

# activity: (its column, what a marketer says when it happened, and when it did not)
ACTIVITIES = {
    "sent": ("sent_at", "Was sent", "Was not sent"),
    "opened": ("opened_at", "Opened", "Did not open"),
    "clicked": ("clicked_at", "Clicked in", "Did not click in"),
}
HAS_OPS = {"has": "has", "has_not": "has not"}
ACTIVITY_FIELD = "campaign_activity"
LIST_LIMIT = 1000


def load_campaigns(workspace_id: int) -> dict[int, str]:
    return dict(Campaign.objects.filter(workspace_id=workspace_id).values_list("pk", "name"))


def campaign_name(campaign, vocabulary: base.Vocabulary) -> str:
    if campaign == "*":
        return "any campaign"
    return vocabulary.campaigns.get(campaign, f"campaign {campaign} (deleted)")


class CampaignActivityKind(Kind):
    name = "campaign"
    keys = ("campaign", "activity", "op", *windows.KEYS)
    required = ("campaign", "activity", "op")

    def check(self, node, path, vocabulary):
        campaign = node["campaign"]
        if campaign != "*" and (isinstance(campaign, bool) or not isinstance(campaign, int)):
            raise RuleError(path, "'campaign' needs a campaign id, or \"*\" for any campaign.")
        if not base.one_of(node.get("activity"), ACTIVITIES):
            raise RuleError(path, "'activity' is one of sent, opened or clicked.")
        check_op(node, path, "campaign", HAS_OPS)
        windows.check(node, path)

    def reads(self, node, into: base.Reads):
        # Sends, opens and clicks are announced as changes of this pseudo-field
        # (campaigns.sending.ACTIVITY), so only these rules look again.
        into.fields.add(ACTIVITY_FIELD)
        into.time_based |= windows.time_based(node)

    def q(self, node, ctx) -> Q:
        column = ACTIVITIES[node["activity"]][0]
        deliveries = Delivery.objects.filter(contact=OuterRef("pk"), **{f"{column}__isnull": False})
        if node["campaign"] != "*":
            deliveries = deliveries.filter(campaign_id=node["campaign"])
        deliveries = deliveries.filter(windows.q(column, node, ctx.now))
        has = Q(Exists(deliveries))
        return has if node["op"] == "has" else ~has

    def facts(self, contact, reads):
        return list(
            Delivery.objects.filter(contact=contact).values(
                "campaign_id", "sent_at", "opened_at", "clicked_at"
            )
        )

    def evaluate(self, node, facts, ctx):
        column = ACTIVITIES[node["activity"]][0]
        moments = [
            d[column]
            for d in facts
            if d[column] is not None
            and (node["campaign"] == "*" or d["campaign_id"] == node["campaign"])
        ]
        has = any(windows.contains(node, moment, ctx.now) for moment in moments)
        if has:
            actual = "the contact did"
        elif moments:
            actual = "the contact did, but not in that time"
        else:
            actual = "the contact never did"
        return Verdict(has == (node["op"] == "has"), actual)

    def words(self, node, vocabulary):
        _, did, did_not = ACTIVITIES[node["activity"]]
        verb = did if node["op"] == "has" else did_not
        return f"{verb} {campaign_name(node['campaign'], vocabulary)}{windows.words(node)}"

    def menu(self, workspace, vocabulary, *, segment=None):
        campaigns = sorted(vocabulary.campaigns.items(), key=lambda item: (item[1], item[0]))
        campaigns = [{"id": pk, "name": name} for pk, name in campaigns[:LIST_LIMIT]]
        activities = {"opened": "opened", "clicked": "clicked", "sent": "been sent"}
        which = {"*": "any campaign", **{c["id"]: c["name"] for c in campaigns}}
        controls = [
            choice("op", "Has or has not", HAS_OPS),
            choice("activity", "Activity", activities),
            choice("campaign", "Campaign", which, unknown="Campaign {}"),
            {"type": "window"},
        ]
        new = {"campaign": "*", "activity": "opened", "op": "has"}
        return {
            "categories": [category("campaign", "Campaign activity", "campaign", controls, new)],
            "campaigns": campaigns,
            "activities": options(activities),
        }


def register() -> None:
    from segments.conditions import registry

    base.Vocabulary.register_part("campaigns", load_campaigns)
    registry.register(CampaignActivityKind())
