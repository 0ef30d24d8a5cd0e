/* The segment rule builder (templates/segments/builder/_rule.html).

   The page holds the rule as JSON in a labelled textarea, which works without
   JavaScript. The builder hides it and draws the rule as nested groups of
   conditions; every change writes the JSON of conditions.md back into the textarea
   (the form posts it) and, 400 ms later, asks segments:preview for the live count.

   What it offers comes from the catalog the server renders (catalog.js): kinds,
   categories, controls, operators, value shapes, windows. The JSON is exact: a
   condition the person did not change is written back as it was read (rule.js). The
   DOM is the structure (groups and their order, so SortableJS can move nodes around
   freely); each condition element keeps its data in a WeakMap.

   CSP: no inline scripts or style attributes; the catalog and the rule come from
   json_script tags. SortableJS sets styles through the CSSOM during a drag only. */

import { Catalog } from "./catalog.js";
import { choice, csrfToken, freezeValues, h, readJson } from "./dom.js";
import { drawControls, valueInputs } from "./controls.js";
import { locate } from "./paths.js";
import { freshCondition, isObject, readRule, sameRule, writeRule } from "./rule.js";
import { emptyMessage, resetValue } from "./values.js";

const DEBOUNCE_MS = 400;

export class Builder {
  constructor(section) {
    this.section = section;
    this.form = section.closest("form");
    this.catalog = new Catalog(readJson("builder-catalog"));
    this.readonly = section.hasAttribute("data-readonly");
    this.textarea = section.querySelector("[data-rule-json]");
    this.ruleField = section.querySelector("[data-rule-field]");
    this.jsonActions = section.querySelector("[data-json-actions]");
    this.jsonError = section.querySelector("[data-json-error]");
    this.mount = section.querySelector("[data-builder-mount]");
    const scope = this.form || document;
    this.panel = scope.querySelector("[data-preview-body]");
    this.spinner = scope.querySelector("[data-preview-spinner]");
    this.dirtyNote = scope.querySelector("[data-dirty-note]");
    this.previewUrl = section.getAttribute("data-preview-url");
    this.segmentId = section.getAttribute("data-segment-id") || "";
    this.data = new WeakMap();
    // How an "is"/"is not" property filter compares (text or number) while its value
    // is still empty and so cannot tell; and the filter each row edits (for messages).
    this.compareAs = new WeakMap();
    this.rowItems = new WeakMap();
    this.seq = 0;
    this.uid = 0;
  }

  boot() {
    if (!this.textarea || !this.mount) return;
    if (this.form) {
      this.form.querySelectorAll("[data-nojs-only]").forEach((n) => { n.hidden = true; });
      this.form.addEventListener("submit", () => { this.beforeSubmit(); });
      this.form.addEventListener("keydown", (event) => { this.onFormKey(event); });
    }
    const apply = this.section.querySelector("[data-json-apply]");
    if (apply) apply.addEventListener("click", () => { this.applyJson(); });
    this.textarea.addEventListener("input", () => {
      if (this.mode === "json") {
        this.updateDirty();
        this.schedulePreview();
      }
    });
    const rule = readJson("builder-rule");
    if (!this.start(rule)) {
      this.jsonMode("This rule cannot be shown in the builder: edit its JSON.");
    }
    // What is saved: the rule the page opened with, unless it came back from a refused
    // save (data-unsaved), when nothing on the page is saved yet.
    this.initial = this.section.hasAttribute("data-unsaved") ? undefined : rule;
    this.updateDirty();
    this.guardLeaving();
    const error = readJson("builder-error");
    if (error) this.showError(error.path, error.message, true);
    if (!this.readonly) this.schedulePreview(0);
  }

  /* Draw `doc`; false when it is not a group the builder can draw. */
  start(doc) {
    const rule = readRule(doc, this.catalog);
    if (!rule) return false;
    this.version = rule.version;
    this.mount.textContent = "";
    this.mount.appendChild(this.toolbar());
    this.mount.appendChild(this.datalists());
    this.rootEl = this.groupElement(rule.root.kind, rule.root.children, true);
    this.mount.appendChild(this.rootEl);
    this.limitNote = this.mount.appendChild(h("p", { className: "b-limit-note help", hidden: true }));
    this.mode = "builder";
    this.mount.hidden = false;
    this.ruleField.hidden = true;
    if (this.jsonActions) this.jsonActions.hidden = true;
    this.sync();
    return true;
  }

