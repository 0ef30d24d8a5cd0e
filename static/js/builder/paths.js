/* JSON paths of rule errors ("all[1].any[0].where[2]") to the node they name. Pure. */

/* The steps of a path, up to the first part that is not a list and an index. */
export function parsePath(path) {
  const steps = [];
  for (const part of (path || "").split(".").filter(Boolean)) {
    const match = /^(all|any|where)(?:\[(\d+)\])?$/.exec(part);
    if (!match || match[2] === undefined) break;
    steps.push({ list: match[1], index: Number(match[2]) });
  }
  return steps;
}

/* The deepest node a path reaches from `root`: `child(node, list, index)` gives the
   child (null when there is none), so this serves the DOM and plain trees alike. A
   path that ends on "any" or "all" names the group itself. */
export function locate(root, path, child) {
  let node = root;
  for (const step of parsePath(path)) {
    const next = child(node, step.list, step.index);
    if (!next) break;
    node = next;
  }
  return node;
}

/* `child` for the builder's rule trees (rule.js). */
export function treeChild(node, list, index) {
  if (list === "where") {
    const where = node.type === "condition" && node.cond && node.cond.where;
    return Array.isArray(where) && where[index] ? { type: "property", item: where[index] } : null;
  }
  return node.type === "group" ? node.children[index] || null : null;
}
