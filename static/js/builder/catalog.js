/* The catalog the server renders (segments/builder.py, json_script "builder-catalog"):
   the kinds of condition and their keys, the categories of the "Condition type" menu
   with their controls and the condition a new one starts as, the operators of each
   value type with the shape of their value, the time windows. Pure: no DOM. The
   builder declares none of these itself. */

import { copy, has, isObject } from "./rule.js";

/* Categories that are a kind seen a particular way say which matcher recognises
   their conditions: a page view is the event its new condition names, with one filter
   on the property that one filters on (the URL). */
const MATCHERS = {
  page_view(node, catalog, category) {
    return node.event === category.new.event && catalog.isUrlFilter(node.where, category);
  },
};

export class Catalog {
  constructor(raw) {
    this.raw = raw || {};
    this.categories = this.raw.categories || [];
    this.kinds = this.raw.kinds || {};
    this.shapes = this.raw.shapes || {};
    this.windows = this.raw.windows || [];
    this.windowKeys = this.raw.window_keys || [];
    this.limits = this.raw.limits || { depth: 5, conditions: 100 };
    this.fields = {};
    this.fieldsLower = {};
    (this.raw.fields || []).forEach((field) => {
      this.fields[field.value] = field;
      this.fieldsLower[field.value.toLowerCase()] = field;
    });
    this.propertyTypes = {};
    (this.raw.property_operators || []).forEach((op) => { this.propertyTypes[op.value] = op.types; });
  }

  list(name) {
    return this.raw[name] || [];
  }

  /* What the value of `op` looks like: none, single, list, range or days. */
  shapeOf(op) {
    return this.shapes[op] || "single";
  }

  category(value) {
    return this.categories.find((c) => c.value === value) || null;
  }

  firstCategory() {
    return this.categories.length ? this.categories[0].value : "raw";
  }

  kindOfCategory(value) {
    const found = this.category(value);
    return found ? found.kind : null;
  }

  propertyKeys() {
    return this.raw.property_keys || ["property", "op", "value"];
  }

  newCondition(category) {
    const found = this.category(category);
    return found ? copy(found.new) : {};
  }

  /* The category of a condition; "raw" when the builder cannot draw it (then it is
     edited as JSON, in place). */
  categoryOf(node) {
    if (!isObject(node)) return "raw";
    const kinds = Object.keys(this.kinds).filter((kind) => has(node, kind));
    if (kinds.length !== 1) return "raw";
    const kind = kinds[0];
    const keys = this.kinds[kind].keys;
    if (!Object.keys(node).every((key) => keys.indexOf(key) >= 0)) return "raw";
    if (has(node, "where") && node.where !== null) {
      const allowed = this.propertyKeys();
      const fine = Array.isArray(node.where) && node.where.every(
        (item) => isObject(item) && Object.keys(item).every((key) => allowed.indexOf(key) >= 0),
      );
      if (!fine) return "raw";
    }
    const mine = this.categories.filter((c) => c.kind === kind);
    const special = mine.find((c) => c.match && MATCHERS[c.match] && MATCHERS[c.match](node, this, c));
    if (special) return special.value;
    const plain = mine.find((c) => !c.match);
    return plain ? plain.value : "raw";
  }

  /* One filter on the page view category's property (the URL), compared as text. */
  isUrlFilter(where, category) {
    const pageView = category || this.categories.find((c) => c.match === "page_view");
    const ops = this.list("url_operators");
    return Array.isArray(where) && where.length === 1 && isObject(where[0]) && Boolean(pageView) &&
      where[0].property === pageView.new.where[0].property && ops.indexOf(where[0].op) >= 0 &&
      typeof where[0].value === "string";
  }

  fieldInfo(name) {
    if (typeof name !== "string") return null;
    return this.fields[name] || this.fieldsLower[name.toLowerCase()] || null;
  }

  fieldType(name) {
    const info = this.fieldInfo(name);
    return info ? info.type : "text";
  }

  /* The word after a number of days ("days", "days ago"). */
  unitOf(type, op) {
    const found = ((this.raw.operators || {})[type] || []).find((o) => o.value === op);
    return (found && found.unit) || "days";
  }

  /* The operators of a value type, as menu options. */
  operators(type) {
    const ops = this.raw.operators || {};
    return (ops[type] || ops.text || []).map((o) => ({ value: o.value, label: o.label }));
  }

  propertyOperators() {
    return this.list("property_operators");
  }

  urlOperators() {
    const ops = this.list("url_operators");
    return this.propertyOperators().filter((o) => ops.indexOf(o.value) >= 0);
  }

  /* How a property condition compares, text or number. Only numbers have some
     operators, only text others; for those both have ("is", "is not") the value
     decides, or while it is still empty, what the person chose (`compareAs`), or
     whether the property's recent values were numbers (`numericHint`). */
  propertyType(item, compareAs, numericHint) {
    const types = this.propertyTypes[item.op] || ["text"];
    if (types.length === 1) return types[0];
    if (typeof item.value === "number") return "number";
    if (typeof item.value === "string" && item.value !== "") return "text";
    return compareAs || (numericHint ? "number" : "text");
  }

  comparesBoth(op) {
    const types = this.propertyTypes[op] || [];
    return types.length > 1 && this.shapeOf(op) !== "none";
  }

  /* The time window a condition has ("" for all time). */
  windowOf(cond) {
    return this.windowKeys.find((key) => cond[key] !== undefined && cond[key] !== null) || "";
  }

  window(value) {
    return this.windows.find((w) => w.value === value) || null;
  }

  /* The note under a condition ("Also matches contacts with no country."), or "". */
  note(category, cond) {
    const found = this.category(category);
    const notes = (found && found.notes) || [];
    const note = notes.find((n) => Object.keys(n.when).every((key) => {
      const wanted = n.when[key];
      return Array.isArray(wanted) ? wanted.indexOf(cond[key]) >= 0 : cond[key] === wanted;
    }));
    if (!note) return "";
    const text = this.windowOf(cond) && note.windowed ? note.windowed : note.text;
    const field = this.fieldInfo(cond.field);
    return text.replace("{field}", field ? field.label.toLowerCase() : "value");
  }
}