  toolbar() {
    const bar = h("div", { className: "b-toolbar" });
    if (this.readonly) return bar;
    const toJson = h("button", { type: "button", className: "button ghost small", text: "Edit as JSON" });
    toJson.addEventListener("click", () => { this.jsonMode(); });
    bar.appendChild(toJson);
    return bar;
  }

  /* The suggestions of text inputs ("list": a list of the catalog). */
  datalists() {
    const box = h("div", { hidden: true });
    ["event_names", "url_hints"].forEach((name) => {
      const list = h("datalist", { id: "b-list-" + name });
      this.catalog.list(name).forEach((value) => { list.appendChild(h("option", { value })); });
      box.appendChild(list);
    });
    return box;
  }

  /* ---- JSON mode: the textarea itself, for people who prefer to type the rule */

  jsonMode(message) {
    this.mode = "json";
    this.mount.hidden = true;
    this.ruleField.hidden = false;
    if (this.jsonActions) this.jsonActions.hidden = this.readonly;
    if (this.jsonError) this.jsonError.textContent = message || "";
    if (!message) {
      this.textarea.focus();
      this.textarea.setSelectionRange(0, 0);
      this.textarea.scrollTop = 0;
    }
  }

  parseTextarea() {
    try {
      return JSON.parse(this.textarea.value);
    } catch (e) {
      return undefined;
    }
  }

  applyJson() {
    const doc = this.parseTextarea();
    if (doc === undefined) {
      this.jsonError.textContent = "This is not valid JSON yet.";
      return;
    }
    if (!this.start(doc)) {
      this.jsonError.textContent = 'The rule must be a group: {"all": [...]} or {"any": [...]}.';
      return;
    }
    this.changed();
  }

  /* ---- groups */

  groupElement(kind, children, isRoot) {
    const el = h("div", {
      className: "b-node b-group" + (isRoot ? " b-root" : ""),
      "data-kind": kind,
      role: "group",
      "aria-label": isRoot ? "All conditions" : "Group of conditions",
    });
    const head = h("div", { className: "b-group-head" });
    if (!isRoot && !this.readonly) head.appendChild(this.handle("group"));
    const toggle = h("div", { className: "b-toggle", role: "group", "aria-label": "How the conditions combine" });
    ["all", "any"].forEach((value) => {
      const button = h("button", {
        type: "button",
        className: "b-toggle-option",
        "data-kind-value": value,
        "aria-pressed": String(value === kind),
        disabled: this.readonly,
        text: value.toUpperCase(),
      });
      button.addEventListener("click", () => { this.setKind(el, value); });
      toggle.appendChild(button);
    });
    head.appendChild(h("span", { className: "b-match", text: "Match" }));
    head.appendChild(toggle);
    head.appendChild(h("span", { className: "b-match", text: "of the following" }));
    head.appendChild(h("span", { className: "b-match-hint", "data-match-hint": "" }));
    if (!isRoot && !this.readonly) head.appendChild(this.removeButton(el, "Remove this group"));
    el.appendChild(head);
    el.appendChild(this.errorSlot());
    const list = h("div", { className: "b-children", "data-children": "" });
    (children || []).forEach((child) => { list.appendChild(this.nodeElement(child)); });
    el.appendChild(list);
    el.appendChild(h("p", { className: "b-empty", text: "This group is empty: add a condition or drag one here." }));
    if (!this.readonly) {
      const foot = h("div", { className: "b-group-foot" });
      const addCondition = h("button", { type: "button", className: "button small", "data-add-condition": "", text: "+ Add condition" });
      const addGroup = h("button", { type: "button", className: "button small ghost", "data-add-group": "", text: "+ Add group" });
      addCondition.addEventListener("click", () => { this.addCondition(el); });
      addGroup.addEventListener("click", () => { this.addGroup(el); });
      foot.appendChild(addCondition);
      foot.appendChild(addGroup);
      el.appendChild(foot);
    }
    this.describeKind(el);
    this.makeSortable(list);
    return el;
  }

