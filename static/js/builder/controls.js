/* The controls of a condition, drawn from its category's list in the catalog:
   {"type": "choice" | "number" | "text" | "word" | "window" | "url" | "field", ...}.
   A kind whose controls are menus, numbers and words needs nothing new here. `b` is
   the Builder (builder.js): its catalog, and what to do when something changed. */

import { choice, h } from "./dom.js";
import { resetValue, setWindow } from "./values.js";

export function drawControls(b, el, data) {
  const category = b.catalog.category(data.category);
  if (!category) return RENDERERS.raw(b, el, data);
  return category.controls.reduce((nodes, spec) => nodes.concat(RENDERERS[spec.type](b, el, data, spec)), []);
}

/* A menu that can be searched (kith.js's [data-picker] listeners filter it as you
   type; Enter picks the first match): for the segment menu, which can hold hundreds. */
function searchable(select, label) {
  const search = h("input", {
    type: "search", className: "picker-search b-picker-search", "data-picker-search": true,
    autocomplete: "off", spellcheck: "false", placeholder: "Type to find…", "aria-label": "Find a " + label.toLowerCase(),
  });
  const status = h("span", { className: "visually-hidden", "data-picker-status": true, "aria-live": "polite" });
  return h("span", { className: "picker b-picker", "data-picker": true }, [search, select, status]);
}

const SEARCHABLE_ROLES = ["segment"];

const RENDERERS = {
  choice(b, el, data, spec) {
    const cond = data.cond;
    const select = choice({
      label: spec.label,
      options: spec.options,
      current: cond[spec.key],
      role: spec.role,
      emptyLabel: spec.empty,
      unknownLabel: spec.unknown ? (value) => spec.unknown.replace("{}", value) : null,
      onChange(value) {
        cond[spec.key] = value;
        b.note(el);
        b.changed();
      },
    });
    return [SEARCHABLE_ROLES.includes(spec.role) ? searchable(select, spec.label) : select];
  },

  number(b, el, data, spec) {
    const cond = data.cond;
    const attrs = { min: spec.min, step: spec.step || 1, "data-role": spec.role };
    return [numberInput(b, cond, spec.key, (value) => {
      cond[spec.key] = value;
      b.note(el);
    }, spec.label, attrs)];
  },

  text(b, el, data, spec) {
    const cond = data.cond;
    const value = cond[spec.key];
    const input = h("input", {
      type: "text", className: "b-text b-" + spec.role,
      "aria-label": spec.label, "data-role": spec.role, list: spec.list ? "b-list-" + spec.list : null,
      placeholder: spec.placeholder, value: value === null || value === undefined ? "" : String(value),
    });
    input.addEventListener("input", () => { cond[spec.key] = input.value; b.changed(); });
    if (spec.redraws === "where") input.addEventListener("change", () => { b.redrawWhere(el); });
    return [input];
  },

  word(b, el, data, spec) {
    return [h("span", { className: "b-word", text: spec.text })];
  },

  /* A page view's URL: how it compares, and with what. */
  url(b, el, data) {
    const url = data.cond.where[0];
    const input = h("input", {
      type: "text", className: "b-value b-url", "aria-label": "URL", "data-role": "url",
      list: "b-list-url_hints", placeholder: "/pricing", value: url.value,
    });
    input.addEventListener("input", () => { url.value = input.value; b.changed(); });
    return [
      h("span", { className: "b-word", text: "URL" }),
      choice({
        label: "URL comparison", options: b.catalog.urlOperators(), current: url.op, role: "url-op",
        onChange(value) { url.op = value; b.changed(); },
      }),
      input,
    ];
  },

  /* "at any time", "in the last [N] days", "on or after [date]", "before [date]",
     "between [date] and [date]". */
  window(b, el, data) {
    const cond = data.cond;
    const catalog = b.catalog;
    const current = catalog.windowOf(cond);
    const nodes = [choice({
      label: "When", options: catalog.windows, current, role: "window",
      onChange(value) {
        const found = catalog.window(value);
        setWindow(cond, value, catalog.windowKeys, found ? found.shape : null);
        b.draw(el, "window");
        b.changed();
      },
    })];
    const spec = catalog.window(current);
    if (!current || !spec) return nodes;
    if (spec.shape === "days") {
      nodes.push(numberInput(b, cond, current, (value) => {
        cond[current] = value;
        b.note(el);
      }, "Number of days", { min: 1, step: 1, placeholder: "days", "data-role": "window-days" }));
      nodes.push(h("span", { className: "b-word", text: spec.unit || "days" }));
    } else if (spec.shape === "range") {
      if (!Array.isArray(cond[current])) cond[current] = ["", ""];
      nodes.push(typedInput(b, cond[current], 0, "date", "From"));
      nodes.push(h("span", { className: "b-word", text: "and" }));
      nodes.push(typedInput(b, cond[current], 1, "date", "To"));
    } else {
      nodes.push(typedInput(b, cond, current, "date", "Date"));
    }
    return nodes;
  },

  /* A contact field, its operator (those of the field's type) and its value. */
  field(b, el, data) {
    const catalog = b.catalog;
    const cond = data.cond;
    const type = catalog.fieldType(cond.field);
    const fields = catalog.list("fields").map((f) => ({ value: f.value, label: f.label, group: f.group }));
    const nodes = [choice({
      label: "Field", options: fields, current: cond.field, role: "field",
      unknownLabel(value) {
        const match = catalog.fieldInfo(value);
        return match ? match.label : "Unknown field: " + value;
      },
      onChange(value) {
        const nextType = catalog.fieldType(value);
        cond.field = value;
        if (nextType !== type) {
          cond.op = catalog.operators(nextType)[0].value;
          resetValue(cond, "value", cond.op, nextType, null, (op) => catalog.shapeOf(op));
        }
        b.draw(el, "field");
        b.changed();
      },
    })];
    nodes.push(choice({
      label: "Operator", options: catalog.operators(type), current: cond.op, role: "op",
      onChange(value) {
        const before = cond.op;
        cond.op = value;
        if (catalog.shapeOf(before) !== catalog.shapeOf(value)) {
          resetValue(cond, "value", value, type, before, (op) => catalog.shapeOf(op));
        }
        b.draw(el, "op");
        b.changed();
      },
    }));
    return nodes.concat(valueInputs(b, cond, "value", cond.op, type));
  },

  /* A condition the builder cannot draw: its JSON, edited in place. */
  raw(b, el, data) {
    const area = h("textarea", {
      className: "b-raw", rows: 3, spellcheck: "false", "aria-label": "Condition as JSON", "data-role": "raw",
    });
    area.value = data.raw;
    area.addEventListener("input", () => {
      data.raw = area.value;
      try {
        data.cond = JSON.parse(area.value);
      } catch (e) {
        data.cond = area.value; // the server names what is wrong with it
      }
      b.changed();
    });
    return [area];
  },
};

