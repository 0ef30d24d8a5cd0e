"""Realistic fake contacts for demos and benchmarks (`manage.py seed_demo`).

Made with `random` and small word lists, so `make run` needs no extra dependency.
Everything a rule can use gets plausible values: names and emails that match, a
company and its domain, country with its cities, language and phone prefix, a score,
typed custom attributes, tags that agree with the plan, devices, and events spread
over the last year with each contact's `last_activity_at` set to its newest event.

Rows are written in chunks by contacts.writer's fast path for rows known to be new
(COPY on PostgreSQL, executemany elsewhere): Django's bulk_create would spend most of
its time building model instances (and would overwrite created_at, which is
auto_now_add).
"""

import random
import secrets
import unicodedata
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import NamedTuple

from django.db import connection, transaction
from django.utils import timezone

from contacts.changes import Change, contacts_changed
from contacts.models import (
    Contact,
    ContactTag,
    CustomAttribute,
    Device,
    Event,
    Topic,
    TopicOptOut,
)
from contacts.services.attributes import attribute_define
from contacts.services.tags import tags_get_or_create
from contacts.writer import bulk_insert, contacts_insert_new
from workspaces.models import Workspace

CHUNK = 5_000
DAYS = 365


class Country(NamedTuple):
    weight: int
    language: str
    phone_prefix: str
    currency: str
    cities: list[tuple[str, str]]  # (city, state)
    first_names: list[str]
    last_names: list[str]


def _names(text: str) -> list[str]:
    return [name.strip() for name in text.split(",")]


