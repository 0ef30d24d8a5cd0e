import assert from "node:assert/strict";
import { test } from "node:test";

import { emptyMessage, isEmpty, resetValue, setWindow } from "../values.js";
import { catalog } from "./helpers.js";

const shapeOf = (op) => catalog.shapeOf(op);

function after(holder, op, type, previous) {
  const copy = { ...holder };
  resetValue(copy, "value", op, type, previous, shapeOf);
  return copy.value;
}

test("a value keeps what fits the new operator", () => {
  assert.deepEqual(after({ value: "DE" }, "in", "text", "eq"), ["DE"]);
  assert.deepEqual(after({ value: "" }, "in", "text", "eq"), []);
  assert.equal(after({ value: ["DE", "FR"] }, "eq", "text", "in"), "DE");
  assert.deepEqual(after({ value: 5 }, "between", "number", "gt"), [5, null]);
  assert.equal(after({ value: "12" }, "gt", "number", "eq"), 12);
  assert.equal(after({ value: "abc" }, "gt", "number", "eq"), null);
  assert.equal(after({ value: 3 }, "contains", "text", "eq"), "3");
  assert.equal(after({ value: 7 }, "more_than_days_ago", "date", "within_last_days"), 7);
  assert.equal(after({ value: "2024-05-01" }, "within_last_days", "date", "after"), null);
  const none = { value: "x" };
  resetValue(none, "value", "exists", "text", "eq", shapeOf);
  assert.ok(!("value" in none));
});

test("choosing a time window leaves one window, empty in its shape", () => {
  const cond = { event: "x", within_days: 3 };
  setWindow(cond, "between", catalog.windowKeys, "range");
  assert.deepEqual(cond, { event: "x", between: ["", ""] });
  setWindow(cond, "after", catalog.windowKeys, "single");
  assert.deepEqual(cond, { event: "x", after: "" });
  setWindow(cond, "within_days", catalog.windowKeys, "days");
  assert.deepEqual(cond, { event: "x", within_days: null });
  setWindow(cond, "", catalog.windowKeys, null);
  assert.deepEqual(cond, { event: "x" });
});

test("while nothing is typed, an error says so", () => {
  assert.equal(emptyMessage("single", ""), "Enter a value.");
  assert.equal(emptyMessage("list", []), "Add at least one value.");
  assert.equal(emptyMessage("range", [1, null]), "Enter both values.");
  assert.equal(emptyMessage("single", "x"), null);
  assert.equal(emptyMessage("none", undefined), null);
  assert.ok(isEmpty("  ") && isEmpty([]) && isEmpty(["a", ""]) && !isEmpty(0) && !isEmpty(["a"]));
});
