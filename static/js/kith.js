/* Kith's small behaviours. No inline scripts (CSP): everything hangs off data-*
   attributes through delegated listeners, so content swapped in by HTMX works too. */
(function () {
  "use strict";

  /* ---- row selection and the bulk bar ---------------------------------- */

  function selectionScope(el) {
    return el.closest("form") || document;
  }

  function refreshSelection(scope) {
    var rows = scope.querySelectorAll("input[data-select-row]");
    var checked = scope.querySelectorAll("input[data-select-row]:checked").length;
    // "All N that match": offered once the whole page is checked (Gmail's way); it
    // goes away, unticked, as soon as a row is unchecked.
    var every = null;
    scope.querySelectorAll("[data-select-matching]").forEach(function (box) {
      var whole = rows.length > 0 && checked === rows.length;
      var input = box.querySelector("input[data-all-matching]");
      if (input && !whole) input.checked = false;
      box.classList.toggle("is-hidden", !whole);
      if (input && input.checked) every = box;
    });
    scope.querySelectorAll("[data-selected-count]").forEach(function (el) {
      el.textContent = every ? "All " + every.getAttribute("data-total") : String(checked);
    });
    scope.querySelectorAll("[data-bulk-bar]").forEach(function (bar) {
      bar.classList.toggle("has-selection", checked > 0);
    });
    scope.querySelectorAll("[data-needs-selection]").forEach(function (button) {
      button.disabled = checked === 0;
    });
    scope.querySelectorAll("input[data-select-all]").forEach(function (all) {
      all.checked = rows.length > 0 && checked === rows.length;
      all.indeterminate = checked > 0 && checked < rows.length;
    });
    scope.querySelectorAll("input[data-select-row]").forEach(function (row) {
      var tr = row.closest("tr");
      if (tr) tr.classList.toggle("is-selected", row.checked);
    });
  }

  document.addEventListener("change", function (event) {
    var target = event.target;
    if (target.matches("input[data-select-all]")) {
      var scope = selectionScope(target);
      scope.querySelectorAll("input[data-select-row]").forEach(function (row) {
        row.checked = target.checked;
      });
      refreshSelection(scope);
    } else if (target.matches("input[data-select-row], input[data-all-matching]")) {
      refreshSelection(selectionScope(target));
    }
  });

  function refreshAll(root) {
    (root || document).querySelectorAll("form").forEach(function (form) {
      if (form.querySelector("[data-bulk-bar]")) refreshSelection(form);
    });
    var bar = document.querySelector("[data-bulk-bar]");
    if (bar) refreshSelection(selectionScope(bar));
  }

  /* ---- menus (<details data-menu>) -------------------------------------- */

  function closeMenus(except) {
    document.querySelectorAll("details[data-menu][open]").forEach(function (menu) {
      if (menu !== except) menu.removeAttribute("open");
    });
  }

  document.addEventListener("click", function (event) {
    var menu = event.target.closest("details[data-menu]");
    closeMenus(menu);
  });

  document.addEventListener("keydown", function (event) {
    if (event.key !== "Escape") return;
    var open = document.querySelector("details[data-menu][open]");
    if (open) {
      open.removeAttribute("open");
      var summary = open.querySelector("summary");
      if (summary) summary.focus();
    }
  });

  /* ---- dismissible messages -------------------------------------------- */

  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-dismiss]");
    if (!button) return;
    var message = button.closest(".message");
    if (message) message.remove();
  });

  /* ---- the attribute filter: the value input follows the attribute's type */

  var VALUE_INPUTS = {
    number: { type: "number", placeholder: "A number" },
    date: { type: "date", placeholder: "" },
    boolean: { type: "text", placeholder: "yes or no" },
    text: { type: "text", placeholder: "Exact value" }
  };

  function syncAttributeValue(select) {
    var form = select.form;
    var input = form && form.querySelector("input[name='attr_value']");
    if (!input) return;
    var option = select.options[select.selectedIndex];
    var kind = (option && option.getAttribute("data-type")) || "text";
    var spec = VALUE_INPUTS[kind] || VALUE_INPUTS.text;
    if (input.type !== spec.type) {
      // A value of the old type would be refused by the new input: keep it only if it fits.
      var old = input.value;
      input.type = spec.type;
      if (input.value !== old) input.value = "";
    }
    input.placeholder = spec.placeholder;
    input.disabled = !select.value;
  }

  document.addEventListener("change", function (event) {
    if (event.target.matches("select[name='attr']")) syncAttributeValue(event.target);
  });

  /* ---- copy to clipboard ----------------------------------------------- */

  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-copy-target]");
    if (!button) return;
    var input = document.querySelector(button.getAttribute("data-copy-target"));
    if (!input) return;
    input.select();
    var done = function () {
      button.textContent = "Copied";
      window.setTimeout(function () { button.textContent = "Copy"; }, 2000);
    };
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(input.value).then(done, function () {});
    } else if (document.execCommand && document.execCommand("copy")) {
      done();
    }
  });

  document.addEventListener("focusin", function (event) {
    if (event.target.matches("[data-select-on-focus]")) event.target.select();
  });

  /* ---- GET requests from HTMX leave out empty fields, so the URL pushed to
     the address bar (and bookmarked) holds only the filters in use. */

  document.addEventListener("htmx:configRequest", function (event) {
    var detail = event.detail;
    if (detail.verb !== "get" || !detail.parameters) return;
    var params = detail.parameters;
    var names = typeof params.keys === "function" ? Array.from(params.keys()) : Object.keys(params);
    names.forEach(function (name) {
      var value = typeof params.get === "function" ? params.get(name) : params[name];
      if (value === "" || value === null || value === undefined) {
        if (typeof params.delete === "function") params.delete(name);
        else delete params[name];
      }
    });
  });

  /* ---- searchable pickers ([data-picker]) ---------------------------------
     A picker holds a search box ([data-picker-search], hidden until this script
     shows it, so without JavaScript it is a plain select or list of checkboxes)
     and either a <select> or labels with checkboxes. Typing hides what does not
     match (letter case and accents ignored); Enter picks the first match of a
     select (or ticks the first unticked checkbox) without sending the form;
     ArrowDown moves to the list. The builder draws the same markup
     (static/js/builder/controls.js), so the same listeners serve it. */

  function fold(text) {
    return (text || "").normalize("NFD").replace(/[\u0300-\u036f]/g, "").toLowerCase().trim();
  }

  function pickerItems(picker) {
    var select = picker.querySelector("select");
    if (select) {
      return Array.prototype.filter.call(select.options, function (option) { return option.value !== ""; });
    }
    return Array.prototype.slice.call(picker.querySelectorAll("label.check, label"))
      .filter(function (label) { return label.querySelector("input[type=checkbox], input[type=radio]"); });
  }

  function filterPicker(search) {
    var picker = search.closest("[data-picker]");
    if (!picker) return;
    var words = fold(search.value).split(/\s+/).filter(Boolean);
    var select = picker.querySelector("select");
    var items = pickerItems(picker);
    var matches = [];
    items.forEach(function (item) {
      var text = fold(item.textContent);
      var match = words.every(function (word) { return text.indexOf(word) !== -1; });
      // The chosen option stays, so a select never shows a value it hides.
      var keep = match || Boolean(select && item.selected);
      item.hidden = !keep;
      if (!select) item.classList.toggle("is-hidden", !keep);
      if (match) matches.push(item);
    });
    picker.kithMatches = words.length ? matches : [];
    var status = picker.querySelector("[data-picker-status]");
    if (status) status.textContent = words.length ? matches.length + " of " + items.length + " match" : "";
    picker.classList.toggle("picker-nothing", words.length > 0 && matches.length === 0);
  }

  document.addEventListener("input", function (event) {
    if (event.target.matches("[data-picker-search]")) filterPicker(event.target);
  });

  // The search box names no field: its change must not send a filter form again.
  document.addEventListener("change", function (event) {
    if (event.target.matches("[data-picker-search]")) event.stopPropagation();
  }, true);

  document.addEventListener("keydown", function (event) {
    var search = event.target;
    if (!search.matches || !search.matches("[data-picker-search]")) return;
    var picker = search.closest("[data-picker]");
    if (!picker) return;
    var select = picker.querySelector("select");
    var matches = picker.kithMatches || [];
    if (event.key === "Enter") {
      event.preventDefault();  // Enter picks; it does not send the form
      if (select) {
        if (!matches.length) return;
        select.value = matches[0].value;
        select.dispatchEvent(new Event("change", { bubbles: true }));
      } else {
        var box = matches.map(function (label) { return label.querySelector("input"); })
          .filter(function (input) { return !input.checked; })[0];
        if (box) {
          box.checked = true;
          box.dispatchEvent(new Event("change", { bubbles: true }));
        }
      }
    } else if (event.key === "ArrowDown") {
      var first = matches[0] || pickerItems(picker).filter(function (item) { return !item.hidden; })[0];
      var target = select || (first && first.querySelector("input"));
      if (target) {
        event.preventDefault();
        target.focus();
      }
    }
  });

  function initPickers(root) {
    (root || document).querySelectorAll("[data-picker-search][hidden]").forEach(function (search) {
      search.hidden = false;
    });
  }

  /* ---- start, and after every HTMX swap ---------------------------------- */

  function init(root) {
    (root || document).querySelectorAll("select[name='attr']").forEach(syncAttributeValue);
    initPickers(root);
    refreshAll(root);
  }

  document.addEventListener("DOMContentLoaded", function () { init(document); });
  document.addEventListener("htmx:afterSettle", function () { init(document); });
})();