  describeKind(groupEl) {
    const kind = groupEl.getAttribute("data-kind");
    const hint = groupEl.querySelector(":scope > .b-group-head > [data-match-hint]");
    if (hint) hint.textContent = kind === "all" ? "(every one must hold)" : "(at least one must hold)";
  }

  setKind(groupEl, kind) {
    groupEl.setAttribute("data-kind", kind);
    groupEl.querySelectorAll(":scope > .b-group-head .b-toggle-option").forEach((button) => {
      button.setAttribute("aria-pressed", String(button.getAttribute("data-kind-value") === kind));
    });
    this.describeKind(groupEl);
    this.changed();
  }

  handle(what) {
    const button = h("button", {
      type: "button",
      className: "b-handle",
      "aria-label": "Move this " + what + " (drag, or use the arrow keys)",
      title: "Drag to move; arrow keys move it too",
    });
    button.appendChild(h("span", { "aria-hidden": "true", text: "⠿" }));
    button.addEventListener("keydown", (event) => { this.keyMove(event, button.closest(".b-node")); });
    return button;
  }

  removeButton(nodeEl, label) {
    const button = h("button", { type: "button", className: "b-remove", "aria-label": label, title: label });
    button.appendChild(h("span", { "aria-hidden": "true", text: "×" }));
    button.addEventListener("click", () => {
      const group = nodeEl.parentElement.closest(".b-group");
      nodeEl.remove();
      const add = group && group.querySelector(":scope > .b-group-foot [data-add-condition]");
      if (add) add.focus();
      this.changed();
    });
    return button;
  }

  errorSlot() {
    return h("p", { className: "b-error", "data-node-error": "", role: "alert", hidden: true });
  }

  /* A node of a rule tree (rule.js) as an element. */
  nodeElement(node) {
    if (node.type === "group") {
      return this.groupElement(node.kind, node.children, false);
    }
    return this.conditionElement(node);
  }

  addCondition(groupEl) {
    const el = this.conditionElement(freshCondition(this.catalog));
    groupEl.querySelector(":scope > [data-children]").appendChild(el);
    this.changed();
    el.querySelector("[data-role=field], [data-role=category]").focus();
  }

  addGroup(groupEl) {
    // A new group inside an ALL is usually an ANY ("... and one of these"), and back.
    const kind = groupEl.getAttribute("data-kind") === "all" ? "any" : "all";
    const el = this.groupElement(kind, [], false);
    el.querySelector(":scope > [data-children]").appendChild(this.conditionElement(freshCondition(this.catalog)));
    groupEl.querySelector(":scope > [data-children]").appendChild(el);
    this.changed();
    el.querySelector("[data-role=category]").focus();
  }

  /* ---- moving: SortableJS for the mouse and touch, arrow keys on the handle */

  makeSortable(list) {
    if (this.readonly || !window.Sortable) return;
    window.Sortable.create(list, {
      group: "kith-rule",
      handle: ".b-handle",
      draggable: ".b-node",
      animation: window.matchMedia("(prefers-reduced-motion: reduce)").matches ? 0 : 150,
      // Mouse and touch alike through pointer events (HTML5 drag and drop differs
      // between browsers); the moving copy stays inside the builder, so it keeps the
      // builder's styles.
      forceFallback: true,
      fallbackOnBody: false,
      swapThreshold: 0.65,
      emptyInsertThreshold: 24,
      ghostClass: "b-ghost",
      chosenClass: "b-chosen",
      dragClass: "b-dragging",
      onMove: (event) => {
        const target = event.to.closest(".b-group");
        return this.depthOf(target) + this.heightOf(event.dragged) <= this.catalog.limits.depth;
      },
      onChoose: (event) => { freezeValues(event.item); },
      onEnd: () => { this.changed(); },
    });
  }

