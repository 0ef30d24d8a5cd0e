"""Reads of contacts: the filtered list, one contact, the catalog of tags, attributes
and topics for the pages (views hand request.GET to these and render what comes
back), and the look-ups the services and other apps make (contacts by id, email or
external id; the workspace's attribute definitions)."""

from dataclasses import dataclass

from django.contrib.postgres.fields import ArrayField
from django.db import connection
from django.db.models import (
    BigIntegerField,
    Count,
    F,
    IntegerField,
    Lookup,
    OuterRef,
    Prefetch,
    QuerySet,
    Subquery,
    TextField,
    Value,
)
from django.db.models.functions import Lower

from contacts.filters import ContactFilter, contact_search  # noqa: F401 (used by segments)
from contacts.models import (
    Contact,
    ContactTag,
    CustomAttribute,
    Device,
    Event,
    Tag,
    Topic,
    clean_lookup,
)
from workspaces.keyset import Page, page_or_first
from workspaces.models import Workspace
from workspaces.params import MAX_ID
from workspaces.scoping import get_scoped_or_404, scoped

# Keyset orders: the last field is unique, as workspaces.keyset requires.
SORTS = {
    "newest": ("Newest first", ("-created_at", "-id")),
    "oldest": ("Oldest first", ("created_at", "id")),
    "score_high": ("Score, high to low", ("-score", "-id")),
    "score_low": ("Score, low to high", ("score", "id")),
}
DEFAULT_SORT = "newest"
COUNT_CAP = 10_000
# A search counts its matches up to this many ("200+", four pages): for a common
# word PostgreSQL reads the table until it has met them, testing five
# case-insensitive LIKEs on each row: 25 ms for 200 matches of 'mann' at a million
# contacts, 220 ms for 1,000, 250 ms for 10,000. A search is for finding someone.
SEARCH_COUNT_CAP = 200


@dataclass
class ContactListing:
    filterset: ContactFilter
    queryset: QuerySet
    sort: str
    order: tuple[str, ...]
    q: str

    @property
    def valid(self) -> bool:
        return self.filterset.form.is_valid()


def contact_list(workspace: Workspace, params) -> ContactListing:
    """The workspace's contacts as filtered, searched and sorted by `params`
    (request.GET): base queryset, order, then the FilterSet (the search is one of its
    filters). Invalid filters give no rows; their errors are on the form."""
    sort = params.get("sort") if params.get("sort") in SORTS else DEFAULT_SORT
    order = SORTS[sort][1]
    queryset = scoped(Contact, workspace).order_by(*order)
    filterset = ContactFilter(params, queryset=queryset, workspace=workspace)
    queryset = filterset.qs if filterset.is_valid() else queryset.none()
    q = (params.get("q") or "").strip()
    return ContactListing(filterset=filterset, queryset=queryset, sort=sort, order=order, q=q)


@dataclass
class ListingCount:
    count: int
    more: bool  # there are more than `count`
    # A search's matches when they are all counted: the page is read among them.
    ids: list[int] | None = None


def listing_count(listing: ContactListing) -> ListingCount:
    """How many contacts the list holds, counted up to COUNT_CAP, or SEARCH_COUNT_CAP
    for a search. A search's count reads the ids of its matches; when that is all of
    them, the page is read among those ids by primary key: walking the list's order
    (its index) to meet 50 matches read every contact for a word that few have."""
    if not listing.valid:
        return ListingCount(0, False)
    if not listing.q:
        return ListingCount(*capped_count(listing.queryset))
    ids = _search_ids(listing.queryset, SEARCH_COUNT_CAP + 1)
    if len(ids) > SEARCH_COUNT_CAP:
        return ListingCount(SEARCH_COUNT_CAP, True)
    return ListingCount(len(ids), False, ids)


def _search_ids(queryset: QuerySet, limit: int) -> list[int]:
    """The ids of up to `limit` rows of a search, in no order: the trigram indexes
    serve a rare word (30 ms at a million contacts), a common one meets them early."""
    return list(queryset.order_by().values_list("pk", flat=True)[:limit])


def contact_page(
    listing: ContactListing, cursor: str | None, limit: int, within: list[int] | None = None
) -> tuple[Page, bool]:
    """One page of the listing with each row's tags, and whether the cursor was bad
    (then the first page is given). `within`: the ids the listing's rows are among
    (ListingCount.ids), read by primary key."""
    queryset = listing.queryset.defer("attributes").prefetch_related("tags")
    if within is not None:
        queryset = _id_in(queryset, within)
    return page_or_first(queryset, order=listing.order, cursor=cursor, limit=limit)


def capped_count(queryset: QuerySet, cap: int = COUNT_CAP) -> tuple[int, bool]:
    """(count, more): counts at most cap + 1 rows, so a million rows cost no more
    than ten thousand."""
    count = queryset.order_by()[: cap + 1].count()
    return min(count, cap), count > cap


def contact_detail(workspace: Workspace, pk) -> Contact:
    queryset = Contact.objects.prefetch_related(
        "tags",
        Prefetch("devices", queryset=Device.objects.order_by("-last_seen_at", "-id")),
        Prefetch("opted_out_topics", queryset=Topic.objects.order_by("name")),
    )
    return get_scoped_or_404(queryset, workspace, pk=pk)


EVENT_ORDER = ("-occurred_at", "-id")


def contact_events(contact: Contact, cursor: str | None, limit: int = 50) -> Page:
    """The contact's timeline, newest first; a bad cursor starts from the newest."""
    queryset = Event.objects.filter(contact=contact)
    return page_or_first(queryset, order=EVENT_ORDER, cursor=cursor, limit=limit)[0]


