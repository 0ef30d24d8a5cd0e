/* The segment rule builder (templates/segments/builder/_rule.html).

   The page holds the rule as JSON in a labelled textarea, which works without
   JavaScript. This script hides it and draws the rule as nested groups of
   conditions; every change writes the JSON of conditions.md back into the textarea
   (the form posts it) and, 400 ms later, asks segments:preview for the live count.

   The JSON is exact: a condition the person did not change is written back as it
   was read (same keys, same spelling), so a rule saved through the API opens here
   and saves back unchanged. The DOM is the structure (groups and their order, so
   SortableJS can move nodes around freely); each condition element keeps its data
   in a WeakMap.

   CSP: no inline scripts or style attributes; the catalog and the rule come from
   json_script tags. SortableJS sets styles through the CSSOM during a drag only. */
(function () {
  "use strict";

  if (window.KithBuilder) return;

  var DEBOUNCE_MS = 400;
  var KINDS = ["field", "tag", "event", "device", "segment", "campaign"];
  var ALLOWED_KEYS = {
    field: ["field", "op", "value"],
    tag: ["tag", "op"],
    event: ["event", "op", "count", "within_days", "where"],
    device: ["device", "op"],
    segment: ["segment", "op"],
    campaign: ["campaign", "activity", "op", "within_days"]
  };
  var PROPERTY_KEYS = ["property", "op", "value"];
  var HAS_LABELS = [{ value: "has", label: "has" }, { value: "has_not", label: "does not have" }];
  var CAMPAIGN_OPS = [{ value: "has", label: "has" }, { value: "has_not", label: "has not" }];
  var SEGMENT_OPS = [{ value: "in", label: "is in" }, { value: "not_in", label: "is not in" }];
  var NONE_OPS = ["exists", "not_exists", "is_true", "is_false"];
  var DAYS_OPS = ["within_last_days", "more_than_days_ago"];
  var NUMERIC_PROPERTY_OPS = ["gt", "gte", "lt", "lte", "between"];

  /* ---------------------------------------------------------------- helpers */

  function h(tag, props, children) {
    var node = document.createElement(tag);
    Object.keys(props || {}).forEach(function (name) {
      var value = props[name];
      if (value === null || value === undefined || value === false) return;
      if (name === "text") node.textContent = value;
      else if (name === "className") node.className = value;
      else if (name === "value") node.value = value;
      else node.setAttribute(name, value === true ? "" : String(value));
    });
    (children || []).forEach(function (child) {
      if (child === null || child === undefined) return;
      node.appendChild(typeof child === "string" ? document.createTextNode(child) : child);
    });
    return node;
  }

  function readJson(id) {
    var tag = document.getElementById(id);
    if (!tag) return null;
    try {
      return JSON.parse(tag.textContent);
    } catch (e) {
      return null;
    }
  }

  function isObject(value) {
    return value !== null && typeof value === "object" && !Array.isArray(value);
  }

  function has(object, key) {
    return Object.prototype.hasOwnProperty.call(object, key);
  }

  function copy(value) {
    return value === undefined ? undefined : JSON.parse(JSON.stringify(value));
  }

  /* Two documents mean the same when they differ only by keys holding null, or an
     empty `where`: the builder writes neither, the contract reads both as absent. */
  function normalize(value) {
    if (Array.isArray(value)) return value.map(normalize);
    if (!isObject(value)) return value;
    var out = {};
    Object.keys(value).sort().forEach(function (key) {
      var item = value[key];
      if (item === null || item === undefined) return;
      if (key === "where" && Array.isArray(item) && item.length === 0) return;
      out[key] = normalize(item);
    });
    return out;
  }

  function sameRule(a, b) {
    return JSON.stringify(normalize(a)) === JSON.stringify(normalize(b));
  }

  function shapeOf(op) {
    if (NONE_OPS.indexOf(op) >= 0) return "none";
    if (op === "in" || op === "not_in") return "list";
    if (op === "between") return "range";
    if (DAYS_OPS.indexOf(op) >= 0) return "days";
    return "single";
  }

  function isEmpty(value) {
    if (Array.isArray(value)) return !value.length || value.some(isEmpty);
    return value === null || value === undefined || (typeof value === "string" && !value.trim());
  }

  function optionKey(value) {
    return typeof value + ":" + String(value);
  }

  /* A select over `options` ({value, label, group, disabled}). A current value that is
     not among them stays as an extra option, so the rule keeps it until changed. */
  function choice(label, options, current, onChange, role, unknownLabel) {
    var select = h("select", { "aria-label": label, "data-role": role, className: "b-" + role });
    var values = {};
    var groups = {};
    if (current !== undefined && !options.some(function (o) { return o.value === current; })) {
      var text = unknownLabel ? unknownLabel(current) : String(current);
      select.appendChild(h("option", { value: optionKey(current), text: text }));
      values[optionKey(current)] = current;
    }
    options.forEach(function (option) {
      var parent = select;
      if (option.group) {
        if (!groups[option.group]) {
          groups[option.group] = select.appendChild(h("optgroup", { label: option.group }));
        }
        parent = groups[option.group];
      }
      parent.appendChild(h("option", {
        value: optionKey(option.value), text: option.label, disabled: option.disabled
      }));
      values[optionKey(option.value)] = option.value;
    });
    if (current !== undefined) select.value = optionKey(current);
    select.addEventListener("change", function () { onChange(values[select.value]); });
    return select;
  }

  /* The copy that follows the pointer during a drag is a clone, and a clone shows
     the default value of an input or menu, not the current one: make them the same. */
  function freezeValues(root) {
    root.querySelectorAll("select").forEach(function (select) {
      Array.prototype.forEach.call(select.options, function (option) {
        option.defaultSelected = option.selected;
      });
    });
    root.querySelectorAll("input, textarea").forEach(function (input) {
      input.defaultValue = input.value;
    });
  }

  function csrfToken() {
    try {
      var headers = JSON.parse(document.body.getAttribute("hx-headers") || "{}");
      if (headers["X-CSRFToken"]) return headers["X-CSRFToken"];
    } catch (e) { /* fall through to the cookie */ }
    var match = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
    return match ? decodeURIComponent(match[1]) : "";
  }

  /* ---------------------------------------------------------------- reading a rule */

  function groupKind(node) {
    if (!isObject(node)) return null;
    var keys = Object.keys(node);
    if (keys.length !== 1 || (keys[0] !== "all" && keys[0] !== "any")) return null;
    return Array.isArray(node[keys[0]]) ? keys[0] : null;
  }

  function looksLikeGroup(node) {
    return isObject(node) && (has(node, "all") || has(node, "any"));
  }

  function onlyKeys(node, allowed) {
    return Object.keys(node).every(function (key) { return allowed.indexOf(key) >= 0; });
  }

  /* The builder's category of a condition; "raw" when the builder cannot draw it
     (then it is edited as JSON, in place). */
  function categoryOf(node, catalog) {
    if (!isObject(node)) return "raw";
    var kinds = KINDS.filter(function (kind) { return has(node, kind); });
    if (kinds.length !== 1 || !onlyKeys(node, ALLOWED_KEYS[kinds[0]])) return "raw";
    var kind = kinds[0];
    if (kind === "event") {
      if (node.where !== undefined && node.where !== null && !Array.isArray(node.where)) return "raw";
      if (!(node.where || []).every(function (w) { return isObject(w) && onlyKeys(w, PROPERTY_KEYS); })) {
        return "raw";
      }
      if (node.event === "page_view" && isUrlFilter(node.where, catalog)) return "page_view";
    }
    return kind;
  }

  function isUrlFilter(where, catalog) {
    return Array.isArray(where) && where.length === 1 && where[0].property === "url" &&
      catalog.url_operators.indexOf(where[0].op) >= 0 && typeof where[0].value === "string";
  }

  /* ---------------------------------------------------------------- the builder */

  function Builder(section) {
    this.section = section;
    this.form = section.closest("form");
    this.catalog = readJson("builder-catalog") || {};
    this.readonly = section.hasAttribute("data-readonly");
    this.textarea = section.querySelector("[data-rule-json]");
    this.ruleField = section.querySelector("[data-rule-field]");
    this.jsonActions = section.querySelector("[data-json-actions]");
    this.jsonError = section.querySelector("[data-json-error]");
    this.mount = section.querySelector("[data-builder-mount]");
    var scope = this.form || document;
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
    this.fields = {};
    this.fieldsLower = {};
    var self = this;
    (this.catalog.fields || []).forEach(function (field) {
      self.fields[field.value] = field;
      self.fieldsLower[field.value.toLowerCase()] = field;
    });
  }

  Builder.prototype.boot = function () {
    var self = this;
    if (!this.textarea || !this.mount) return;
    if (this.form) {
      this.form.querySelectorAll("[data-nojs-only]").forEach(function (n) { n.hidden = true; });
      this.form.addEventListener("submit", function () { self.beforeSubmit(); });
      this.form.addEventListener("keydown", function (event) { self.onFormKey(event); });
    }
    var apply = this.section.querySelector("[data-json-apply]");
    if (apply) apply.addEventListener("click", function () { self.applyJson(); });
    this.textarea.addEventListener("input", function () {
      if (self.mode === "json") {
        self.updateDirty();
        self.schedulePreview();
      }
    });
    var rule = readJson("builder-rule");
    if (!this.start(rule)) {
      this.jsonMode("This rule cannot be shown in the builder: edit its JSON.");
    }
    // What is saved: the rule the page opened with, unless it came back from a refused
    // save (data-unsaved), when nothing on the page is saved yet.
    this.initial = this.section.hasAttribute("data-unsaved") ? undefined : rule;
    this.updateDirty();
    var error = readJson("builder-error");
    if (error) this.showError(error.path, error.message, true);
    if (!this.readonly) this.schedulePreview(0);
  };

  /* Draw `doc`; false when it is not a group the builder can draw. */
  Builder.prototype.start = function (doc) {
    if (!isObject(doc)) return false;
    var rest = {};
    Object.keys(doc).forEach(function (key) { if (key !== "version") rest[key] = doc[key]; });
    var kind = groupKind(rest);
    if (!kind) return false;
    this.version = has(doc, "version") ? { value: doc.version } : null;
    this.mount.textContent = "";
    this.mount.appendChild(this.toolbar());
    this.mount.appendChild(this.datalists());
    this.rootEl = this.groupElement(kind, rest[kind], true);
    this.mount.appendChild(this.rootEl);
    this.limitNote = this.mount.appendChild(h("p", { className: "b-limit-note help", hidden: true }));
    this.mode = "builder";
    this.mount.hidden = false;
    this.ruleField.hidden = true;
    if (this.jsonActions) this.jsonActions.hidden = true;
    this.sync();
    return true;
  };

  Builder.prototype.toolbar = function () {
    var self = this;
    var bar = h("div", { className: "b-toolbar" });
    if (this.readonly) return bar;
    var toJson = h("button", { type: "button", className: "button ghost small", text: "Edit as JSON" });
    toJson.addEventListener("click", function () { self.jsonMode(); });
    bar.appendChild(toJson);
    return bar;
  };

  Builder.prototype.datalists = function () {
    var box = h("div", { hidden: true });
    var names = h("datalist", { id: "b-event-names" });
    (this.catalog.event_names || []).forEach(function (name) {
      names.appendChild(h("option", { value: name }));
    });
    var urls = h("datalist", { id: "b-url-hints" });
    (this.catalog.url_hints || []).forEach(function (url) {
      urls.appendChild(h("option", { value: url }));
    });
    box.appendChild(names);
    box.appendChild(urls);
    return box;
  };

  /* ---- JSON mode: the textarea itself, for people who prefer to type the rule */

  Builder.prototype.jsonMode = function (message) {
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
  };

  Builder.prototype.parseTextarea = function () {
    try {
      return JSON.parse(this.textarea.value);
    } catch (e) {
      return undefined;
    }
  };

  Builder.prototype.applyJson = function () {
    var doc = this.parseTextarea();
    if (doc === undefined) {
      this.jsonError.textContent = "This is not valid JSON yet.";
      return;
    }
    if (!this.start(doc)) {
      this.jsonError.textContent = 'The rule must be a group: {"all": [...]} or {"any": [...]}.';
      return;
    }
    this.changed();
  };

  /* ---- groups */

  Builder.prototype.groupElement = function (kind, children, isRoot) {
    var self = this;
    var el = h("div", {
      className: "b-node b-group" + (isRoot ? " b-root" : ""),
      "data-kind": kind,
      role: "group",
      "aria-label": isRoot ? "All conditions" : "Group of conditions"
    });
    var head = h("div", { className: "b-group-head" });
    if (!isRoot && !this.readonly) head.appendChild(this.handle("group"));
    var toggle = h("div", { className: "b-toggle", role: "group", "aria-label": "How the conditions combine" });
    ["all", "any"].forEach(function (value) {
      var button = h("button", {
        type: "button",
        className: "b-toggle-option",
        "data-kind-value": value,
        "aria-pressed": String(value === kind),
        disabled: self.readonly,
        text: value.toUpperCase()
      });
      button.addEventListener("click", function () { self.setKind(el, value); });
      toggle.appendChild(button);
    });
    head.appendChild(h("span", { className: "b-match", text: "Match" }));
    head.appendChild(toggle);
    head.appendChild(h("span", { className: "b-match", text: "of the following" }));
    head.appendChild(h("span", { className: "b-match-hint", "data-match-hint": "" }));
    if (!isRoot && !this.readonly) head.appendChild(this.removeButton(el, "Remove this group"));
    el.appendChild(head);
    el.appendChild(this.errorSlot());
    var list = h("div", { className: "b-children", "data-children": "" });
    (children || []).forEach(function (child) { list.appendChild(self.nodeElement(child)); });
    el.appendChild(list);
    el.appendChild(h("p", { className: "b-empty", text: "This group is empty: add a condition or drag one here." }));
    if (!this.readonly) {
      var foot = h("div", { className: "b-group-foot" });
      var addCondition = h("button", { type: "button", className: "button small", "data-add-condition": "", text: "+ Add condition" });
      var addGroup = h("button", { type: "button", className: "button small ghost", "data-add-group": "", text: "+ Add group" });
      addCondition.addEventListener("click", function () { self.addCondition(el); });
      addGroup.addEventListener("click", function () { self.addGroup(el); });
      foot.appendChild(addCondition);
      foot.appendChild(addGroup);
      el.appendChild(foot);
    }
    this.describeKind(el);
    this.makeSortable(list);
    return el;
  };

  Builder.prototype.describeKind = function (groupEl) {
    var kind = groupEl.getAttribute("data-kind");
    var hint = groupEl.querySelector(":scope > .b-group-head > [data-match-hint]");
    if (hint) hint.textContent = kind === "all" ? "(every one must hold)" : "(at least one must hold)";
  };

  Builder.prototype.setKind = function (groupEl, kind) {
    groupEl.setAttribute("data-kind", kind);
    groupEl.querySelectorAll(":scope > .b-group-head .b-toggle-option").forEach(function (button) {
      button.setAttribute("aria-pressed", String(button.getAttribute("data-kind-value") === kind));
    });
    this.describeKind(groupEl);
    this.changed();
  };

  Builder.prototype.handle = function (what) {
    var self = this;
    var button = h("button", {
      type: "button",
      className: "b-handle",
      "aria-label": "Move this " + what + " (drag, or use the arrow keys)",
      title: "Drag to move; arrow keys move it too"
    });
    button.appendChild(h("span", { "aria-hidden": "true", text: "⠿" }));
    button.addEventListener("keydown", function (event) { self.keyMove(event, button.closest(".b-node")); });
    return button;
  };

  Builder.prototype.removeButton = function (nodeEl, label) {
    var self = this;
    var button = h("button", { type: "button", className: "b-remove", "aria-label": label, title: label });
    button.appendChild(h("span", { "aria-hidden": "true", text: "×" }));
    button.addEventListener("click", function () {
      var group = nodeEl.parentElement.closest(".b-group");
      nodeEl.remove();
      var add = group && group.querySelector(":scope > .b-group-foot [data-add-condition]");
      if (add) add.focus();
      self.changed();
    });
    return button;
  };

  Builder.prototype.errorSlot = function () {
    return h("p", { className: "b-error", "data-node-error": "", role: "alert", hidden: true });
  };

  Builder.prototype.nodeElement = function (node) {
    var kind = looksLikeGroup(node) ? groupKind(node) : null;
    if (kind) return this.groupElement(kind, node[kind], false);
    return this.conditionElement(node);
  };

  Builder.prototype.addCondition = function (groupEl) {
    var el = this.conditionElement(undefined);
    groupEl.querySelector(":scope > [data-children]").appendChild(el);
    this.changed();
    el.querySelector("[data-role=field], [data-role=category]").focus();
  };

  Builder.prototype.addGroup = function (groupEl) {
    // A new group inside an ALL is usually an ANY ("... and one of these"), and back.
    var kind = groupEl.getAttribute("data-kind") === "all" ? "any" : "all";
    var el = this.groupElement(kind, [], false);
    el.querySelector(":scope > [data-children]").appendChild(this.conditionElement(undefined));
    groupEl.querySelector(":scope > [data-children]").appendChild(el);
    this.changed();
    el.querySelector("[data-role=category]").focus();
  };

  /* ---- moving: SortableJS for the mouse and touch, arrow keys on the handle */

  Builder.prototype.makeSortable = function (list) {
    if (this.readonly || !window.Sortable) return;
    var self = this;
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
      onMove: function (event) {
        var target = event.to.closest(".b-group");
        return self.depthOf(target) + self.heightOf(event.dragged) <= self.limits().depth;
      },
      onChoose: function (event) { freezeValues(event.item); },
      onEnd: function () { self.changed(); }
    });
  };

  Builder.prototype.keyMove = function (event, nodeEl) {
    var key = event.key;
    if (["ArrowUp", "ArrowDown", "ArrowLeft", "ArrowRight"].indexOf(key) < 0) return;
    event.preventDefault();
    var list = nodeEl.parentElement;
    var moved = false;
    if (key === "ArrowUp" && nodeEl.previousElementSibling) {
      list.insertBefore(nodeEl, nodeEl.previousElementSibling);
      moved = true;
    } else if (key === "ArrowDown" && nodeEl.nextElementSibling) {
      list.insertBefore(nodeEl.nextElementSibling, nodeEl);
      moved = true;
    } else if (key === "ArrowLeft") {
      // Out of its group, right after it.
      var group = list.closest(".b-group");
      if (group && !group.classList.contains("b-root")) {
        group.parentElement.insertBefore(nodeEl, group.nextElementSibling);
        moved = true;
      }
    } else if (key === "ArrowRight") {
      // Into the group just above it.
      var before = nodeEl.previousElementSibling;
      if (before && before.classList.contains("b-group") &&
          this.depthOf(before) + this.heightOf(nodeEl) <= this.limits().depth) {
        before.querySelector(":scope > [data-children]").appendChild(nodeEl);
        moved = true;
      }
    }
    if (moved) {
      nodeEl.querySelector(".b-handle").focus();
      this.changed();
    }
  };

  Builder.prototype.limits = function () {
    return this.catalog.limits || { depth: 5, conditions: 100 };
  };

  Builder.prototype.depthOf = function (groupEl) {
    var depth = 0;
    for (var node = groupEl; node && node !== this.mount; node = node.parentElement) {
      if (node.classList.contains("b-group")) depth += 1;
    }
    return depth;
  };

  /* How many group levels a node brings along (0 for a condition). */
  Builder.prototype.heightOf = function (nodeEl) {
    if (!nodeEl.classList.contains("b-group")) return 0;
    var deepest = 0;
    var self = this;
    nodeEl.querySelectorAll(":scope > [data-children] > .b-node").forEach(function (child) {
      deepest = Math.max(deepest, self.heightOf(child));
    });
    return 1 + deepest;
  };

  Builder.prototype.updateLimits = function () {
    if (this.mode !== "builder") return;
    var limits = this.limits();
    var self = this;
    var count = this.mount.querySelectorAll(".b-cond").length;
    var full = count >= limits.conditions;
    this.mount.querySelectorAll(".b-group").forEach(function (group) {
      var empty = !group.querySelector(":scope > [data-children] > .b-node");
      group.classList.toggle("is-empty", empty);
      var addCondition = group.querySelector(":scope > .b-group-foot [data-add-condition]");
      var addGroup = group.querySelector(":scope > .b-group-foot [data-add-group]");
      if (addCondition) addCondition.disabled = full;
      if (addGroup) {
        var deep = self.depthOf(group) >= limits.depth;
        addGroup.disabled = full || deep;
        addGroup.title = deep ? "Groups nest at most " + limits.depth + " levels deep." : "";
      }
    });
    var notes = [];
    if (full) notes.push("A rule holds at most " + limits.conditions + " conditions.");
    this.limitNote.textContent = notes.join(" ");
    this.limitNote.hidden = !notes.length;
  };

  /* ---------------------------------------------------------------- conditions */

  Builder.prototype.defaults = function (category) {
    var catalog = this.catalog;
    var first = function (list, fallback) { return list && list.length ? list[0] : fallback; };
    switch (category) {
      case "tag":
        return { tag: first(catalog.tags, "*"), op: "has" };
      case "event":
        var names = (catalog.event_names || []).filter(function (n) { return n !== "page_view"; });
        return { event: first(names, ""), op: "at_least", count: 1 };
      case "page_view":
        return { event: "page_view", op: "at_least", count: 1,
                 where: [{ property: "url", op: "contains", value: "" }] };
      case "device":
        return { device: "*", op: "has" };
      case "segment":
        var segment = first(catalog.segments, null);
        return { segment: segment ? segment.id : null, op: "in" };
      case "campaign":
        return { campaign: "*", activity: "opened", op: "has" };
      default:
        return { field: "email", op: "eq", value: "" };
    }
  };

  Builder.prototype.conditionElement = function (node) {
    var fresh = node === undefined;
    var category = fresh ? "field" : categoryOf(node, this.catalog);
    var data = {
      category: category,
      cond: fresh ? this.defaults("field") : (category === "raw" ? node : copy(node)),
      original: fresh ? undefined : copy(node),
      raw: category === "raw" ? JSON.stringify(node, null, 2) : null
    };
    var el = h("div", { className: "b-node b-cond", "data-category": category });
    this.data.set(el, data);
    this.draw(el);
    return el;
  };

  /* (Re)draw a condition's controls from its data; focus returns to the control of
     the same role, so changing a menu does not lose one's place. */
  Builder.prototype.draw = function (el, focusRole) {
    var self = this;
    var data = this.data.get(el);
    el.textContent = "";
    el.setAttribute("data-category", data.category);
    var row = h("div", { className: "b-row" });
    if (!this.readonly) row.appendChild(this.handle("condition"));
    var categories = (this.catalog.categories || []).slice();
    row.appendChild(choice("Condition type", categories, data.category, function (value) {
      data.category = value;
      data.cond = self.defaults(value);
      data.raw = null;
      self.draw(el, "category");
      self.changed();
    }, "category", function () { return "JSON"; }));
    var controls = h("div", { className: "b-controls" });
    this.controls(el, data).forEach(function (node) { controls.appendChild(node); });
    row.appendChild(controls);
    if (!this.readonly) row.appendChild(this.removeButton(el, "Remove this condition"));
    el.appendChild(row);
    if (data.category === "event") el.appendChild(this.whereList(el, data));
    el.appendChild(h("p", { className: "b-note help", "data-note": "", hidden: true }));
    el.appendChild(this.errorSlot());
    this.note(el);
    if (this.readonly) {
      el.querySelectorAll("input, select, textarea, button").forEach(function (c) { c.disabled = true; });
    }
    if (focusRole) {
      var target = el.querySelector("[data-role=" + focusRole + "]");
      if (target) target.focus();
    }
  };

  Builder.prototype.note = function (el) {
    var data = this.data.get(el);
    var slot = el.querySelector(":scope > [data-note]");
    var text = "";
    if (data.category === "field" && (this.catalog.negative_operators || []).indexOf(data.cond.op) >= 0) {
      var field = this.fieldInfo(data.cond.field);
      text = "Also matches contacts with no " + (field ? field.label.toLowerCase() : "value") + ".";
    } else if (data.category === "event" && data.cond.op === "at_most" && data.cond.count === 0) {
      text = "Matches contacts who never did this" + (data.cond.within_days ? " in that time." : ".");
    }
    slot.textContent = text;
    slot.hidden = !text;
  };

  Builder.prototype.controls = function (el, data) {
    switch (data.category) {
      case "field": return this.fieldControls(el, data);
      case "tag": return this.tagControls(el, data);
      case "event": return this.eventControls(el, data, false);
      case "page_view": return this.eventControls(el, data, true);
      case "device": return this.deviceControls(el, data);
      case "segment": return this.segmentControls(el, data);
      case "campaign": return this.campaignControls(el, data);
      default: return this.rawControls(el, data);
    }
  };

  Builder.prototype.fieldInfo = function (name) {
    if (typeof name !== "string") return null;
    return this.fields[name] || this.fieldsLower[name.toLowerCase()] || null;
  };

  Builder.prototype.fieldControls = function (el, data) {
    var self = this;
    var cond = data.cond;
    var info = this.fieldInfo(cond.field);
    var type = info ? info.type : "text";
    var fieldOptions = (this.catalog.fields || []).map(function (f) {
      return { value: f.value, label: f.label, group: f.group };
    });
    var nodes = [choice("Field", fieldOptions, cond.field, function (value) {
      var next = self.fieldInfo(value);
      var nextType = next ? next.type : "text";
      cond.field = value;
      if (nextType !== type) {
        cond.op = self.operators(nextType)[0].value;
        self.resetValue(cond, "value", cond.op, nextType, null);
      }
      self.draw(el, "field");
      self.changed();
    }, "field", function (value) {
      var match = self.fieldInfo(value);
      return match ? match.label : "Unknown field: " + value;
    })];
    nodes.push(choice("Operator", this.operators(type), cond.op, function (value) {
      var before = cond.op;
      cond.op = value;
      if (shapeOf(before) !== shapeOf(value)) self.resetValue(cond, "value", value, type, before);
      self.draw(el, "op");
      self.changed();
    }, "op"));
    return nodes.concat(this.valueInputs(cond, "value", cond.op, type));
  };

  Builder.prototype.operators = function (type) {
    var ops = this.catalog.operators || {};
    return (ops[type] || ops.text || []).map(function (o) { return { value: o.value, label: o.label }; });
  };

  /* A value fitting a new operator: what can be kept is kept (one value into a list,
     the first of a list back into one value). */
  Builder.prototype.resetValue = function (holder, key, op, type, previousOp) {
    var old = holder[key];
    var shape = shapeOf(op);
    var empty = type === "number" ? null : "";
    var single = Array.isArray(old) ? old[0] : old;
    if (single === undefined || single === null || single === "") single = empty;
    if (type === "number" && typeof single === "string") single = single.trim() === "" || isNaN(Number(single)) ? null : Number(single);
    if (type !== "number" && typeof single === "number") single = String(single);
    if (shape === "none") delete holder[key];
    else if (shape === "list") holder[key] = single === empty || single === null ? [] : [String(single)];
    else if (shape === "range") holder[key] = [single, empty];
    else if (shape === "days") holder[key] = shapeOf(previousOp) === "days" ? old : null;
    else holder[key] = single;
  };

  /* The input(s) for holder[key] under `op`: text, number, date, two of them for
     between, a number of days, a list of values, or nothing. */
  Builder.prototype.valueInputs = function (holder, key, op, type) {
    var self = this;
    var shape = shapeOf(op);
    if (shape === "none") return [];
    if (shape === "list") return [this.chips(holder, key)];
    if (shape === "days") {
      var days = this.numberInput(holder, key, null, "Number of days", { min: 1, step: 1, placeholder: "days" });
      return [days, h("span", { className: "b-word", text: op === "more_than_days_ago" ? "days ago" : "days" })];
    }
    if (shape === "range") {
      if (!Array.isArray(holder[key])) holder[key] = [null, null];
      return [
        this.typedInput(holder[key], 0, type, "From"),
        h("span", { className: "b-word", text: "and" }),
        this.typedInput(holder[key], 1, type, "To")
      ];
    }
    return [self.typedInput(holder, key, type, "Value")];
  };

  Builder.prototype.typedInput = function (holder, key, type, label) {
    if (type === "number") return this.numberInput(holder, key, null, label, { step: "any" });
    var value = holder[key];
    var text = value === null || value === undefined ? "" : String(value);
    var isDate = type === "date" && (text === "" || /^\d{4}-\d{2}-\d{2}$/.test(text));
    var input = h("input", {
      type: isDate ? "date" : "text",
      "aria-label": label,
      "data-role": "value",
      className: "b-value" + (type === "date" ? " b-date" : ""),
      placeholder: type === "date" ? "2024-05-31T09:00:00Z" : "value",
      value: text
    });
    var self = this;
    input.addEventListener("input", function () {
      holder[key] = input.value;
      self.changed();
    });
    return input;
  };

  Builder.prototype.numberInput = function (holder, key, onValue, label, attrs) {
    var self = this;
    var value = holder[key];
    var input = h("input", Object.assign({
      type: "number",
      "aria-label": label,
      "data-role": "value",
      className: "b-number",
      value: value === null || value === undefined ? "" : String(value)
    }, attrs || {}));
    input.addEventListener("input", function () {
      var raw = input.value.trim();
      var next = raw === "" ? null : Number(raw);
      if (onValue) onValue(next);
      else holder[key] = next;
      self.changed();
    });
    return input;
  };

  /* A list of values as chips: Enter or a comma adds what was typed, Backspace in the
     empty box removes the last one, a pasted list is split on commas and new lines. */
  Builder.prototype.chips = function (holder, key) {
    var self = this;
    if (!Array.isArray(holder[key])) holder[key] = [];
    var values = holder[key];
    var box = h("div", { className: "b-chips", role: "group", "aria-label": "Values" });
    var input = h("input", {
      type: "text", className: "b-chip-input", "aria-label": "Add a value", "data-role": "value",
      "data-chip-input": "", placeholder: values.length ? "add another" : "type, then Enter"
    });
    function redraw() {
      box.querySelectorAll(".b-chip").forEach(function (chip) { chip.remove(); });
      values.forEach(function (value, index) {
        var remove = h("button", { type: "button", className: "b-chip-remove", "aria-label": "Remove " + value });
        remove.appendChild(h("span", { "aria-hidden": "true", text: "×" }));
        remove.addEventListener("click", function () {
          values.splice(index, 1);
          redraw();
          input.focus();
          self.changed();
        });
        box.insertBefore(h("span", { className: "b-chip" }, [h("span", { text: value }), remove]), input);
      });
      input.placeholder = values.length ? "add another" : "type, then Enter";
    }
    function commit(text) {
      var added = false;
      text.split(/[,\n]/).forEach(function (part) {
        var value = part.trim();
        if (value && values.indexOf(value) < 0) {
          values.push(value);
          added = true;
        }
      });
      input.value = "";
      if (added) {
        redraw();
        self.changed();
      }
    }
    input.addEventListener("keydown", function (event) {
      if (event.key === "Enter" || event.key === ",") {
        event.preventDefault();
        commit(input.value);
      } else if (event.key === "Backspace" && !input.value && values.length) {
        values.pop();
        redraw();
        self.changed();
      }
    });
    input.addEventListener("paste", function (event) {
      var text = (event.clipboardData || window.clipboardData).getData("text");
      if (/[,\n]/.test(text)) {
        event.preventDefault();
        commit(input.value + text);
      }
    });
    input.addEventListener("blur", function () { if (input.value.trim()) commit(input.value); });
    box.addEventListener("click", function (event) { if (event.target === box) input.focus(); });
    input.commit = function () { if (input.value.trim()) commit(input.value); };
    box.appendChild(input);
    redraw();
    return box;
  };

  Builder.prototype.tagControls = function (el, data) {
    var self = this;
    var cond = data.cond;
    var tags = [{ value: "*", label: "any tag" }].concat((this.catalog.tags || []).map(function (name) {
      return { value: name, label: name };
    }));
    return [
      choice("Has or has not", HAS_LABELS, cond.op, function (v) { cond.op = v; self.changed(); }, "op"),
      choice("Tag", tags, cond.tag, function (v) { cond.tag = v; self.changed(); }, "tag")
    ];
  };

  Builder.prototype.deviceControls = function (el, data) {
    var self = this;
    var cond = data.cond;
    return [
      choice("Has or has not", HAS_LABELS, cond.op, function (v) { cond.op = v; self.changed(); }, "op"),
      choice("Device", this.catalog.devices || [], cond.device, function (v) { cond.device = v; self.changed(); }, "device")
    ];
  };

  Builder.prototype.segmentControls = function (el, data) {
    var self = this;
    var cond = data.cond;
    var segments = (this.catalog.segments || []).map(function (s) {
      return { value: s.id, label: s.name + (s.archived ? " (archived)" : "") };
    });
    if (cond.segment === null) {
      segments.unshift({ value: null, label: segments.length ? "Choose a segment" : "No other segment yet", disabled: true });
    }
    return [
      choice("In or not in", SEGMENT_OPS, cond.op, function (v) { cond.op = v; self.changed(); }, "op"),
      choice("Segment", segments, cond.segment, function (v) { cond.segment = v; self.changed(); }, "segment",
        function (id) { return "Segment " + id; })
    ];
  };

  Builder.prototype.campaignControls = function (el, data) {
    var self = this;
    var cond = data.cond;
    var campaigns = [{ value: "*", label: "any campaign" }].concat((this.catalog.campaigns || []).map(function (c) {
      return { value: c.id, label: c.name };
    }));
    var activities = (this.catalog.activities || []).map(function (a) {
      return { value: a.value, label: a.value === "sent" ? "been sent" : a.label };
    });
    return [
      choice("Has or has not", CAMPAIGN_OPS, cond.op, function (v) { cond.op = v; self.changed(); }, "op"),
      choice("Activity", activities, cond.activity, function (v) { cond.activity = v; self.changed(); }, "activity"),
      choice("Campaign", campaigns, cond.campaign, function (v) { cond.campaign = v; self.changed(); }, "campaign",
        function (id) { return "Campaign " + id; })
    ].concat(this.withinDays(el, cond));
  };

  /* "in the last [N] days", optional: empty means any time (the key is left out). */
  Builder.prototype.withinDays = function (el, cond) {
    var self = this;
    var input = this.numberInput(cond, "within_days", function (value) {
      if (value === null) delete cond.within_days;
      else cond.within_days = value;
      self.note(el);
    }, "Within the last how many days (optional)", { min: 1, step: 1, placeholder: "any", "data-role": "within" });
    return [h("span", { className: "b-word", text: "in the last" }), input, h("span", { className: "b-word", text: "days" })];
  };

  Builder.prototype.eventControls = function (el, data, pageView) {
    var self = this;
    var cond = data.cond;
    var nodes = [];
    if (pageView) {
      var url = cond.where[0];
      var urlOps = (this.catalog.property_operators || []).filter(function (o) {
        return self.catalog.url_operators.indexOf(o.value) >= 0;
      });
      nodes.push(h("span", { className: "b-word", text: "URL" }));
      nodes.push(choice("URL comparison", urlOps, url.op, function (v) { url.op = v; self.changed(); }, "url-op"));
      var urlInput = h("input", {
        type: "text", className: "b-value b-url", "aria-label": "URL", "data-role": "url",
        list: "b-url-hints", placeholder: "/pricing", value: url.value
      });
      urlInput.addEventListener("input", function () { url.value = urlInput.value; self.changed(); });
      nodes.push(urlInput);
    } else {
      var name = h("input", {
        type: "text", className: "b-event-name", "aria-label": "Event name", "data-role": "event",
        list: "b-event-names", placeholder: "event name", value: cond.event === null ? "" : String(cond.event)
      });
      name.addEventListener("input", function () { cond.event = name.value; self.changed(); });
      // The property hints follow the event's name once it is chosen.
      name.addEventListener("change", function () { self.redrawWhere(el); });
      nodes.push(name);
    }
    nodes.push(choice("How often", this.catalog.event_ops || [], cond.op, function (v) {
      cond.op = v;
      self.note(el);
      self.changed();
    }, "event-op"));
    nodes.push(this.numberInput(cond, "count", function (value) {
      cond.count = value;
      self.note(el);
    }, "Number of times", { min: 0, step: 1, "data-role": "count" }));
    nodes.push(h("span", { className: "b-word", text: "times" }));
    return nodes.concat(this.withinDays(el, cond));
  };

  /* ---- an event's property filters ("where") */

  Builder.prototype.whereList = function (el, data) {
    var self = this;
    var cond = data.cond;
    var box = h("div", { className: "b-where", "data-where": "" });
    var listId = "b-props-" + (++this.uid);
    var hints = (this.catalog.event_properties || {})[cond.event] || [];
    var datalist = h("datalist", { id: listId });
    hints.forEach(function (hint) { datalist.appendChild(h("option", { value: hint.key })); });
    box.appendChild(datalist);
    (cond.where || []).forEach(function (item, index) {
      box.appendChild(self.whereRow(el, cond, item, index, listId, hints));
    });
    if (!this.readonly) {
      var add = h("button", { type: "button", className: "button small ghost b-add-where", text: "+ Filter by a property" });
      add.addEventListener("click", function () {
        var numeric = hints.length && hints[0].numeric;
        if (!Array.isArray(cond.where)) cond.where = [];
        var item = { property: hints.length ? hints[0].key : "", op: "eq", value: numeric ? null : "" };
        self.compareAs.set(item, numeric ? "number" : "text");
        cond.where.push(item);
        self.redrawWhere(el);
        var rows = el.querySelectorAll("[data-where-row]");
        rows[rows.length - 1].querySelector("[data-role=property]").focus();
        self.changed();
      });
      box.appendChild(add);
    }
    return box;
  };

  Builder.prototype.redrawWhere = function (el) {
    var data = this.data.get(el);
    var old = el.querySelector(":scope > [data-where]");
    if (old) old.replaceWith(this.whereList(el, data));
  };

  Builder.prototype.whereRow = function (el, cond, item, index, listId, hints) {
    var self = this;
    var row = h("div", { className: "b-where-row", "data-where-row": "" });
    row.appendChild(h("span", { className: "b-word", text: index === 0 ? "where" : "and" }));
    var property = h("input", {
      type: "text", className: "b-property", "aria-label": "Property", "data-role": "property",
      list: listId, placeholder: "property", value: item.property === undefined ? "" : String(item.property)
    });
    property.addEventListener("input", function () { item.property = property.value; self.changed(); });
    row.appendChild(property);
    var numericHint = hints.some(function (hint) { return hint.key === item.property && hint.numeric; });
    var valueType = function () {
      if (NUMERIC_PROPERTY_OPS.indexOf(item.op) >= 0) return "number";
      if (item.op !== "eq" && item.op !== "neq") return "text";
      if (typeof item.value === "number") return "number";
      if (typeof item.value === "string" && item.value !== "") return "text";
      return self.compareAs.get(item) || (numericHint ? "number" : "text");
    };
    this.rowItems.set(row, item);
    row.appendChild(choice("Property comparison", this.catalog.property_operators || [], item.op, function (value) {
      var before = item.op;
      var beforeType = valueType();
      item.op = value;
      var type = NUMERIC_PROPERTY_OPS.indexOf(value) >= 0 ? "number"
        : (value === "eq" || value === "neq") ? (beforeType === "number" || numericHint ? "number" : "text") : "text";
      if (shapeOf(before) !== shapeOf(value) || beforeType !== type) self.resetValue(item, "value", value, type, before);
      self.redrawWhere(el);
      self.changed();
    }, "property-op"));
    this.valueInputs(item, "value", item.op, valueType()).forEach(function (n) { row.appendChild(n); });
    if (item.op === "eq" || item.op === "neq") {
      // "eq" compares text, or numbers when the value is a number: say which.
      row.appendChild(choice("Compare as", [{ value: "text", label: "as text" }, { value: "number", label: "as number" }],
        valueType(), function (value) {
          self.compareAs.set(item, value);
          self.resetValue(item, "value", item.op, value, item.op);
          self.redrawWhere(el);
          self.changed();
        }, "value-type"));
    }
    if (!this.readonly) {
      var remove = h("button", { type: "button", className: "b-remove", "aria-label": "Remove this property filter" });
      remove.appendChild(h("span", { "aria-hidden": "true", text: "×" }));
      remove.addEventListener("click", function () {
        cond.where.splice(index, 1);
        if (!cond.where.length) delete cond.where;
        self.redrawWhere(el);
        self.changed();
      });
      row.appendChild(remove);
    }
    row.appendChild(this.errorSlot());
    return row;
  };

  /* ---- a condition the builder cannot draw: its JSON, edited in place */

  Builder.prototype.rawControls = function (el, data) {
    var self = this;
    var area = h("textarea", {
      className: "b-raw", rows: 3, spellcheck: "false", "aria-label": "Condition as JSON", "data-role": "raw"
    });
    area.value = data.raw;
    area.addEventListener("input", function () {
      data.raw = area.value;
      try {
        data.cond = JSON.parse(area.value);
      } catch (e) {
        data.cond = area.value; // the server names what is wrong with it
      }
      self.changed();
    });
    return [area];
  };

  /* ---------------------------------------------------------------- writing the rule */

  Builder.prototype.serialize = function () {
    var doc = {};
    if (this.version) doc.version = this.version.value;
    var group = this.groupJson(this.rootEl);
    Object.keys(group).forEach(function (key) { doc[key] = group[key]; });
    return doc;
  };

  Builder.prototype.groupJson = function (groupEl) {
    var self = this;
    var out = {};
    var children = [];
    groupEl.querySelectorAll(":scope > [data-children] > .b-node").forEach(function (child) {
      children.push(child.classList.contains("b-group") ? self.groupJson(child) : self.conditionJson(child));
    });
    out[groupEl.getAttribute("data-kind")] = children;
    return out;
  };

  Builder.prototype.conditionJson = function (el) {
    var data = this.data.get(el);
    var out = this.clean(data);
    if (data.original !== undefined && sameRule(out, data.original)) return copy(data.original);
    return out;
  };

  /* The contract's shape: no `value` where the operator takes none, no empty `where`
     or `within_days`, keys in the order of conditions.md. */
  Builder.prototype.clean = function (data) {
    var c = data.cond;
    var out;
    switch (data.category) {
      case "field":
        out = { field: c.field, op: c.op };
        if (shapeOf(c.op) !== "none") out.value = c.value === undefined ? null : c.value;
        return out;
      case "tag":
        return { tag: c.tag, op: c.op };
      case "device":
        return { device: c.device, op: c.op };
      case "segment":
        return { segment: c.segment, op: c.op };
      case "campaign":
        out = { campaign: c.campaign, activity: c.activity, op: c.op };
        if (c.within_days !== undefined && c.within_days !== null) out.within_days = c.within_days;
        return out;
      case "event":
      case "page_view":
        out = { event: c.event, op: c.op, count: c.count };
        if (c.within_days !== undefined && c.within_days !== null) out.within_days = c.within_days;
        if (Array.isArray(c.where) && c.where.length) {
          out.where = c.where.map(function (w) {
            var item = { property: w.property, op: w.op };
            if (shapeOf(w.op) !== "none") item.value = w.value === undefined ? null : w.value;
            return item;
          });
        }
        return out;
      default:
        return copy(c);
    }
  };

  Builder.prototype.sync = function () {
    if (this.mode !== "builder") return;
    this.textarea.value = JSON.stringify(this.serialize(), null, 2);
    this.updateLimits();
    this.updateDirty();
  };

  Builder.prototype.updateDirty = function () {
    if (!this.dirtyNote) return;
    var now = this.parseTextarea();
    var saved = this.initial !== undefined && now !== undefined && sameRule(now, this.initial);
    this.dirtyNote.hidden = this.readonly || saved;
  };

  Builder.prototype.changed = function () {
    this.sync();
    this.schedulePreview();
  };

  Builder.prototype.beforeSubmit = function () {
    if (this.mode !== "builder") return;
    this.mount.querySelectorAll("[data-chip-input]").forEach(function (input) {
      if (input.commit) input.commit();
    });
    this.sync();
    this.submitting = true;
  };

  Builder.prototype.onFormKey = function (event) {
    if (event.key !== "Enter" || event.target.tagName !== "INPUT") return;
    if (event.target.name === "new_name") {
      // Enter in "Save as new segment" means that button, not the form's first one.
      event.preventDefault();
      var button = this.form.querySelector("button[value=save_as]");
      if (button) button.click();
    } else if (this.mount.contains(event.target)) {
      event.preventDefault(); // Enter in a condition does not submit half a rule
    }
  };

  /* ---------------------------------------------------------------- live preview */

  Builder.prototype.schedulePreview = function (delay) {
    if (this.readonly || !this.panel || !this.previewUrl) return;
    var self = this;
    window.clearTimeout(this.timer);
    // A newer rule: whatever is on its way for the old one is no longer wanted.
    this.seq += 1;
    if (this.controller) this.controller.abort();
    this.panel.setAttribute("data-preview-state", "pending");
    this.timer = window.setTimeout(function () { self.preview(); }, delay === undefined ? DEBOUNCE_MS : delay);
  };

  Builder.prototype.preview = function () {
    var self = this;
    var seq = ++this.seq;
    if (this.controller) this.controller.abort();
    var controller = this.controller = new AbortController();
    var body = new URLSearchParams();
    body.set("conditions", this.textarea.value);
    if (this.segmentId) body.set("segment", this.segmentId);
    this.busy(true);
    fetch(this.previewUrl, {
      method: "POST",
      body: body,
      credentials: "same-origin",
      headers: { "X-CSRFToken": csrfToken(), "X-Requested-With": "XMLHttpRequest" },
      signal: controller.signal
    }).then(function (response) {
      return response.text().then(function (html) { return { status: response.status, html: html }; });
    }).then(function (result) {
      if (seq !== self.seq) return;
      if (result.status !== 200) {
        self.panelMessage("The count could not be loaded (error " + result.status + "). It will be tried again after your next change.");
        return;
      }
      self.panel.innerHTML = result.html; // our own template, escaped by Django
      self.clearErrors();
      var error = self.panel.querySelector("[data-error-path]");
      if (error) self.showError(error.getAttribute("data-error-path"), error.getAttribute("data-error-message"), false);
    }).catch(function (error) {
      if (error && error.name === "AbortError") return;
      if (seq === self.seq) self.panelMessage("The count could not be loaded: check your connection.");
    }).then(function () {
      if (seq === self.seq) self.busy(false);
    });
  };

  /* data-preview-state: pending (a change waits for its debounce), loading, done;
     the panel fades while it is not done, and tests wait for "done". */
  Builder.prototype.busy = function (on) {
    if (this.spinner) this.spinner.hidden = !on;
    this.panel.setAttribute("aria-busy", on ? "true" : "false");
    this.panel.setAttribute("data-preview-state", on ? "loading" : "done");
  };

  Builder.prototype.panelMessage = function (text) {
    this.panel.textContent = "";
    this.panel.appendChild(h("p", { className: "preview-error", role: "alert", text: text }));
  };

  /* ---------------------------------------------------------------- errors at their node */

  Builder.prototype.clearErrors = function () {
    this.mount.querySelectorAll(".has-error").forEach(function (n) { n.classList.remove("has-error"); });
    this.mount.querySelectorAll("[data-node-error]").forEach(function (slot) {
      slot.hidden = true;
      slot.textContent = "";
    });
  };

  /* The element a JSON path names: "all[1].any[0]" is the first child of the
     second child of the root; "all[0].where[1]" a property filter; a path that
     ends on "any" or "all" names the group itself. The deepest node found wins. */
  Builder.prototype.locate = function (path) {
    var node = this.rootEl;
    var parts = (path || "").split(".").filter(Boolean);
    for (var i = 0; i < parts.length; i++) {
      var match = /^(all|any|where)(?:\[(\d+)\])?$/.exec(parts[i]);
      if (!match || match[2] === undefined) break;
      var index = Number(match[2]);
      var next = null;
      if (match[1] === "where") {
        next = node.querySelectorAll(":scope > [data-where] > [data-where-row]")[index] || null;
      } else if (node.classList.contains("b-group")) {
        next = node.querySelectorAll(":scope > [data-children] > .b-node")[index] || null;
      }
      if (!next) break;
      node = next;
    }
    return node;
  };

  /* The server names operators as the JSON does ('gt'); beside a condition, say it
     as its menu does ("is greater than"). */
  Builder.prototype.humanize = function (node, message) {
    var op = null;
    var labels = [];
    var item = this.rowItems.get(node);
    var data = this.data.get(node);
    if (item) {
      op = item.op;
      labels = this.catalog.property_operators || [];
    } else if (data && data.category === "field") {
      op = data.cond.op;
      var field = this.fieldInfo(data.cond.field);
      labels = this.operators(field ? field.type : "text");
    }
    var value = item ? item.value : data && data.category === "field" ? data.cond.value : undefined;
    var shape = shapeOf(op);
    if (op !== null && shape !== "none" && isEmpty(value) && /needs/.test(message)) {
      // Nothing typed yet: say that, not what the empty value failed to be.
      if (shape === "list") return "Add at least one value.";
      return shape === "range" ? "Enter both values." : "Enter a value.";
    }
    var label = labels.filter(function (o) { return o.value === op; })[0];
    if (!label) return message;
    return message.split("'" + op + "'").join("\u201c" + label.label + "\u201d");
  };

  Builder.prototype.showError = function (path, message, scroll) {
    if (this.mode !== "builder") return;
    var node = this.locate(path);
    var slot = node && node.querySelector(":scope > [data-node-error]");
    if (!slot) return;
    node.classList.add("has-error");
    slot.textContent = this.humanize(node, message);
    slot.hidden = false;
    if (scroll) {
      node.scrollIntoView({ block: "center" });
      var control = node.querySelector("input, select, textarea");
      if (control) control.focus({ preventScroll: true });
    }
  };

  /* ---------------------------------------------------------------- start */

  function init(root) {
    (root || document).querySelectorAll("[data-builder]").forEach(function (section) {
      if (section.kithBuilder) return;
      section.kithBuilder = new Builder(section);
      section.kithBuilder.boot();
    });
  }

  window.KithBuilder = { init: init };
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", function () { init(document); });
  } else {
    init(document);
  }
  // Content swapped in by HTMX, and a page restored from htmx's history cache
  // (its builder was drawn by a script that is gone).
  document.addEventListener("htmx:load", function (event) { init(event.detail.elt); });
  document.addEventListener("htmx:historyRestore", function () { init(document); });
})();