# fmt: off
COUNTRIES = {
    "US": Country(30, "en", "+1", "USD",
        [("New York", "NY"), ("San Francisco", "CA"), ("Austin", "TX"), ("Chicago", "IL"),
         ("Seattle", "WA"), ("Boston", "MA")],
        _names("James, Mary, Robert, Patricia, John, Jennifer, Michael, Linda, David, Emily, "
               "Chris, Ashley, Daniel, Sarah, Matthew, Jessica, Kevin, Megan, Brian, Rachel"),
        _names("Smith, Johnson, Williams, Brown, Jones, Miller, Davis, Wilson, Anderson, "
               "Taylor, Thomas, Moore, Jackson, Martin, Lee, Harris, Clark, Lewis, Walker")),
    "GB": Country(10, "en", "+44", "GBP",
        [("London", ""), ("Manchester", ""), ("Edinburgh", ""), ("Bristol", "")],
        _names("Oliver, Amelia, Harry, Isla, George, Ava, Jack, Emily, Charlie, Sophie, "
               "Thomas, Grace, William, Lily, Alfie, Freya"),
        _names("Smith, Jones, Taylor, Brown, Williams, Wilson, Evans, Thomas, Roberts, "
               "Walker, Wright, Hughes, Edwards, Green, Hall, Wood")),
    "DE": Country(12, "de", "+49", "EUR",
        [("Berlin", "BE"), ("Munich", "BY"), ("Hamburg", "HH"), ("Cologne", "NW"),
         ("Frankfurt", "HE")],
        _names("Lukas, Anna, Leon, Mia, Finn, Lena, Jonas, Lea, Felix, Hannah, Paul, Laura, "
               "Jan, Julia, Tobias, Katrin"),
        _names("Müller, Schmidt, Schneider, Fischer, Weber, Meyer, Wagner, Becker, Schulz, "
               "Hoffmann, Koch, Richter, Klein, Wolf, Schröder, Neumann")),
    "FR": Country(10, "fr", "+33", "EUR",
        [("Paris", ""), ("Lyon", ""), ("Marseille", ""), ("Toulouse", ""), ("Nantes", "")],
        _names("Gabriel, Emma, Louis, Jade, Raphaël, Louise, Arthur, Alice, Jules, Chloé, "
               "Hugo, Léa, Lucas, Manon, Théo, Camille"),
        _names("Martin, Bernard, Dubois, Thomas, Robert, Richard, Petit, Durand, Leroy, "
               "Moreau, Simon, Laurent, Lefebvre, Michel, Garcia, Roux")),
    "ES": Country(6, "es", "+34", "EUR",
        [("Madrid", ""), ("Barcelona", ""), ("Valencia", ""), ("Seville", "")],
        _names("Hugo, Lucía, Martín, Sofía, Pablo, Martina, Alejandro, María, Daniel, Paula, "
               "Álvaro, Julia"),
        _names("García, Rodríguez, González, Fernández, López, Martínez, Sánchez, Pérez, "
               "Gómez, Jiménez, Ruiz")),
    "IT": Country(5, "it", "+39", "EUR",
        [("Rome", ""), ("Milan", ""), ("Turin", ""), ("Bologna", "")],
        _names("Leonardo, Sofia, Francesco, Giulia, Alessandro, Aurora, Lorenzo, Ginevra, "
               "Mattia, Beatrice, Andrea, Chiara"),
        _names("Rossi, Russo, Ferrari, Esposito, Bianchi, Romano, Colombo, Ricci, Marino, "
               "Greco, Bruno, Gallo")),
    "NL": Country(5, "nl", "+31", "EUR",
        [("Amsterdam", ""), ("Rotterdam", ""), ("Utrecht", ""), ("Eindhoven", "")],
        _names("Daan, Emma, Sem, Julia, Lucas, Mila, Levi, Tess, Finn, Sophie, Milan, Zoë"),
        _names("de Jong, Jansen, de Vries, van den Berg, van Dijk, Bakker, Janssen, Visser, "
               "Smit, Meijer")),
    "BR": Country(7, "pt", "+55", "BRL",
        [("São Paulo", "SP"), ("Rio de Janeiro", "RJ"), ("Belo Horizonte", "MG"),
         ("Curitiba", "PR")],
        _names("Miguel, Helena, Arthur, Alice, Gael, Laura, Heitor, Valentina, Theo, Manuela, "
               "Davi, Sophia"),
        _names("Silva, Santos, Oliveira, Souza, Rodrigues, Ferreira, Alves, Pereira, Lima, "
               "Gomes, Costa, Ribeiro")),
    "IN": Country(7, "en", "+91", "INR",
        [("Bengaluru", "KA"), ("Mumbai", "MH"), ("Delhi", "DL"), ("Hyderabad", "TG"),
         ("Pune", "MH")],
        _names("Aarav, Ananya, Vivaan, Diya, Aditya, Isha, Arjun, Priya, Rohan, Saanvi, "
               "Karan, Neha"),
        _names("Sharma, Patel, Singh, Kumar, Gupta, Reddy, Iyer, Nair, Mehta, Joshi, Rao, Das")),
    "JP": Country(4, "ja", "+81", "JPY",
        [("Tokyo", ""), ("Osaka", ""), ("Yokohama", ""), ("Kyoto", "")],
        _names("Haruto, Yui, Sota, Hina, Yuto, Aoi, Riku, Sakura, Ren, Mei, Kaito, Yuna"),
        _names("Sato, Suzuki, Takahashi, Tanaka, Watanabe, Ito, Yamamoto, Nakamura, "
               "Kobayashi, Kato")),
    "CA": Country(4, "en", "+1", "CAD",
        [("Toronto", "ON"), ("Vancouver", "BC"), ("Montreal", "QC"), ("Calgary", "AB")],
        _names("Liam, Olivia, Noah, Emma, Benjamin, Charlotte, Lucas, Amelia, Ethan, Chloé, "
               "Logan, Ava"),
        _names("Tremblay, Roy, Gagnon, Smith, Brown, Wilson, Martin, Lee, Côté, Campbell, "
               "Bouchard, Morin")),
}
# fmt: on

COMPANY_WORDS = _names(
    "North, Blue, Bright, Stone, River, Pixel, Cloud, Iron, Swift, Cedar, Lumen, Nova, Atlas, "
    "Harbor, Summit, Orbit, Maple, Copper, Vertex, Signal, Ember, Delta, Pine, Quartz, Falcon"
)
COMPANY_ENDINGS = _names("Labs, Systems, Works, Analytics, Studio, Health, Logistics, Media")
COMPANY_SUFFIXES = ["", "", " Inc", " GmbH", " Ltd", " SAS", " & Co"]
FREE_MAIL = ["gmail.com", "outlook.com", "yahoo.com", "icloud.com", "proton.me", "gmx.de"]
PLANS = [("free", 45), ("starter", 30), ("pro", 18), ("enterprise", 7)]
SEATS = {"free": (1, 1), "starter": (1, 5), "pro": (3, 40), "enterprise": (25, 600)}
PAGES = [
    ("/", "Home", 30),
    ("/pricing", "Pricing", 14),
    ("/docs", "Documentation", 12),
    ("/docs/getting-started", "Getting started", 8),
    ("/docs/api", "API reference", 5),
    ("/blog", "Blog", 9),
    ("/blog/segmentation-101", "Segmentation 101", 5),
    ("/features/segments", "Segments", 6),
    ("/features/imports", "Imports", 3),
    ("/customers", "Customers", 3),
    ("/contact-sales", "Contact sales", 2),
    ("/careers", "Careers", 1),
]
EVENT_NAMES = [("page_view", 62), ("login", 18), ("email_opened", 12), ("purchase", 5)]
REFERRERS = ["google", "newsletter", "linkedin", "direct", "twitter", "partner"]
TOPICS = [
    ("Product news", "Releases and new features"),
    ("Promotions", "Discounts and offers"),
    ("Events", "Webinars and meetups"),
]
ATTRIBUTES = [
    ("plan", CustomAttribute.Type.TEXT, "Plan"),
    ("seats", CustomAttribute.Type.NUMBER, "Seats"),
    ("trial", CustomAttribute.Type.BOOLEAN, "On trial"),
    ("renewal_date", CustomAttribute.Type.DATE, "Renewal date"),
]
TAGS = ["vip", "newsletter", "customer", "lead", "beta-tester", "partner"]


