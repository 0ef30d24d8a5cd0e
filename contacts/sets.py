"""Which contacts an action works on: one object that the contact list's bulk bar, "all
that match", the background jobs they start and, next, exports and segment actions
share.

- `ContactSet.checked(workspace, ids)`: the checked contacts, kept to the workspace's
  and to the first MAX_CHECKED (a page never checks more).
- `ContactSet.matching(workspace, query)`: every contact that a list's filters and
  search select, kept as its query string ("country=FR&q=ann"). It is selected again
  whenever it is read, through the contact list's own selector: a job that runs later
  works on what the filters select then. A segment's members are the query
  "segment=<id>", the filter the segments app adds to the list.

A set travels as plain data in a job's params (`params`, `from_params`)."""

from django.db.models import QuerySet
from django.http import QueryDict
from django.utils.functional import cached_property

from contacts import selectors
from contacts.models import Contact
from workspaces.errors import KithError
from workspaces.models import Workspace
from workspaces.params import parse_ids
from workspaces.scoping import scoped

MAX_CHECKED = 1000


class ContactSet:
    def __init__(self, workspace: Workspace, *, ids=None, query: str | None = None):
        self.workspace = workspace
        self.ids = list(ids) if ids is not None else None
        # For checked ones, the list they were checked in (what the bar counts).
        self.query = query or ""

    @classmethod
    def checked(cls, workspace: Workspace, values, *, query: str = "") -> "ContactSet":
        wanted = parse_ids(values, limit=MAX_CHECKED)
        found = scoped(Contact, workspace).filter(pk__in=wanted).values_list("pk", flat=True)
        return cls(workspace, ids=found, query=query)

    @classmethod
    def matching(cls, workspace: Workspace, query: str) -> "ContactSet":
        return cls(workspace, query=query)

    @classmethod
    def from_post(cls, workspace: Workspace, post) -> "ContactSet":
        """What the list's bulk form posts: `all_matching=1` with the list's `query`,
        or the checked `ids`."""
        query = post.get("query", "")
        if post.get("all_matching") == "1":
            return cls.matching(workspace, query)
        return cls.checked(workspace, post.getlist("ids"), query=query)

    @classmethod
    def from_params(cls, workspace: Workspace, params: dict) -> "ContactSet":
        if "ids" in params:
            return cls(workspace, ids=params["ids"])
        return cls(workspace, query=params.get("query", ""))

    def params(self) -> dict:
        return {"ids": self.ids} if self.ids is not None else {"query": self.query}

    @property
    def is_matching(self) -> bool:
        return self.ids is None

    @cached_property
    def listing(self) -> selectors.ContactListing:
        """The contact list as the query selects it (for checked ones, the list they
        were checked in: what the bar counts for "select all N")."""
        return selectors.contact_list(self.workspace, QueryDict(self.query))

    @property
    def valid(self) -> bool:
        return not self.is_matching or self.listing.valid

    @property
    def empty(self) -> bool:
        """Nothing checked (a query may match nobody: that is known when it runs)."""
        return self.ids is not None and not self.ids

    def contacts(self) -> QuerySet:
        """The contacts, selected now; a query whose filters no longer hold (a tag
        they name was deleted) is refused."""
        if not self.is_matching:
            return scoped(Contact, self.workspace).filter(pk__in=self.ids)
        if not self.listing.valid:
            raise KithError("The list's filters no longer hold (was a tag they name deleted?).")
        return self.listing.queryset

    def more_than(self, n: int) -> bool:
        """Whether it holds more than `n` contacts, counting at most n + 1 of them."""
        if not self.is_matching:
            return len(self.ids) > n
        return selectors.capped_count(self.contacts(), cap=n)[1]

    def describe(self) -> str:
        """What it is, in words: "12 checked contacts", "all contacts that match
        search “ann”, country FR"."""
        if not self.is_matching:
            return f"{len(self.ids):,} checked contact{'s' * (len(self.ids) != 1)}"
        words = describe_filters(self.listing)
        return f"all contacts that match {words}" if words else "all contacts"


def describe_filters(listing: selectors.ContactListing) -> str:
    """The list's search and filters in words: 'search “ann”, country FR, tag vip'."""
    form = listing.filterset.form
    data = form.cleaned_data if form.is_valid() else {}
    parts = [f"search “{listing.q}”"] if listing.q else []
    for name in listing.filterset.panel_names():
        field, value = form.fields[name], data.get(name)
        if value in (None, "", []) or name == "attr_value":
            continue
        if name == "attr" and data.get("attr_value") not in (None, ""):
            value = f"{value} = {data['attr_value']}"
        elif hasattr(field, "choices") and not hasattr(field, "queryset"):
            value = dict(field.choices).get(value, value)
        parts.append(f"{str(field.label).lower()} {value}")
    return ", ".join(parts)
