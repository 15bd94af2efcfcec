/* Search as you type for a company or contact (pipeline:search): picking a suggestion fills the
   form's hidden company/contact ids. Without this script the server resolves the typed name. */
(function () {
  "use strict";

  function setup(input) {
    var form = input.form;
    var list = document.getElementById(input.id + "-list");
    var company = form.querySelector('input[name="company"]');
    var contact = form.querySelector('input[name="contact"]');
    if (!list || !company || !contact) return;
    var hits = [];
    var active = -1;
    var timer = null;
    var latest = 0;
    input.setAttribute("aria-controls", list.id);

    function close() {
      list.hidden = true;
      input.setAttribute("aria-expanded", "false");
      input.removeAttribute("aria-activedescendant");
      active = -1;
    }

    function highlight(index) {
      active = index;
      Array.prototype.forEach.call(list.children, function (li, i) {
        li.setAttribute("aria-selected", i === active ? "true" : "false");
      });
      if (active >= 0 && list.children[active]) {
        input.setAttribute("aria-activedescendant", list.children[active].id);
        list.children[active].scrollIntoView({ block: "nearest" });
      } else {
        input.removeAttribute("aria-activedescendant");
      }
    }

    function pick(index) {
      var hit = hits[index];
      if (!hit) return;
      input.value = hit.label;
      if (hit.type === "contact") {
        contact.value = hit.id;
        company.value = hit.company_id;
      } else {
        company.value = hit.id;
        contact.value = "";
      }
      close();
    }

    function render(query) {
      list.textContent = "";
      hits.forEach(function (hit, i) {
        var li = document.createElement("li");
        li.id = input.id + "-option-" + i;
        li.setAttribute("role", "option");
        li.setAttribute("aria-selected", "false");
        var type = document.createElement("span");
        type.className = "hit-type";
        type.textContent = input.dataset["label" + (hit.type === "contact" ? "Contact" : "Company")];
        li.appendChild(type);
        li.appendChild(document.createTextNode(" " + hit.label));
        if (hit.detail) {
          var detail = document.createElement("span");
          detail.className = "hit-detail";
          detail.textContent = hit.detail;
          li.appendChild(detail);
        }
        li.addEventListener("mousedown", function (event) {
          event.preventDefault(); // Keep the focus in the input.
          pick(i);
        });
        list.appendChild(li);
      });
      if (!hits.length) {
        var none = document.createElement("li");
        none.setAttribute("role", "option");
        none.setAttribute("aria-disabled", "true");
        none.className = "muted";
        none.textContent = input.dataset.labelNone.replace("%(query)s", query);
        list.appendChild(none);
      }
      list.hidden = false;
      input.setAttribute("aria-expanded", "true");
      active = -1;
    }

    function search() {
      var query = input.value.trim();
      if (query.length < 2) {
        close();
        return;
      }
      var ticket = ++latest;
      var url = input.dataset.searchUrl + "?q=" + encodeURIComponent(query) +
        "&types=" + encodeURIComponent(input.dataset.searchTypes || "company,contact");
      fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin" })
        .then(function (response) { return response.ok ? response.json() : { results: [] }; })
        .then(function (data) {
          if (ticket !== latest) return; // A newer search is on its way.
          hits = data.results || [];
          render(query);
        })
        .catch(close);
    }

    input.addEventListener("input", function () {
      company.value = "";
      contact.value = "";
      clearTimeout(timer);
      timer = setTimeout(search, 180);
    });
    input.addEventListener("keydown", function (event) {
      if (list.hidden) return;
      if (event.key === "ArrowDown") {
        event.preventDefault();
        highlight(Math.min(active + 1, hits.length - 1));
      } else if (event.key === "ArrowUp") {
        event.preventDefault();
        highlight(Math.max(active - 1, 0));
      } else if (event.key === "Enter" && active >= 0) {
        event.preventDefault();
        pick(active);
      } else if (event.key === "Escape") {
        event.preventDefault();
        close();
      }
    });
    input.addEventListener("blur", function () { setTimeout(close, 150); });
  }

  document.querySelectorAll("input[data-search-url]").forEach(setup);
})();