@dataclass
class SeedResult:
    workspace: Workspace
    contacts: int = 0
    events: int = 0
    tags: int = 0
    devices: int = 0
    seconds: float = 0.0


@dataclass
class _Draft:
    """One contact before it has an id, with what hangs off it."""

    row: dict
    tags: list[str] = field(default_factory=list)
    events: list[tuple[str, datetime, dict]] = field(default_factory=list)
    devices: list[tuple[str, str, datetime]] = field(default_factory=list)
    opt_outs: list[int] = field(default_factory=list)


def _ascii(text: str) -> str:
    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return "".join(ch for ch in plain.lower() if ch.isalnum())


def _weighted(pairs):
    values = [p[0] for p in pairs]
    weights = [p[-1] for p in pairs]
    return values, weights


class DemoGenerator:
    """Drafts of contacts; deterministic for a given seed."""

    def __init__(self, seed: int | None, now: datetime, taken_emails: set[str]):
        self.rng = random.Random(seed)
        self.now = now
        self.taken = taken_emails
        self.countries = list(COUNTRIES)
        self.country_weights = [COUNTRIES[c].weight for c in self.countries]
        self.plans, self.plan_weights = _weighted(PLANS)
        self.event_names, self.event_weights = _weighted(EVENT_NAMES)
        self.pages, self.page_weights = [(p[0], p[1]) for p in PAGES], [p[2] for p in PAGES]
        self.companies = [f"{a} {b}" for a in COMPANY_WORDS for b in COMPANY_ENDINGS]

    # -- one contact

    def draft(self, index: int, n_events: int, topic_ids: list[int]) -> _Draft:
        rng = self.rng
        code = rng.choices(self.countries, self.country_weights)[0]
        country = COUNTRIES[code]
        first, last = rng.choice(country.first_names), rng.choice(country.last_names)
        city, state = rng.choice(country.cities)
        company = rng.choice(self.companies) if rng.random() < 0.7 else ""
        created = self.now - timedelta(seconds=rng.uniform(0, DAYS * 86400))
        plan = rng.choices(self.plans, self.plan_weights)[0]
        row = {
            "email": self._email(first, last, company, index),
            # Random, not numbered: a second run must not collide with the first.
            "external_id": f"crm-{secrets.token_hex(8)}" if rng.random() < 0.4 else None,
            "phone": f"{country.phone_prefix} {rng.randrange(100, 999)} "
            f"{rng.randrange(1000000, 9999999)}"
            if rng.random() < 0.6
            else "",
            "first_name": first if rng.random() < 0.97 else "",
            "last_name": last if rng.random() < 0.95 else "",
            "company": company + rng.choice(COMPANY_SUFFIXES) if company else "",
            "country": code if rng.random() < 0.92 else "",
            "state": state if rng.random() < 0.8 else "",
            "city": city if rng.random() < 0.85 else "",
            "language": country.language if rng.random() < 0.85 else "",
            "score": int(rng.betavariate(2, 5) * 100),
            "attributes": self._attributes(plan, created),
            "created_at": created,
        }
        draft = _Draft(row=row, tags=self._tags(plan))
        draft.events = self._events(n_events, created, country.currency)
        draft.devices = self._devices(created)
        draft.opt_outs = [t for t in topic_ids if rng.random() < 0.06]
        newest = max((e[1] for e in draft.events), default=None)
        row["last_activity_at"] = newest
        row["updated_at"] = max(created, newest) if newest else created
        if not (row["email"] or row["external_id"]):
            row["external_id"] = f"crm-{secrets.token_hex(8)}"
        return draft

    def _email(self, first: str, last: str, company: str, index: int) -> str | None:
        rng = self.rng
        if rng.random() < 0.03:
            return None
        domain = (
            _ascii(company.split()[0]) + rng.choice([".com", ".io", ".co"])
            if company and rng.random() < 0.75
            else rng.choice(FREE_MAIL)
        )
        f, lst = _ascii(first) or "x", _ascii(last) or "y"
        local = rng.choice([f"{f}.{lst}", f"{f[0]}{lst}", f"{f}{lst}", f"{f}_{lst}"])
        email = f"{local}@{domain}"
        if email in self.taken:
            email = f"{local}{index}@{domain}"
        if email in self.taken:
            email = f"{local}.{secrets.token_hex(4)}@{domain}"
        self.taken.add(email)
        return email

    def _attributes(self, plan: str, created: datetime) -> dict:
        rng = self.rng
        attributes = {"plan": plan}
        low, high = SEATS[plan]
        attributes["seats"] = rng.randint(low, high)
        if plan == "free":
            attributes["trial"] = rng.random() < 0.3
        else:
            attributes["trial"] = False
            renewal = created.date() + timedelta(days=365 * rng.randint(1, 2))
            attributes["renewal_date"] = renewal.isoformat()
        if rng.random() < 0.1:  # some contacts never had their plan set
            del attributes["plan"]
        return attributes

    def _tags(self, plan: str) -> list[str]:
        rng = self.rng
        tags = []
        if plan != "free":
            tags.append("customer")
            if plan == "enterprise" or rng.random() < 0.04:
                tags.append("vip")
        elif rng.random() < 0.5:
            tags.append("lead")
        if rng.random() < 0.4:
            tags.append("newsletter")
        if rng.random() < 0.03:
            tags.append("beta-tester")
        if rng.random() < 0.01:
            tags.append("partner")
        return tags

    def _events(self, count: int, created: datetime, currency: str) -> list:
        rng = self.rng
        if not count:
            return []
        span = (self.now - created).total_seconds()
        events = []
        if rng.random() < 0.6:
            signed_up = min(self.now, created + timedelta(minutes=rng.randint(1, 30)))
            events.append(("signup", signed_up, {}))
        for _ in range(count - len(events)):
            when = created + timedelta(seconds=rng.random() * span)
            name = rng.choices(self.event_names, self.event_weights)[0]
            events.append((name, when, self._properties(name, currency)))
        return events

    def _properties(self, name: str, currency: str) -> dict:
        rng = self.rng
        if name == "page_view":
            url, title = rng.choices(self.pages, self.page_weights)[0]
            return {"url": url, "title": title, "referrer": rng.choice(REFERRERS)}
        if name == "purchase":
            amount = round(rng.lognormvariate(4, 0.9), 2)
            return {"amount": amount, "currency": currency, "order_id": secrets.token_hex(5)}
        if name == "email_opened":
            return {"campaign": rng.choice(["Welcome", "Monthly digest", "Spring offer"])}
        return {}

    def _devices(self, created: datetime) -> list:
        rng = self.rng
        devices = []
        for platform, chance in (("web", 0.45), ("ios", 0.25), ("android", 0.2)):
            if rng.random() < chance:
                seen = created + (self.now - created) * rng.random()
                devices.append((platform, secrets.token_hex(16), seen))
        return devices


