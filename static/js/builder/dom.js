/* Small DOM helpers of the builder. CSP: no inline scripts or style attributes. */

export function h(tag, props, children) {
  const node = document.createElement(tag);
  Object.keys(props || {}).forEach((name) => {
    const value = props[name];
    if (value === null || value === undefined || value === false) return;
    if (name === "text") node.textContent = value;
    else if (name === "className") node.className = value;
    else if (name === "value") node.value = value;
    else node.setAttribute(name, value === true ? "" : String(value));
  });
  (children || []).forEach((child) => {
    if (child === null || child === undefined) return;
    node.appendChild(typeof child === "string" ? document.createTextNode(child) : child);
  });
  return node;
}

export function readJson(id) {
  const tag = document.getElementById(id);
  if (!tag) return null;
  try {
    return JSON.parse(tag.textContent);
  } catch (e) {
    return null;
  }
}

function optionKey(value) {
  return typeof value + ":" + String(value);
}

/* A select over `options` ({value, label, group, disabled}). A current value that is
   not among them stays as an extra option (`unknownLabel(value)`), so the rule keeps
   it until changed; a null one shows `emptyLabel`. */
export function choice({ label, options, current, onChange, role, unknownLabel, emptyLabel }) {
  const select = h("select", { "aria-label": label, "data-role": role, className: "b-" + role });
  const values = {};
  const groups = {};
  const items = options.slice();
  if (current === null && emptyLabel) items.unshift({ value: null, label: emptyLabel, disabled: true });
  if (current !== undefined && !items.some((o) => o.value === current)) {
    const text = unknownLabel ? unknownLabel(current) : String(current);
    select.appendChild(h("option", { value: optionKey(current), text }));
    values[optionKey(current)] = current;
  }
  items.forEach((option) => {
    let parent = select;
    if (option.group) {
      if (!groups[option.group]) {
        groups[option.group] = select.appendChild(h("optgroup", { label: option.group }));
      }
      parent = groups[option.group];
    }
    parent.appendChild(h("option", { value: optionKey(option.value), text: option.label, disabled: option.disabled }));
    values[optionKey(option.value)] = option.value;
  });
  if (current !== undefined) select.value = optionKey(current);
  select.addEventListener("change", () => { onChange(values[select.value]); });
  return select;
}

/* The copy that follows the pointer during a drag is a clone, and a clone shows
   the default value of an input or menu, not the current one: make them the same. */
export function freezeValues(root) {
  root.querySelectorAll("select").forEach((select) => {
    Array.prototype.forEach.call(select.options, (option) => { option.defaultSelected = option.selected; });
  });
  root.querySelectorAll("input, textarea").forEach((input) => { input.defaultValue = input.value; });
}

export function csrfToken() {
  try {
    const headers = JSON.parse(document.body.getAttribute("hx-headers") || "{}");
    if (headers["X-CSRFToken"]) return headers["X-CSRFToken"];
  } catch (e) { /* fall through to the cookie */ }
  const match = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
  return match ? decodeURIComponent(match[1]) : "";
}
