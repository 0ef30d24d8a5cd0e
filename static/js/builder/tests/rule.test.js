import assert from "node:assert/strict";
import { test } from "node:test";

import {
  cleanCondition, conditionJson, freshCondition, readCondition, readRule, sameRule, writeRule,
} from "../rule.js";
import { resetValue } from "../values.js";
import { catalog, contractRules, segmentId } from "./helpers.js";

test("every rule of the contract makes an exact JSON round trip", () => {
  for (const [name, rule] of Object.entries(contractRules())) {
    const tree = readRule(rule, catalog);
    assert.ok(tree, name);
    assert.deepEqual(writeRule(tree, catalog), rule, name);
  }
});

test("every condition of the contract is drawn with real controls, none as JSON", () => {
  const walk = (node) => (node.type === "group" ? node.children.flatMap(walk) : [node]);
  for (const [name, rule] of Object.entries(contractRules())) {
    for (const node of walk(readRule(rule, catalog).root)) {
      assert.notEqual(node.category, "raw", `${name}: ${JSON.stringify(node.original)}`);
    }
  }
});

test("a condition keeps its spelling until it is changed, then takes the contract's shape", () => {
  const read = readCondition({ event: "signup", op: "at_least", count: 1, within_days: null, where: [] }, catalog);
  assert.deepEqual(conditionJson(read, catalog), { event: "signup", op: "at_least", count: 1, within_days: null, where: [] });
  read.cond.count = 2;
  assert.deepEqual(conditionJson(read, catalog), { event: "signup", op: "at_least", count: 2 });
});

test("keys come out in the contract's order, optional ones only when set", () => {
  const data = {
    category: "event",
    cond: { where: [{ value: 3, op: "gt", property: "amount" }], before: "2024-05-01", count: 1, op: "at_most", event: "x", after: null },
  };
  const out = cleanCondition(data, catalog);
  assert.deepEqual(Object.keys(out), ["event", "op", "count", "before", "where"]);
  assert.deepEqual(Object.keys(out.where[0]), ["property", "op", "value"]);
});

test("an operator that takes no value writes none", () => {
  const data = { category: "field", cond: { field: "country", op: "eq", value: "DE" } };
  data.cond.op = "exists";
  resetValue(data.cond, "value", "exists", "text", "eq", (op) => catalog.shapeOf(op));
  assert.deepEqual(cleanCondition(data, catalog), { field: "country", op: "exists" });
  const where = { category: "event", cond: { event: "x", op: "at_least", count: 1, where: [{ property: "p", op: "not_exists", value: "" }] } };
  assert.deepEqual(cleanCondition(where, catalog).where, [{ property: "p", op: "not_exists" }]);
});

test("categories: page views are events with one URL filter; unknown shapes stay JSON", () => {
  const url = { property: "url", op: "contains", value: "/x" };
  assert.equal(catalog.categoryOf({ event: "page_view", op: "at_least", count: 1, where: [url] }), "page_view");
  assert.equal(catalog.categoryOf({ event: "page_view", op: "at_least", count: 1 }), "event");
  assert.equal(catalog.categoryOf({ event: "page_view", op: "at_least", count: 1, where: [url, url] }), "event");
  assert.equal(catalog.categoryOf({ tag: "a", op: "has", device: "ios" }), "raw");
  assert.equal(catalog.categoryOf({ tag: "a", op: "has", extra: 1 }), "raw");
  assert.equal(catalog.categoryOf({ event: "x", op: "at_least", count: 1, where: [{ property: "a", oops: 1 }] }), "raw");
  assert.equal(catalog.categoryOf({ color: "red" }), "raw");
  assert.equal(catalog.categoryOf("nope"), "raw");
  assert.equal(catalog.categoryOf({ campaign: "*", activity: "sent", op: "has", after: "2024-05-01" }), "campaign");
});

test("a raw condition is written back as edited", () => {
  const data = readCondition({ color: "red" }, catalog);
  assert.equal(data.category, "raw");
  data.cond = { color: "blue" };
  assert.deepEqual(conditionJson(data, catalog), { color: "blue" });
});

test("what is not a group is not drawn", () => {
  assert.equal(readRule([{ tag: "a", op: "has" }], catalog), null);
  assert.equal(readRule({ tag: "a", op: "has" }, catalog), null);
  assert.equal(readRule({ all: [], any: [] }, catalog), null);
  assert.deepEqual(writeRule(readRule({ any: [] }, catalog), catalog), { any: [] });
});

test("a new condition of every category starts as the catalog says, a fresh copy each time", () => {
  for (const category of catalog.categories) {
    const first = freshCondition(catalog, category.value);
    assert.deepEqual(first.cond, category.new);
    first.cond.op = "changed";
    assert.notEqual(freshCondition(catalog, category.value).cond.op, "changed");
    assert.equal(catalog.categoryOf(category.new), category.value, category.value);
  }
  assert.equal(freshCondition(catalog).category, catalog.categories[0].value);
});

test("sameRule ignores nulls and an empty where, nothing else", () => {
  assert.ok(sameRule({ all: [{ tag: "a", op: "has", x: null }] }, { all: [{ op: "has", tag: "a" }] }));
  assert.ok(!sameRule({ all: [{ segment: segmentId, op: "in" }] }, { all: [{ segment: segmentId, op: "not_in" }] }));
  assert.ok(!sameRule({ all: [1, 2] }, { all: [2, 1] }));
});
