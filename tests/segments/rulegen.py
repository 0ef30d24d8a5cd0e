"""Random rules and contacts for the agreement test of compiler and evaluator."""

from datetime import timedelta

from hypothesis import strategies as st

from contacts.attributes import format_moment

TEXT_FIELDS = ["email", "first_name", "country", "city", "language", "external_id"]
ATTRIBUTES = {"plan": "text", "seats": "number", "trial": "boolean", "renews": "date"}
TAGS = ["vip", "lead", "customer"]
EVENTS = ["purchase", "page_view", "signup"]
URLS = ["/pricing", "/docs/start", "/blog", "/PRICING/team", "/a_b%c"]
# ASCII only: SQLite folds case for ASCII letters alone (see segments/query.py).
WORDS = ["de", "DE", "De", "fr", "pro", "Pro", "basic", "a%b", "a_b", " x ", "ber", "lin", "o"]

# Small shared pools, so that rules and contacts often meet at the boundaries
# (equal numbers, the same day) where off-by-one mistakes hide.
NUMBERS = [-1, 0, 1, 12, 50, 51, 100]
words = st.sampled_from(WORDS)
numbers = st.sampled_from(NUMBERS)
small_days = st.sampled_from([1, 2, 7, 30])
day_offsets = st.sampled_from([-1, 0, 1, 2, 7, 8, 30, 31])


def moments(now):
    return st.builds(
        lambda days, hours, as_day: (
            (now - timedelta(days=days, hours=hours)).date()
            if as_day
            else now - timedelta(days=days, hours=hours)
        ),
        day_offsets,
        st.sampled_from([0, 1, 23]),
        st.booleans(),
    )


def datetimes(now):
    return st.builds(
        lambda days, hours: now - timedelta(days=days, hours=hours),
        day_offsets,
        st.sampled_from([0, 1, 23]),
    )


def iso(now):
    return moments(now).map(format_moment)


def text_condition(field):
    return st.one_of(
        st.builds(
            lambda op, v: {"field": field, "op": op, "value": v},
            st.sampled_from(["eq", "neq", "contains", "not_contains", "starts_with", "ends_with"]),
            words,
        ),
        st.builds(
            lambda op, v: {"field": field, "op": op, "value": v},
            st.sampled_from(["in", "not_in"]),
            st.lists(words, min_size=1, max_size=3),
        ),
        st.builds(lambda op: {"field": field, "op": op}, st.sampled_from(["exists", "not_exists"])),
    )


def number_condition(field):
    return st.one_of(
        st.builds(
            lambda op, v: {"field": field, "op": op, "value": v},
            st.sampled_from(["eq", "neq", "gt", "gte", "lt", "lte"]),
            numbers,
        ),
        st.builds(
            lambda a, b: {"field": field, "op": "between", "value": sorted([a, b])},
            numbers,
            numbers,
        ),
        st.builds(lambda op: {"field": field, "op": op}, st.sampled_from(["exists", "not_exists"])),
    )


def date_condition(field, now):
    return st.one_of(
        st.builds(
            lambda op, v: {"field": field, "op": op, "value": v},
            st.sampled_from(["before", "after"]),
            iso(now),
        ),
        st.builds(
            lambda a, b: {"field": field, "op": "between", "value": _ordered(a, b)},
            moments(now),
            moments(now),
        ),
        st.builds(
            lambda op, v: {"field": field, "op": op, "value": v},
            st.sampled_from(["within_last_days", "more_than_days_ago"]),
            small_days,
        ),
        st.builds(lambda op: {"field": field, "op": op}, st.sampled_from(["exists", "not_exists"])),
    )


def _ordered(a, b):
    from segments.dates import as_moment

    first, second = sorted([a, b], key=as_moment)
    return [format_moment(first), format_moment(second)]


def property_condition():
    return st.one_of(
        st.builds(
            lambda op, v: {"property": "url", "op": op, "value": v},
            st.sampled_from(["eq", "neq", "contains", "not_contains", "starts_with"]),
            st.sampled_from(["/pricing", "pricing", "/docs", "_", "%"]),
        ),
        st.builds(
            lambda op, v: {"property": "amount", "op": op, "value": v},
            st.sampled_from(["gt", "lt", "eq", "neq", "gte"]),
            numbers,
        ),
        st.builds(
            lambda op, p: {"property": p, "op": op},
            st.sampled_from(["exists", "not_exists"]),
            st.sampled_from(["url", "amount"]),
        ),
    )


def window(now):
    """A time window of an event or campaign condition (conditions.md), or none: its
    dates drawn from the same days and hours as the events and deliveries, so that
    they often fall on a boundary."""
    return st.one_of(
        st.just({}),
        small_days.map(lambda days: {"within_days": days}),
        iso(now).map(lambda moment: {"after": moment}),
        iso(now).map(lambda moment: {"before": moment}),
        st.builds(lambda a, b: {"between": _ordered(a, b)}, moments(now), moments(now)),
    )