def attribute_list(workspace: Workspace) -> list[CustomAttribute]:
    return list(scoped(CustomAttribute, workspace).order_by("key"))


# The tags page counts each tag's contacts up to this many ("1,000+"): a tag on half a
# million contacts took a second to count in full. Not the list's 10,000: a page of 100
# tags reads up to 100 times the cap of index entries (18 tags at 1M: 105 ms to count
# to 10,000, 9 ms to 1,000, EXPLAIN ANALYZE), and past it the number only says "a lot".
TAG_COUNT_CAP = 1_000


class _CappedCount(Subquery):
    """How many rows its (sliced) queryset has: COUNT(*) over the rows it stops at, so
    a count of at most the slice's end, read from the index the queryset walks."""

    template = "(SELECT COUNT(*) FROM (%(subquery)s) AS capped)"
    output_field = IntegerField()


def tag_list(workspace: Workspace) -> QuerySet:
    """Tags with how many contacts have each, up to TAG_COUNT_CAP + 1 (more than the
    cap: show "1,000+"), in one query. Each count is a subquery that reads at most
    that many entries of the (tag, contact) index, which PostgreSQL evaluates for the
    rows of the page only (past its LIMIT), not a GROUP BY over every link of the
    workspace."""
    links = ContactTag.objects.filter(tag=OuterRef("pk")).order_by().values("contact_id")
    return (
        scoped(Tag, workspace)
        .annotate(contact_count=_CappedCount(links[: TAG_COUNT_CAP + 1]))
        .order_by("name")
    )


def cap_tag_counts(tags) -> None:
    """Tags of tag_list counted past TAG_COUNT_CAP: count_more set, contact_count the
    cap (the page says "1,000+")."""
    for tag in tags:
        tag.count_more = tag.contact_count > TAG_COUNT_CAP
        tag.contact_count = min(tag.contact_count, TAG_COUNT_CAP)


def topic_list(workspace: Workspace) -> QuerySet:
    return scoped(Topic, workspace).annotate(opt_out_count=Count("topicoptout")).order_by("name")


def contacts_find(workspace: Workspace, match_on: str, values: list) -> dict:
    """{cleaned value: contact} for the values that name a contact of the workspace
    (`match_on`: "id", "email" or "external_id"; emails and external ids matched as
    clean_lookup keys them, on the unique LOWER() indexes)."""
    if match_on == "id":
        ids = [v for v in values if isinstance(v, int) and not isinstance(v, bool)]
        return {c.id: c for c in scoped(Contact, workspace).filter(id__in=ids)}
    keys = {clean_lookup(v) for v in values if isinstance(v, str | int) and str(v).strip()}
    found = scoped(Contact, workspace).annotate(_key=Lower(match_on)).filter(_key__in=keys)
    return {c._key: c for c in found}


class _EqualsAny(Lookup):
    """`lhs = ANY(%s)`: the values as one array parameter (PostgreSQL), where IN gave
    10,000 placeholders that psycopg and Django spent longer on than the query."""

    lookup_name = "equals_any"

    def as_sql(self, compiler, connection):
        lhs, lhs_params = self.process_lhs(compiler, connection)
        rhs, rhs_params = self.process_rhs(compiler, connection)
        return f"{lhs} = ANY({rhs})", (*lhs_params, *rhs_params)


def lookup_keys(match_on: str, values) -> list:
    """The keys `values` can name contacts by, sorted, without repeats: the ids in a
    bigint's range, or the emails / external ids as clean_lookup keys them (a blank
    value names nobody)."""
    if match_on == "id":
        ids = {v for v in values if isinstance(v, int) and not isinstance(v, bool)}
        return sorted(v for v in ids if 0 < v <= MAX_ID)
    return sorted({clean_lookup(v) for v in values if isinstance(v, str | int) and str(v).strip()})


def contacts_by_key(workspace: Workspace, match_on: str, keys: list) -> QuerySet:
    """The workspace's contacts that `keys` (lookup_keys) name, with their key as
    `_key`: a queryset, so a statement can look them up itself (e.g. an INSERT ...
    SELECT of them) without a round trip of their ids through Python."""
    if match_on == "id":
        expression, base = F("id"), BigIntegerField()
    else:
        expression, base = Lower(match_on), TextField()
    found = scoped(Contact, workspace).annotate(_key=expression)
    return _key_in(found, "_key", expression, base, keys)


def contact_ids_find(workspace: Workspace, match_on: str, values: list) -> dict:
    """{cleaned value: contact id}: what contacts_find answers, without loading the
    contacts (their attributes, dates...): 10,000 emails in one small query."""
    keys = lookup_keys(match_on, values)
    if not keys:
        return {}
    return dict(contacts_by_key(workspace, match_on, keys).values_list("_key", "id"))


def _key_in(queryset: QuerySet, name: str, expression, base, keys: list) -> QuerySet:
    """Rows whose `expression` (annotated as `name`) is one of `keys`: one array
    parameter on PostgreSQL (_EqualsAny), IN elsewhere."""
    if connection.vendor == "postgresql":
        array = Value(keys, output_field=ArrayField(base))
        return queryset.filter(_EqualsAny(expression, array))
    return queryset.filter(**{f"{name}__in": keys})


def _id_in(queryset: QuerySet, ids: list[int]) -> QuerySet:
    return _key_in(queryset, "pk", F("id"), BigIntegerField(), ids)


def attribute_definitions(workspace: Workspace) -> dict[str, CustomAttribute]:
    """The workspace's attributes by lower-cased key."""
    return {a.key.lower(): a for a in scoped(CustomAttribute, workspace)}