/* The input(s) for holder[key] under `op`: text, number, date, two of them for
   between, a number of days, a list of values, or nothing. */
export function valueInputs(b, holder, key, op, type) {
  const shape = b.catalog.shapeOf(op);
  if (shape === "none") return [];
  if (shape === "list") return [chips(b, holder, key)];
  if (shape === "days") {
    const days = numberInput(b, holder, key, null, "Number of days", { min: 1, step: 1, placeholder: "days" });
    return [days, h("span", { className: "b-word", text: b.catalog.unitOf(type, op) })];
  }
  if (shape === "range") {
    if (!Array.isArray(holder[key])) holder[key] = [null, null];
    return [
      typedInput(b, holder[key], 0, type, "From"),
      h("span", { className: "b-word", text: "and" }),
      typedInput(b, holder[key], 1, type, "To"),
    ];
  }
  return [typedInput(b, holder, key, type, "Value")];
}

export function typedInput(b, holder, key, type, label) {
  if (type === "number") return numberInput(b, holder, key, null, label, { step: "any" });
  const value = holder[key];
  const text = value === null || value === undefined ? "" : String(value);
  const isDate = type === "date" && (text === "" || /^\d{4}-\d{2}-\d{2}$/.test(text));
  const input = h("input", {
    type: isDate ? "date" : "text",
    "aria-label": label,
    "data-role": "value",
    className: "b-value" + (type === "date" ? " b-date" : ""),
    placeholder: type === "date" ? "2024-05-31T09:00:00Z" : "value",
    value: text,
  });
  input.addEventListener("input", () => {
    holder[key] = input.value;
    b.changed();
  });
  return input;
}

export function numberInput(b, holder, key, onValue, label, attrs) {
  const value = holder[key];
  const input = h("input", Object.assign({
    type: "number",
    "aria-label": label,
    "data-role": "value",
    className: "b-number",
    value: value === null || value === undefined ? "" : String(value),
  }, attrs || {}));
  input.addEventListener("input", () => {
    const raw = input.value.trim();
    const next = raw === "" ? null : Number(raw);
    if (onValue) onValue(next);
    else holder[key] = next;
    b.changed();
  });
  return input;
}

/* A list of values as chips: Enter or a comma adds what was typed, Backspace in the
   empty box removes the last one, a pasted list is split on commas and new lines. */
export function chips(b, holder, key) {
  if (!Array.isArray(holder[key])) holder[key] = [];
  const values = holder[key];
  const box = h("div", { className: "b-chips", role: "group", "aria-label": "Values" });
  const input = h("input", {
    type: "text", className: "b-chip-input", "aria-label": "Add a value", "data-role": "value",
    "data-chip-input": "", placeholder: values.length ? "add another" : "type, then Enter",
  });
  function redraw() {
    box.querySelectorAll(".b-chip").forEach((chip) => { chip.remove(); });
    values.forEach((value, index) => {
      const remove = h("button", { type: "button", className: "b-chip-remove", "aria-label": "Remove " + value });
      remove.appendChild(h("span", { "aria-hidden": "true", text: "×" }));
      remove.addEventListener("click", () => {
        values.splice(index, 1);
        redraw();
        input.focus();
        b.changed();
      });
      box.insertBefore(h("span", { className: "b-chip" }, [h("span", { text: value }), remove]), input);
    });
    input.placeholder = values.length ? "add another" : "type, then Enter";
  }
  function commit(text) {
    let added = false;
    text.split(/[,\n]/).forEach((part) => {
      const value = part.trim();
      if (value && values.indexOf(value) < 0) {
        values.push(value);
        added = true;
      }
    });
    input.value = "";
    if (added) {
      redraw();
      b.changed();
    }
  }
  input.addEventListener("keydown", (event) => {
    if (event.key === "Enter" || event.key === ",") {
      event.preventDefault();
      commit(input.value);
    } else if (event.key === "Backspace" && !input.value && values.length) {
      values.pop();
      redraw();
      b.changed();
    }
  });
  input.addEventListener("paste", (event) => {
    const text = (event.clipboardData || window.clipboardData).getData("text");
    if (/[,\n]/.test(text)) {
      event.preventDefault();
      commit(input.value + text);
    }
  });
  input.addEventListener("blur", () => { if (input.value.trim()) commit(input.value); });
  box.addEventListener("click", (event) => { if (event.target === box) input.focus(); });
  input.commit = () => { if (input.value.trim()) commit(input.value); };
  box.appendChild(input);
  redraw();
  return box;
}
