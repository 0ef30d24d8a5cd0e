"""Tag conditions: `{"tag": NAME, "op": "has" | "has_not"}`, NAME case-insensitive or
"*" for any tag at all.

Rules name tags, the links hold ids: the workspace's tags are read once per
vocabulary. Tag conditions of one group with the same operator compile to one
subquery ("has A or has B" is "has one of A, B"): a hundred EXISTS subqueries took
PostgreSQL 2 s to plan under ALL and 21 s to run under ANY at a million contacts;
one takes milliseconds.
"""

from typing import NamedTuple

from django.db.models import Count, Exists, OuterRef, Q

from contacts.models import ContactTag, Tag
from segments.conditions import base
from segments.conditions.base import Context, Kind, RuleError, Verdict, category, check_op, choice

HAS_OPS = {"has": "has", "has_not": "does not have"}
LIST_LIMIT = 1000


class TagName(NamedTuple):
    id: int
    name: str


def load_tags(workspace_id: int) -> dict[str, TagName]:
    """The workspace's tags by lower-cased name."""
    rows = Tag.objects.filter(workspace_id=workspace_id).values_list("pk", "name")
    return {name.lower(): TagName(pk, name) for pk, name in rows}


base.Vocabulary.register_part("tags", load_tags)


def has_all(links, tag_ids: list[int]) -> Q:
    if len(tag_ids) == 1:
        return Q(Exists(links.filter(tag_id=tag_ids[0])))
    # Not correlated: the database finds the contacts holding every tag once (a
    # GROUP BY over the links of these tags), instead of counting per contact.
    holders = (
        ContactTag.objects.filter(tag_id__in=tag_ids)
        .values("contact_id")
        .annotate(n=Count("tag_id", distinct=True))
        .filter(n=len(tag_ids))
        .values("contact_id")
    )
    return Q(pk__in=holders)


class TagKind(Kind):
    name = "tag"
    keys = ("tag", "op")
    required = keys

    def check(self, node, path, vocabulary):
        if not isinstance(node["tag"], str) or not node["tag"].strip():
            raise RuleError(path, "'tag' needs a tag name, or \"*\" for any tag.")
        check_op(node, path, "tag", HAS_OPS)

    def reads(self, node, into: base.Reads):
        into.tags = True

    def q(self, node, ctx: Context) -> Q:
        return self._q([node["tag"]], node["op"], "any", ctx)

    def combine(self, conditions, group, ctx):
        parts = []
        for op in ("has", "has_not"):
            same = [c for c in conditions if c["op"] == op]
            if len(same) >= 2:
                parts.append(self._q([c["tag"] for c in same], op, group, ctx))
            else:
                parts += [self.q(c, ctx) for c in same]
        return parts

    def _q(self, names: list[str], op: str, group: str, ctx: Context) -> Q:
        """Tag conditions with the same operator in one group, as one subquery."""
        links = ContactTag.objects.filter(contact=OuterRef("pk"))
        # has A or has B = has one of them; has not A and has not B = has none of them.
        one_of = (group == "any") == (op == "has")
        wanted = {n.strip().lower() for n in names}
        if "*" in wanted:
            if one_of or wanted == {"*"}:
                has = Q(Exists(links))
                return has if op == "has" else ~has
            wanted.discard("*")  # "has * and has A" is "has A"
        tags = ctx.vocabulary.tags
        ids = {tags[name].id if name in tags else None for name in wanted}
        known = sorted(ids - {None})
        if one_of:
            has = Q(Exists(links.filter(tag_id__in=known))) if known else base.NOTHING
        elif None in ids:
            has = base.NOTHING  # nobody has every one of them: one does not exist
        else:
            has = has_all(links, known)
        return has if op == "has" else ~has

    def facts(self, contact, reads):
        return {name.lower() for name in contact.tags.values_list("name", flat=True)}

    def evaluate(self, node, facts, ctx):
        name = node["tag"].strip().lower()
        has = bool(facts) if name == "*" else name in facts
        tags = ", ".join(sorted(facts)) or "none"
        return Verdict(has == (node["op"] == "has"), f"the contact's tags: {tags}")

    def words(self, node, vocabulary):
        name = node["tag"].strip()
        found = vocabulary.tags.get(name.lower())
        if name == "*":
            return "Has at least one tag" if node["op"] == "has" else "Has no tag"
        shown = found.name if found else name
        return f"{'Has' if node['op'] == 'has' else 'Does not have'} the tag {shown}"

    def menu(self, workspace, vocabulary, *, segment=None):
        names = sorted((t.name for t in vocabulary.tags.values()), key=lambda n: (n.lower(), n))
        names = names[:LIST_LIMIT]
        controls = [
            choice("op", "Has or has not", HAS_OPS),
            choice("tag", "Tag", {"*": "any tag", **{n: n for n in names}}),
        ]
        new = {"tag": names[0] if names else "*", "op": "has"}
        return {"categories": [category("tag", "Tag", "tag", controls, new)], "tags": names}