  keyMove(event, nodeEl) {
    const key = event.key;
    if (["ArrowUp", "ArrowDown", "ArrowLeft", "ArrowRight"].indexOf(key) < 0) return;
    event.preventDefault();
    const list = nodeEl.parentElement;
    let moved = false;
    if (key === "ArrowUp" && nodeEl.previousElementSibling) {
      list.insertBefore(nodeEl, nodeEl.previousElementSibling);
      moved = true;
    } else if (key === "ArrowDown" && nodeEl.nextElementSibling) {
      list.insertBefore(nodeEl.nextElementSibling, nodeEl);
      moved = true;
    } else if (key === "ArrowLeft") {
      // Out of its group, right after it.
      const group = list.closest(".b-group");
      if (group && !group.classList.contains("b-root")) {
        group.parentElement.insertBefore(nodeEl, group.nextElementSibling);
        moved = true;
      }
    } else if (key === "ArrowRight") {
      // Into the group just above it.
      const before = nodeEl.previousElementSibling;
      if (before && before.classList.contains("b-group") &&
          this.depthOf(before) + this.heightOf(nodeEl) <= this.catalog.limits.depth) {
        before.querySelector(":scope > [data-children]").appendChild(nodeEl);
        moved = true;
      }
    }
    if (moved) {
      nodeEl.querySelector(".b-handle").focus();
      this.changed();
    }
  }

  depthOf(groupEl) {
    let depth = 0;
    for (let node = groupEl; node && node !== this.mount; node = node.parentElement) {
      if (node.classList.contains("b-group")) depth += 1;
    }
    return depth;
  }

  /* How many group levels a node brings along (0 for a condition). */
  heightOf(nodeEl) {
    if (!nodeEl.classList.contains("b-group")) return 0;
    let deepest = 0;
    nodeEl.querySelectorAll(":scope > [data-children] > .b-node").forEach((child) => {
      deepest = Math.max(deepest, this.heightOf(child));
    });
    return 1 + deepest;
  }

  updateLimits() {
    if (this.mode !== "builder") return;
    const limits = this.catalog.limits;
    const count = this.mount.querySelectorAll(".b-cond").length;
    const full = count >= limits.conditions;
    this.mount.querySelectorAll(".b-group").forEach((group) => {
      const empty = !group.querySelector(":scope > [data-children] > .b-node");
      group.classList.toggle("is-empty", empty);
      const addCondition = group.querySelector(":scope > .b-group-foot [data-add-condition]");
      const addGroup = group.querySelector(":scope > .b-group-foot [data-add-group]");
      if (addCondition) addCondition.disabled = full;
      if (addGroup) {
        const deep = this.depthOf(group) >= limits.depth;
        addGroup.disabled = full || deep;
        addGroup.title = deep ? "Groups nest at most " + limits.depth + " levels deep." : "";
      }
    });
    const notes = [];
    if (full) notes.push("A rule holds at most " + limits.conditions + " conditions.");
    this.limitNote.textContent = notes.join(" ");
    this.limitNote.hidden = !notes.length;
  }

  /* ---------------------------------------------------------------- conditions */

  conditionElement(data) {
    const el = h("div", { className: "b-node b-cond", "data-category": data.category });
    this.data.set(el, data);
    this.draw(el);
    return el;
  }

  /* (Re)draw a condition's controls from its data; focus returns to the control of
     the same role, so changing a menu does not lose one's place. */
  draw(el, focusRole) {
    const data = this.data.get(el);
    el.textContent = "";
    el.setAttribute("data-category", data.category);
    const row = h("div", { className: "b-row" });
    if (!this.readonly) row.appendChild(this.handle("condition"));
    row.appendChild(choice({
      label: "Condition type",
      options: this.catalog.categories,
      current: data.category,
      role: "category",
      unknownLabel: () => "JSON",
      onChange: (value) => {
        data.category = value;
        data.cond = this.catalog.newCondition(value);
        data.raw = null;
        this.draw(el, "category");
        this.changed();
      },
    }));
    const controls = h("div", { className: "b-controls" });
    drawControls(this, el, data).forEach((node) => { controls.appendChild(node); });
    row.appendChild(controls);
    if (!this.readonly) row.appendChild(this.removeButton(el, "Remove this condition"));
    el.appendChild(row);
    const category = this.catalog.category(data.category);
    if (category && category.below === "where") el.appendChild(this.whereList(el, data));
    el.appendChild(h("p", { className: "b-note help", "data-note": "", hidden: true }));
    el.appendChild(this.errorSlot());
    this.note(el);
    if (this.readonly) {
      el.querySelectorAll("input, select, textarea, button").forEach((c) => { c.disabled = true; });
    }
    if (focusRole) {
      const target = el.querySelector("[data-role=" + focusRole + "]");
      if (target) target.focus();
    }
  }