# ---------------------------------------------------------------- writing rows


CONTACT_COLUMNS = [
    "workspace",
    "email",
    "external_id",
    "phone",
    "first_name",
    "last_name",
    "company",
    "country",
    "state",
    "city",
    "language",
    "score",
    "attributes",
    "created_at",
    "updated_at",
    "last_activity_at",
]


def _write_chunk(workspace: Workspace, drafts: list[_Draft], tag_ids: dict, result) -> list[int]:
    rows = [(workspace.id, *(d.row[c] for c in CONTACT_COLUMNS[1:])) for d in drafts]
    ids = contacts_insert_new(workspace, CONTACT_COLUMNS, rows)
    now = timezone.now()
    links, events, devices, opt_outs = [], [], [], []
    for contact_id, draft in zip(ids, drafts, strict=True):
        created = draft.row["created_at"]
        links += [(contact_id, tag_ids[name], created) for name in draft.tags]
        events += [(workspace.id, contact_id, n, at, p, at) for n, at, p in draft.events]
        devices += [(contact_id, p, ident, seen, created) for p, ident, seen in draft.devices]
        opt_outs += [(topic_id, contact_id, now) for topic_id in draft.opt_outs]
    bulk_insert(ContactTag, ["contact", "tag", "created_at"], links)
    bulk_insert(
        Event,
        ["workspace", "contact", "name", "occurred_at", "properties", "created_at"],
        events,
    )
    bulk_insert(
        Device, ["contact", "platform", "identifier", "last_seen_at", "created_at"], devices
    )
    bulk_insert(TopicOptOut, ["topic", "contact", "created_at"], opt_outs)
    result.contacts += len(ids)
    result.events += len(events)
    result.tags += len(links)
    result.devices += len(devices)
    return ids


