import assert from "node:assert/strict";
import { test } from "node:test";

import { catalog, raw } from "./helpers.js";

test("every operator has the shape of its value, from the catalog", () => {
  for (const [type, ops] of Object.entries(raw.operators)) {
    for (const op of ops) assert.equal(catalog.shapeOf(op.value), op.shape, `${type} ${op.value}`);
  }
  for (const op of raw.property_operators) assert.equal(catalog.shapeOf(op.value), op.shape);
  assert.equal(catalog.shapeOf("in"), "list");
  assert.equal(catalog.shapeOf("between"), "range");
  assert.equal(catalog.shapeOf("within_last_days"), "days");
  assert.equal(catalog.shapeOf("is_true"), "none");
  assert.equal(catalog.shapeOf("eq"), "single");
});

test("a field's operators are its type's", () => {
  assert.deepEqual(catalog.operators(catalog.fieldType("score")).map((o) => o.value), raw.operators.number.map((o) => o.value));
  assert.equal(catalog.fieldType("attributes.PLAN"), "text");
  assert.equal(catalog.fieldType("attributes.trial"), "boolean");
  assert.equal(catalog.fieldType("nope"), "text");
});

test("a property compares as a number when only numbers have the operator or its value is one", () => {
  assert.equal(catalog.propertyType({ op: "gt", value: "" }), "number");
  assert.equal(catalog.propertyType({ op: "between", value: [1, 2] }), "number");
  assert.equal(catalog.propertyType({ op: "contains", value: 3 }), "text");
  assert.equal(catalog.propertyType({ op: "in", value: ["a"] }), "text");
  assert.equal(catalog.propertyType({ op: "eq", value: 3 }), "number");
  assert.equal(catalog.propertyType({ op: "eq", value: "3" }), "text");
  // Still empty: what the person chose, else what the property's values were.
  assert.equal(catalog.propertyType({ op: "eq", value: "" }, "number"), "number");
  assert.equal(catalog.propertyType({ op: "neq", value: null }, undefined, true), "number");
  assert.equal(catalog.propertyType({ op: "neq", value: null }), "text");
  assert.ok(catalog.comparesBoth("eq") && !catalog.comparesBoth("gt") && !catalog.comparesBoth("exists"));
});

test("a page view's URL is compared with the text operators the catalog allows", () => {
  const ops = catalog.urlOperators().map((o) => o.value);
  assert.deepEqual(ops.slice().sort(), raw.url_operators.slice().sort());
  assert.ok(catalog.isUrlFilter([{ property: "url", op: "contains", value: "/a" }]));
  assert.ok(!catalog.isUrlFilter([{ property: "url", op: "gt", value: 1 }]));
  assert.ok(!catalog.isUrlFilter([{ property: "path", op: "contains", value: "/a" }]));
});

test("the time window of a condition", () => {
  assert.equal(catalog.windowOf({ event: "x" }), "");
  assert.equal(catalog.windowOf({ event: "x", within_days: null }), "");
  assert.equal(catalog.windowOf({ event: "x", within_days: 3 }), "within_days");
  assert.equal(catalog.windowOf({ event: "x", between: ["", ""] }), "between");
  assert.deepEqual(raw.windows.map((w) => w.value), ["", ...raw.window_keys]);
  assert.equal(catalog.window("between").shape, "range");
  assert.equal(catalog.window("after").shape, "single");
});

test("notes under a condition", () => {
  assert.equal(catalog.note("field", { field: "country", op: "neq", value: "DE" }), "Also matches contacts with no country.");
  assert.equal(catalog.note("field", { field: "country", op: "eq", value: "DE" }), "");
  assert.equal(catalog.note("event", { event: "x", op: "at_most", count: 0 }), "Matches contacts who never did this.");
  assert.equal(catalog.note("event", { event: "x", op: "at_most", count: 0, after: "2024-05-01" }), "Matches contacts who never did this in that time.");
  assert.equal(catalog.note("event", { event: "x", op: "at_most", count: 1 }), "");
});

test("the word after a number of days comes with the operator", () => {
  assert.equal(catalog.unitOf("date", "within_last_days"), "days");
  assert.equal(catalog.unitOf("date", "more_than_days_ago"), "days ago");
});