  note(el) {
    const data = this.data.get(el);
    const slot = el.querySelector(":scope > [data-note]");
    if (!slot) return;
    const text = isObject(data.cond) ? this.catalog.note(data.category, data.cond) : "";
    slot.textContent = text;
    slot.hidden = !text;
  }

  /* ---- an event's property filters ("where") */

  whereList(el, data) {
    const cond = data.cond;
    const box = h("div", { className: "b-where", "data-where": "" });
    const listId = "b-props-" + (++this.uid);
    const hints = (this.catalog.raw.event_properties || {})[cond.event] || [];
    const datalist = h("datalist", { id: listId });
    hints.forEach((hint) => { datalist.appendChild(h("option", { value: hint.key })); });
    box.appendChild(datalist);
    (cond.where || []).forEach((item, index) => {
      box.appendChild(this.whereRow(el, cond, item, index, listId, hints));
    });
    if (!this.readonly) {
      const add = h("button", { type: "button", className: "button small ghost b-add-where", text: "+ Filter by a property" });
      add.addEventListener("click", () => {
        const numeric = hints.length && hints[0].numeric;
        if (!Array.isArray(cond.where)) cond.where = [];
        const op = this.catalog.propertyOperators()[0].value; // "is": text or number
        const item = { property: hints.length ? hints[0].key : "", op, value: numeric ? null : "" };
        this.compareAs.set(item, numeric ? "number" : "text");
        cond.where.push(item);
        this.redrawWhere(el);
        const rows = el.querySelectorAll("[data-where-row]");
        rows[rows.length - 1].querySelector("[data-role=property]").focus();
        this.changed();
      });
      box.appendChild(add);
    }
    return box;
  }

  redrawWhere(el) {
    const data = this.data.get(el);
    const old = el.querySelector(":scope > [data-where]");
    if (old) old.replaceWith(this.whereList(el, data));
  }

  whereRow(el, cond, item, index, listId, hints) {
    const catalog = this.catalog;
    const row = h("div", { className: "b-where-row", "data-where-row": "" });
    row.appendChild(h("span", { className: "b-word", text: index === 0 ? "where" : "and" }));
    const property = h("input", {
      type: "text", className: "b-property", "aria-label": "Property", "data-role": "property",
      list: listId, placeholder: "property", value: item.property === undefined ? "" : String(item.property),
    });
    property.addEventListener("input", () => { item.property = property.value; this.changed(); });
    row.appendChild(property);
    const numericHint = hints.some((hint) => hint.key === item.property && hint.numeric);
    const valueType = () => catalog.propertyType(item, this.compareAs.get(item), numericHint);
    this.rowItems.set(row, item);
    row.appendChild(choice({
      label: "Property comparison", options: catalog.propertyOperators(), current: item.op, role: "property-op",
      onChange: (value) => {
        const before = item.op;
        const beforeType = valueType();
        item.op = value;
        const type = catalog.propertyType({ op: value, value: item.value }, beforeType, numericHint);
        if (catalog.shapeOf(before) !== catalog.shapeOf(value) || beforeType !== type) {
          resetValue(item, "value", value, type, before, (op) => catalog.shapeOf(op));
        }
        this.redrawWhere(el);
        this.changed();
      },
    }));
    valueInputs(this, item, "value", item.op, valueType()).forEach((n) => { row.appendChild(n); });
    if (catalog.comparesBoth(item.op)) {
      // "is" compares text, or numbers when the value is a number: say which.
      row.appendChild(choice({
        label: "Compare as",
        options: [{ value: "text", label: "as text" }, { value: "number", label: "as number" }],
        current: valueType(),
        role: "value-type",
        onChange: (value) => {
          this.compareAs.set(item, value);
          resetValue(item, "value", item.op, value, item.op, (op) => catalog.shapeOf(op));
          this.redrawWhere(el);
          this.changed();
        },
      }));
    }
    if (!this.readonly) {
      const remove = h("button", { type: "button", className: "b-remove", "aria-label": "Remove this property filter" });
      remove.appendChild(h("span", { "aria-hidden": "true", text: "×" }));
      remove.addEventListener("click", () => {
        cond.where.splice(index, 1);
        if (!cond.where.length) delete cond.where;
        this.redrawWhere(el);
        this.changed();
      });
      row.appendChild(remove);
    }
    row.appendChild(this.errorSlot());
    return row;
  }

