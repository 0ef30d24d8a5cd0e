"""The contact list at a million contacts: our keyset page and our indexed
searches, each beside the raw baseline the indexes and the keyset replace (OFFSET
paging; the same search with PostgreSQL's index scans switched off), in one run.

    make bench            (BENCH_CONTACTS=100000 for a quicker run)
"""

from bench import common


def main() -> None:
    common.setup()
    from django.db import connection, transaction

    from contacts.models import Contact
    from contacts.selectors import contact_search
    from workspaces.keyset import cursor_after, paginate

    workspace, size = common.bench_workspace()
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE contacts_contact")
    contacts = Contact.objects.filter(workspace=workspace).order_by("-created_at", "-id")
    order = ("-created_at", "-id")
    deep = int(size * 0.9)
    # The cursor a visitor holds after paging to 90% of the list.
    deep_cursor = cursor_after(contacts[deep : deep + 1].get(), order)

    def keyset_page():
        list(paginate(contacts, order=order, cursor=deep_cursor, limit=50).items)

    def offset_page():
        list(contacts[deep : deep + 50])

    sample = Contact.objects.filter(workspace=workspace).exclude(email=None)[size // 2]
    prefix = sample.email[:6]
    word = (sample.last_name or "son")[:4]

    def search(q):
        return lambda: list(contact_search(contacts, q)[:50])

    def without_indexes(fn):
        def run():
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.execute("SET LOCAL enable_indexscan = off")
                cursor.execute("SET LOCAL enable_bitmapscan = off")
                cursor.execute("SET LOCAL enable_indexonlyscan = off")
                fn()

        return run

    def count_capped():
        contact_search(contacts, word).order_by()[:10_001].count()

    print(f"Contact list at {size:,} contacts (workspace '{workspace.slug}'):")
    common.report(
        [
            (
                f"page at row {deep:,}, keyset",
                common.timed(keyset_page),
                "OFFSET",
                common.timed(offset_page, repeat=3),
            ),
            (
                f"email prefix '{prefix}'",
                common.timed(search(prefix[:2])),
                "no index",
                common.timed(without_indexes(search(prefix[:2])), repeat=3),
            ),
            (
                f"substring '{word}'",
                common.timed(search(word)),
                "no index",
                common.timed(without_indexes(search(word)), repeat=3),
            ),
            (
                f"capped count of '{word}'",
                common.timed(count_capped),
                "no index",
                common.timed(without_indexes(count_capped), repeat=3),
            ),
        ]
    )


if __name__ == "__main__":
    main()