def _define_schema(workspace: Workspace) -> tuple[dict, list[int]]:
    """The custom attributes, tags and topics the demo data uses, made when missing."""
    defined = {a.key.lower() for a in CustomAttribute.objects.filter(workspace=workspace)}
    for key, attr_type, label in ATTRIBUTES:
        if key not in defined:
            attribute_define(workspace=workspace, key=key, type=attr_type, label=label)
    tag_ids = {t.name.lower(): t.id for t in tags_get_or_create(workspace, TAGS)}
    topic_ids = []
    for name, description in TOPICS:
        topic = Topic.objects.filter(workspace=workspace, name__iexact=name).first()
        if topic is None:
            topic = Topic.objects.create(workspace=workspace, name=name, description=description)
        topic_ids.append(topic.id)
    return tag_ids, topic_ids


def _event_counts(rng: random.Random, contacts: int, events: int) -> list[int]:
    """How many events each contact gets: a few very active people, many quiet ones."""
    counts = [0] * contacts
    if not contacts:
        return counts
    weights = [rng.paretovariate(1.5) if rng.random() < 0.85 else 0.0 for _ in range(contacts)]
    if not any(weights):
        weights[0] = 1.0
    for index in rng.choices(range(contacts), weights=weights, k=events):
        counts[index] += 1
    return counts


def seed(
    workspace: Workspace,
    *,
    contacts: int,
    events: int,
    seed: int | None = None,
    progress=None,
) -> SeedResult:
    """Add `contacts` demo contacts and `events` events to `workspace`, in one
    transaction; then tell the segment engine they exist."""
    started = timezone.now()
    result = SeedResult(workspace=workspace)
    taken = set(
        Contact.objects.filter(workspace=workspace, email__isnull=False).values_list(
            "email", flat=True
        )
    )
    generator = DemoGenerator(seed, started, {e.lower() for e in taken})
    counts = _event_counts(generator.rng, contacts, events)
    all_ids: list[int] = []
    with transaction.atomic():
        tag_ids, topic_ids = _define_schema(workspace)
        for start in range(0, contacts, CHUNK):
            stop = min(start + CHUNK, contacts)
            drafts = [generator.draft(i, counts[i], topic_ids) for i in range(start, stop)]
            all_ids += _write_chunk(workspace, drafts, tag_ids, result)
            if progress:
                progress(result)
        contacts_changed(
            workspace.id,
            all_ids,
            Change(
                created=True,
                tags=True,
                devices=True,
                fields={"last_activity_at"},
                event_names={name for name, _ in EVENT_NAMES} | {"signup"},
            ),
        )
    _analyze([Contact, ContactTag, Event, Device, TopicOptOut])
    result.seconds = (timezone.now() - started).total_seconds()
    return result


def _analyze(models_: list) -> None:
    """Fresh planner statistics after a bulk load: without them PostgreSQL guesses row
    counts from an empty table and picks sequential scans (60 ms instead of 3 ms for an
    admin search at 100,000 contacts)."""
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        for model in models_:
            cursor.execute(f"ANALYZE {connection.ops.quote_name(model._meta.db_table)}")


DEMO_SLUG = "demo"
DEMO_USERNAME = "demo"
DEMO_PASSWORD = "demo"


def demo_workspace() -> Workspace:
    """The workspace `demo`, with the user demo / demo as its owner; made the first
    time, found afterwards."""
    from django.contrib.auth import get_user_model

    from workspaces.models import Membership, Role
    from workspaces.services import workspace_create

    user, created = get_user_model().objects.get_or_create(username=DEMO_USERNAME)
    if created:
        user.set_password(DEMO_PASSWORD)
        user.save(update_fields=["password"])
    workspace = Workspace.objects.filter(slug=DEMO_SLUG).first()
    if workspace is None:
        return workspace_create(name="Demo", slug=DEMO_SLUG, owner=user)
    Membership.objects.get_or_create(workspace=workspace, user=user, defaults={"role": Role.OWNER})
    return workspace