  /* ---------------------------------------------------------------- writing the rule */

  /* The DOM as a rule tree (rule.js), in its current order. */
  tree(groupEl) {
    const children = [];
    groupEl.querySelectorAll(":scope > [data-children] > .b-node").forEach((child) => {
      children.push(child.classList.contains("b-group") ? this.tree(child) : this.data.get(child));
    });
    return { type: "group", kind: groupEl.getAttribute("data-kind"), children };
  }

  serialize() {
    return writeRule({ version: this.version, root: this.tree(this.rootEl) }, this.catalog);
  }

  sync() {
    if (this.mode !== "builder") return;
    this.textarea.value = JSON.stringify(this.serialize(), null, 2);
    this.updateLimits();
    this.updateDirty();
  }

  updateDirty() {
    if (!this.dirtyNote) return;
    const now = this.parseTextarea();
    const saved = this.initial !== undefined && now !== undefined && sameRule(now, this.initial);
    this.dirtyNote.hidden = this.readonly || saved;
  }

  changed() {
    this.sync();
    this.schedulePreview();
  }

  /* ---- leaving with unsaved changes asks first (not after a save, not when nothing
     changed): the rule differs from the saved one, or a name field was edited. */

  names() {
    return this.form ? Array.from(this.form.querySelectorAll("input[name=name]")) : [];
  }

  isDirty() {
    if (this.readonly || this.submitting || !document.contains(this.section)) return false;
    if (this.names().some((input) => input.value !== input.defaultValue)) return true;
    const now = this.parseTextarea();
    return this.initial === undefined || now === undefined || !sameRule(now, this.initial);
  }

  guardLeaving() {
    if (this.readonly) return;
    window.addEventListener("beforeunload", (event) => {
      if (!this.isDirty()) return;
      event.preventDefault();
      event.returnValue = ""; // older browsers want it set to show their prompt
    });
    // An HTMX swap that replaces the builder (a tab of the segment page) is leaving too.
    document.addEventListener("htmx:beforeRequest", (event) => {
      const target = event.detail && event.detail.target;
      if (!target || !target.contains(this.section) || !this.isDirty()) return;
      if (!window.confirm("Leave without saving? Your changes to this rule will be lost.")) {
        event.preventDefault();
      }
    });
  }

  beforeSubmit() {
    if (this.mode !== "builder") return;
    this.mount.querySelectorAll("[data-chip-input]").forEach((input) => {
      if (input.commit) input.commit();
    });
    this.sync();
    this.submitting = true;
  }

  onFormKey(event) {
    if (event.key !== "Enter" || event.target.tagName !== "INPUT") return;
    if (event.target.name === "new_name") {
      // Enter in "Save as new segment" means that button, not the form's first one.
      event.preventDefault();
      const button = this.form.querySelector("button[value=save_as]");
      if (button) button.click();
    } else if (this.mount.contains(event.target)) {
      event.preventDefault(); // Enter in a condition does not submit half a rule
    }
  }

  /* ---------------------------------------------------------------- live preview */

  schedulePreview(delay) {
    if (this.readonly || !this.panel || !this.previewUrl) return;
    window.clearTimeout(this.timer);
    // A newer rule: whatever is on its way for the old one is no longer wanted.
    this.seq += 1;
    if (this.controller) this.controller.abort();
    this.panel.setAttribute("data-preview-state", "pending");
    this.timer = window.setTimeout(() => { this.preview(); }, delay === undefined ? DEBOUNCE_MS : delay);
  }

