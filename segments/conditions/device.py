"""Device conditions: `{"device": "ios" | "android" | "web" | "*", "op": "has" |
"has_not"}`, "*" being any device at all."""

from django.db.models import Exists, OuterRef, Q

from contacts.models import Device
from segments.conditions import base
from segments.conditions.base import Kind, RuleError, Verdict, category, check_op, choice, options
from segments.conditions.tag import HAS_OPS

# As a marketer says them: "has an iOS device".
DEVICES = {
    "*": "any device",
    "ios": "an iOS device",
    "android": "an Android device",
    "web": "a web browser",
}


class DeviceKind(Kind):
    name = "device"
    keys = ("device", "op")
    required = keys

    def check(self, node, path, vocabulary):
        if not base.one_of(node["device"], DEVICES):
            raise RuleError(path, "'device' is one of ios, android, web or \"*\".")
        check_op(node, path, "device", HAS_OPS)

    def reads(self, node, into: base.Reads):
        into.devices = True

    def q(self, node, ctx) -> Q:
        devices = Device.objects.filter(contact=OuterRef("pk"))
        if node["device"] != "*":
            devices = devices.filter(platform=node["device"])
        has = Q(Exists(devices))
        return has if node["op"] == "has" else ~has

    def facts(self, contact, reads):
        return set(contact.devices.values_list("platform", flat=True))

    def evaluate(self, node, facts, ctx):
        has = bool(facts) if node["device"] == "*" else node["device"] in facts
        devices = ", ".join(sorted(facts)) or "none"
        return Verdict(has == (node["op"] == "has"), f"the contact's devices: {devices}")

    def words(self, node, vocabulary):
        verb = "Has" if node["op"] == "has" else "Does not have"
        return f"{verb} {DEVICES[node['device']]}"

    def menu(self, workspace, vocabulary, *, segment=None):
        controls = [choice("op", "Has or has not", HAS_OPS), choice("device", "Device", DEVICES)]
        new = {"device": "*", "op": "has"}
        return {
            "categories": [category("device", "Device", "device", controls, new)],
            "devices": options(DEVICES),
        }
