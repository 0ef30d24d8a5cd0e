/* The catalog the tests run against: the one the server renders now when pytest runs
   them (tests/segments/test_builder_js.py sets KITH_BUILDER_CATALOG), else the copy
   kept in fixtures/. */

import { readFileSync } from "node:fs";
import { Catalog } from "../catalog.js";

const path = process.env.KITH_BUILDER_CATALOG || new URL("./fixtures/catalog.json", import.meta.url);

export const raw = JSON.parse(readFileSync(path, "utf8"));
export const catalog = new Catalog(raw);
export const segmentId = raw.segments[0].id;
export const campaignId = raw.campaigns[0].id;

/* Every rule of conditions.md: its Example (segment 12 being a real one here), the
   five default segments, and conditions of every kind and time window, including
   spellings a person would not pick but the contract accepts. */
export function contractRules() {
  return {
    example: {
      version: 1,
      all: [
        { any: [
          { field: "country", op: "in", value: ["DE", "FR"] },
          { field: "attributes.plan", op: "eq", value: "pro" },
        ] },
        { field: "score", op: "gt", value: 50 },
        { tag: "vip", op: "has" },
        { event: "purchase", op: "at_least", count: 2, within_days: 30 },
        { segment: segmentId, op: "not_in" },
      ],
    },
    created: { all: [{ field: "created_at", op: "within_last_days", value: 7 }] },
    inactive: { all: [{ field: "last_activity_at", op: "more_than_days_ago", value: 30 }] },
    tagged: { all: [{ tag: "*", op: "has" }] },
    country: { all: [{ field: "country", op: "exists" }] },
    language: { all: [{ field: "language", op: "exists" }] },
    pageViews: { all: [{
      event: "page_view", op: "at_least", count: 1,
      where: [{ property: "url", op: "contains", value: "/pricing" }],
    }] },
    everything: {
      any: [
        { field: "attributes.PLAN", op: "eq", value: "Pro" },
        { field: "updated_at", op: "after", value: "2024-05-31T09:00:00+02:00" },
        { field: "country", op: "exists", value: null },
        { field: "score", op: "between", value: [10, 20.5] },
        { field: "attributes.trial", op: "is_false" },
        { field: "attributes.renews", op: "between", value: ["2024-01-01", "2024-12-31T23:59:59Z"] },
        { tag: "VIP", op: "has_not" },
        { device: "ios", op: "has" },
        { device: "*", op: "has_not" },
        { event: "signup", op: "at_least", count: 1, within_days: null, where: [] },
        { event: "login", op: "at_most", count: 0 },
        { event: "login", op: "at_least", count: 1, after: "2024-05-01" },
        { event: "login", op: "at_most", count: 0, before: "2024-05-01T09:00:00Z" },
        { all: [
          { event: "purchase", op: "exactly", count: 1, between: ["2024-05-01", "2024-05-31"],
            where: [{ property: "amount", op: "gt", value: 10 }, { property: "currency", op: "in", value: ["EUR"] }] },
          { event: "purchase", op: "at_least", count: 2,
            where: [{ property: "amount", op: "eq", value: 12.5 }, { property: "coupon", op: "exists" }] },
        ] },
        { event: "page_view", op: "at_least", count: 2, within_days: 14,
          where: [{ property: "url", op: "starts_with", value: "/docs" }] },
        { segment: segmentId, op: "in" },
        { campaign: "*", activity: "opened", op: "has" },
        { campaign: campaignId, activity: "clicked", op: "has_not", within_days: 30 },
        { campaign: campaignId, activity: "sent", op: "has", between: ["2024-01-01", "2024-03-31"] },
        { any: [{ all: [{ any: [{ tag: "newsletter", op: "has" }] }] }] },
      ],
    },
  };
}