  preview() {
    const seq = ++this.seq;
    if (this.controller) this.controller.abort();
    const controller = this.controller = new AbortController();
    const body = new URLSearchParams();
    body.set("conditions", this.textarea.value);
    if (this.segmentId) body.set("segment", this.segmentId);
    this.busy(true);
    fetch(this.previewUrl, {
      method: "POST",
      body,
      credentials: "same-origin",
      headers: { "X-CSRFToken": csrfToken(), "X-Requested-With": "XMLHttpRequest" },
      signal: controller.signal,
    }).then((response) => response.text().then((html) => ({ status: response.status, html })))
      .then((result) => {
        if (seq !== this.seq) return;
        if (result.status !== 200) {
          this.panelMessage("The count could not be loaded (error " + result.status + "). It will be tried again after your next change.");
          return;
        }
        this.panel.innerHTML = result.html; // our own template, escaped by Django
        this.clearErrors();
        const error = this.panel.querySelector("[data-error-path]");
        if (error) this.showError(error.getAttribute("data-error-path"), error.getAttribute("data-error-message"), false);
      })
      .catch((error) => {
        if (error && error.name === "AbortError") return;
        if (seq === this.seq) this.panelMessage("The count could not be loaded: check your connection.");
      })
      .then(() => {
        if (seq === this.seq) this.busy(false);
      });
  }

  /* data-preview-state: pending (a change waits for its debounce), loading, done;
     the panel fades while it is not done, and tests wait for "done". */
  busy(on) {
    if (this.spinner) this.spinner.hidden = !on;
    this.panel.setAttribute("aria-busy", on ? "true" : "false");
    this.panel.setAttribute("data-preview-state", on ? "loading" : "done");
  }

  panelMessage(text) {
    this.panel.textContent = "";
    this.panel.appendChild(h("p", { className: "preview-error", role: "alert", text }));
  }

  /* ---------------------------------------------------------------- errors at their node */

  clearErrors() {
    this.mount.querySelectorAll(".has-error").forEach((n) => { n.classList.remove("has-error"); });
    this.mount.querySelectorAll("[data-node-error]").forEach((slot) => {
      slot.hidden = true;
      slot.textContent = "";
    });
  }

  /* The element a JSON path names: "all[1].any[0]" is the first child of the second
     child of the root; "all[0].where[1]" a property filter. The deepest found wins. */
  locate(path) {
    return locate(this.rootEl, path, (node, list, index) => {
      if (list === "where") {
        return node.querySelectorAll(":scope > [data-where] > [data-where-row]")[index] || null;
      }
      if (!node.classList.contains("b-group")) return null;
      return node.querySelectorAll(":scope > [data-children] > .b-node")[index] || null;
    });
  }

  /* The server says what is wrong in the builder's words; while nothing is typed in
     the value it concerns, say that instead. */
  humanize(node, message) {
    if (!/needs/.test(message)) return message;
    const item = this.rowItems.get(node);
    const data = this.data.get(node);
    let shape = null;
    let value;
    if (item) {
      shape = this.catalog.shapeOf(item.op);
      value = item.value;
    } else if (data && data.category === "field") {
      shape = this.catalog.shapeOf(data.cond.op);
      value = data.cond.value;
    } else if (data && isObject(data.cond)) {
      // A time window the message names ("“between” needs two dates").
      const key = this.catalog.windowOf(data.cond);
      const spec = key && this.catalog.window(key);
      if (spec && message.indexOf("\u201c" + spec.label + "\u201d") >= 0) {
        shape = spec.shape;
        value = data.cond[key];
      }
    }
    return (shape && emptyMessage(shape, value)) || message;
  }

  showError(path, message, scroll) {
    if (this.mode !== "builder") return;
    const node = this.locate(path);
    const slot = node && node.querySelector(":scope > [data-node-error]");
    if (!slot) return;
    node.classList.add("has-error");
    slot.textContent = this.humanize(node, message);
    slot.hidden = false;
    if (scroll) {
      node.scrollIntoView({ block: "center" });
      const control = node.querySelector("input, select, textarea");
      if (control) control.focus({ preventScroll: true });
    }
  }
}
