import assert from "node:assert/strict";
import { test } from "node:test";

import { locate, parsePath, treeChild } from "../paths.js";
import { readRule } from "../rule.js";
import { catalog } from "./helpers.js";

test("a path is read up to its last list and index", () => {
  assert.deepEqual(parsePath("all[2].any[0]"), [{ list: "all", index: 2 }, { list: "any", index: 0 }]);
  assert.deepEqual(parsePath("all[0].where[1]"), [{ list: "all", index: 0 }, { list: "where", index: 1 }]);
  assert.deepEqual(parsePath("all[1].any"), [{ list: "all", index: 1 }]);
  assert.deepEqual(parsePath(""), []);
  assert.deepEqual(parsePath("version"), []);
});

const rule = readRule({
  all: [
    { tag: "vip", op: "has" },
    { any: [
      { field: "score", op: "gt", value: 5 },
      { event: "purchase", op: "at_least", count: 1, where: [{ property: "a", op: "exists" }, { property: "b", op: "gt", value: 1 }] },
    ] },
  ],
}, catalog);

test("a path names the node it reaches, the deepest found", () => {
  const root = rule.root;
  assert.equal(locate(root, "", treeChild), root);
  assert.equal(locate(root, "all", treeChild), root);
  assert.equal(locate(root, "all[0]", treeChild).cond.tag, "vip");
  const group = locate(root, "all[1]", treeChild);
  assert.equal(group.type, "group");
  assert.equal(locate(root, "all[1].any", treeChild), group);
  assert.equal(locate(root, "all[1].any[0]", treeChild).cond.field, "score");
  assert.equal(locate(root, "all[1].any[1].where[1]", treeChild).item.property, "b");
  // Past what exists: the deepest node found.
  assert.equal(locate(root, "all[1].any[7]", treeChild), group);
  assert.equal(locate(root, "all[1].any[1].where[5]", treeChild).cond.event, "purchase");
  assert.equal(locate(root, "all[0].where[0]", treeChild).cond.tag, "vip");
});