def event_condition(now):
    return st.builds(
        lambda name, op, count, when, where: {
            "event": name,
            "op": op,
            "count": count,
            **when,
            **({"where": where} if where else {}),
        },
        st.sampled_from(EVENTS),
        st.sampled_from(["at_least", "at_most", "exactly"]),
        st.integers(0, 3),
        window(now),
        st.lists(property_condition(), max_size=2),
    )


def conditions(now, segment_ids, campaign_ids):
    return st.one_of(
        st.sampled_from(TEXT_FIELDS).flatmap(text_condition),
        text_condition("attributes.plan"),
        number_condition("score"),
        number_condition("attributes.seats"),
        date_condition("last_activity_at", now),
        date_condition("created_at", now),
        date_condition("attributes.renews", now),
        st.builds(
            lambda op: {"field": "attributes.trial", "op": op},
            st.sampled_from(["is_true", "is_false", "exists", "not_exists"]),
        ),
        st.builds(
            lambda tag, op: {"tag": tag, "op": op},
            st.sampled_from([*TAGS, "VIP", "*", "nope"]),
            st.sampled_from(["has", "has_not"]),
        ),
        event_condition(now),
        st.builds(
            lambda d, op: {"device": d, "op": op},
            st.sampled_from(["ios", "android", "web", "*"]),
            st.sampled_from(["has", "has_not"]),
        ),
        st.builds(
            lambda s, op: {"segment": s, "op": op},
            st.sampled_from(segment_ids),
            st.sampled_from(["in", "not_in"]),
        ),
        st.builds(
            lambda c, a, op, when: {"campaign": c, "activity": a, "op": op, **when},
            st.sampled_from([*campaign_ids, "*"]),
            st.sampled_from(["sent", "opened", "clicked"]),
            st.sampled_from(["has", "has_not"]),
            window(now),
        ),
    )


def rules(now, segment_ids, campaign_ids):
    leaf = conditions(now, segment_ids, campaign_ids)
    tree = st.recursive(
        leaf,
        lambda children: st.builds(
            lambda kind, items: {kind: items},
            st.sampled_from(["all", "any"]),
            st.lists(children, min_size=1, max_size=3),
        ),
        max_leaves=6,
    )
    return st.builds(
        lambda kind, items: {kind: items},
        st.sampled_from(["all", "any"]),
        st.lists(tree, min_size=1, max_size=3),
    ).filter(lambda doc: _depth(doc) <= 5)


def _depth(node):
    if isinstance(node, dict) and ("all" in node or "any" in node):
        children = node.get("all", node.get("any"))
        return 1 + max((_depth(c) for c in children), default=0)
    return 0


def attribute_values(now):
    return st.fixed_dictionaries(
        {},
        optional={
            # A text attribute may hold a stray number, a number one a stray text.
            "plan": st.one_of(words, st.just(""), st.just(5)),
            "seats": st.one_of(numbers, st.just(50.5), st.just("many")),
            "trial": st.booleans(),
            "renews": iso(now),
        },
    )


def contact_data(now):
    maybe_text = st.one_of(st.just(""), words)
    return st.fixed_dictionaries(
        {
            "email": st.one_of(st.none(), st.sampled_from(["ann@x.io", "BOB@DE.io", "o@x.de"])),
            "first_name": maybe_text,
            "country": maybe_text,
            "city": maybe_text,
            "language": maybe_text,
            "external_id": st.one_of(st.none(), words),
            "score": numbers,
            "last_activity_at": st.one_of(st.none(), datetimes(now)),
            "created_days_ago": day_offsets.filter(lambda d: d >= 0),
            "attributes": attribute_values(now),
            "tags": st.lists(st.sampled_from(TAGS), unique=True, max_size=2),
            "events": st.lists(
                st.tuples(
                    st.sampled_from(EVENTS),
                    day_offsets,
                    st.fixed_dictionaries(
                        {},
                        optional={
                            "url": st.one_of(st.sampled_from(URLS), st.just(7), st.just("")),
                            "amount": st.one_of(numbers, st.just("lots")),
                        },
                    ),
                ),
                max_size=4,
            ),
            "devices": st.lists(
                st.sampled_from(["ios", "android", "web"]), unique=True, max_size=2
            ),
            "in_manual": st.booleans(),
            "deliveries": st.lists(
                st.tuples(st.integers(0, 1), day_offsets, st.booleans(), st.booleans()),
                max_size=2,
                unique_by=lambda t: t[0],
            ),
        }
    )
