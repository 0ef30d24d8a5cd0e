/* A rule as the builder holds it, and back to the JSON of conditions.md. Pure: no DOM.

   A tree of nodes: {type: "group", kind: "all" | "any", children: [...]} and
   {type: "condition", category, cond, original, raw}. `cond` is what the controls
   edit; `original` is the condition as it was read, so one the person did not
   change is written back exactly as it came (same keys, same spelling); `raw` is the
   JSON text of a condition the builder cannot draw (edited as JSON, in place). */

export function isObject(value) {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}

export function has(object, key) {
  return Object.prototype.hasOwnProperty.call(object, key);
}

export function copy(value) {
  return value === undefined ? undefined : JSON.parse(JSON.stringify(value));
}

/* Two documents mean the same when they differ only by keys holding null, or an
   empty `where`: the builder writes neither, the contract reads both as absent. */
export function normalize(value) {
  if (Array.isArray(value)) return value.map(normalize);
  if (!isObject(value)) return value;
  const out = {};
  Object.keys(value).sort().forEach((key) => {
    const item = value[key];
    if (item === null || item === undefined) return;
    if (key === "where" && Array.isArray(item) && item.length === 0) return;
    out[key] = normalize(item);
  });
  return out;
}

export function sameRule(a, b) {
  return JSON.stringify(normalize(a)) === JSON.stringify(normalize(b));
}

export function groupKind(node) {
  if (!isObject(node)) return null;
  const keys = Object.keys(node);
  if (keys.length !== 1 || (keys[0] !== "all" && keys[0] !== "any")) return null;
  return Array.isArray(node[keys[0]]) ? keys[0] : null;
}

export function looksLikeGroup(node) {
  return isObject(node) && (has(node, "all") || has(node, "any"));
}

/* ---------------------------------------------------------------- reading */

export function readCondition(node, catalog) {
  const category = catalog.categoryOf(node);
  return {
    type: "condition",
    category,
    cond: category === "raw" ? node : copy(node),
    original: copy(node),
    raw: category === "raw" ? JSON.stringify(node, null, 2) : null,
  };
}

/* A condition "+ Add condition" makes: the catalog's first category, as it starts. */
export function freshCondition(catalog, category) {
  const value = category || catalog.firstCategory();
  return { type: "condition", category: value, cond: catalog.newCondition(value), original: undefined, raw: null };
}

export function readNode(node, catalog) {
  const kind = looksLikeGroup(node) ? groupKind(node) : null;
  if (kind) return { type: "group", kind, children: node[kind].map((child) => readNode(child, catalog)) };
  return readCondition(node, catalog);
}

/* {version, root} for a rule the builder can draw, else null. */
export function readRule(doc, catalog) {
  if (!isObject(doc)) return null;
  const rest = {};
  Object.keys(doc).forEach((key) => { if (key !== "version") rest[key] = doc[key]; });
  const kind = groupKind(rest);
  if (!kind) return null;
  return {
    version: has(doc, "version") ? { value: doc.version } : null,
    root: { type: "group", kind, children: rest[kind].map((child) => readNode(child, catalog)) },
  };
}

/* ---------------------------------------------------------------- writing */

function writeKeys(source, keys, required, shapeOf) {
  const out = {};
  keys.forEach((key) => {
    if (key === "value") {
      if (shapeOf(source.op) !== "none") out.value = source.value === undefined ? null : source.value;
    } else if (key === "where") {
      if (Array.isArray(source.where) && source.where.length) out.where = source.where;
    } else if (required.indexOf(key) >= 0) {
      out[key] = source[key];
    } else if (source[key] !== undefined && source[key] !== null) {
      out[key] = source[key];
    }
  });
  return out;
}

/* The contract's shape: the kind's keys in their order, no `value` where the operator
   takes none, no empty optional key (`where`, a window). */
export function cleanCondition(data, catalog) {
  const c = data.cond;
  const kind = catalog.kindOfCategory(data.category);
  const spec = kind && catalog.kinds[kind];
  if (!spec || !isObject(c)) return copy(c);
  const shapeOf = (op) => catalog.shapeOf(op);
  const out = writeKeys(c, spec.keys, spec.required, shapeOf);
  if (out.where) {
    const keys = catalog.propertyKeys();
    out.where = out.where.map((item) => writeKeys(item, keys, ["property", "op"], shapeOf));
  }
  return out;
}

export function conditionJson(data, catalog) {
  const out = cleanCondition(data, catalog);
  if (data.original !== undefined && sameRule(out, data.original)) return copy(data.original);
  return out;
}

export function writeNode(node, catalog) {
  if (node.type === "group") {
    const out = {};
    out[node.kind] = node.children.map((child) => writeNode(child, catalog));
    return out;
  }
  return conditionJson(node, catalog);
}

export function writeRule(rule, catalog) {
  const doc = {};
  if (rule.version) doc.version = rule.version.value;
  const group = writeNode(rule.root, catalog);
  Object.keys(group).forEach((key) => { doc[key] = group[key]; });
  return doc;
}
