/* Families from the data stored on the tablet: search (families list, offline page), family
   pickers on create forms ([data-family-picker]), the offline page's family card, and the
   "data on this tablet" line. Starts once pwa.js has settled whose tablet it is. */
(function () {
  "use strict";
  var P = window.fieldappPwa;
  var Core = window.FieldappOutbox;
  if (!P || !Core) return;
  var cfg = P.cfg;
  var t = P.t;
  var label = P.label;
  var el = P.el;
  var when = P.when;

  function renderDataInfo() {
    var nodes = document.querySelectorAll(".offline-data-info");
    if (!nodes.length) return;
    Core.refInfo().then(function (info) {
      var text = info ? t("offline_data", { n: info.count, time: when(info.at) }) : t("offline_data_none");
      nodes.forEach(function (n) { n.textContent = text; });
    });
  }

  // A family still in the outbox has no code yet (the node gives it): said so.
  function codeOf(f) { return f.pending ? "(" + t("family_pending") + ")" : f.code; }

  function familyItem(f, onPick) {
    var li = el("li");
    var link = el(onPick ? "button" : "a", onPick ? { type: "button", class: "pick" } : { href: "/families/" + f.id });
    link.appendChild(el("strong", null, f.head_surname + ", " + f.head_given_names));
    link.appendChild(el("span", { class: "muted" }, codeOf(f) + (f.dni ? " · DNI " + f.dni : "")));
    if (onPick) link.addEventListener("click", function () { onPick(f); });
    li.appendChild(link);
    return li;
  }

  function showResults(list, rows, onPick) {
    list.textContent = "";
    list.hidden = false;
    if (!rows.length) { list.appendChild(el("li", { class: "empty" }, t("no_match"))); return; }
    rows.forEach(function (f) { list.appendChild(familyItem(f, onPick)); });
  }

  function initOfflineSearch() {
    document.querySelectorAll("form[data-offline-search]").forEach(function (form) {
      var results = form.parentNode.querySelector(".offline-results");
      if (!results) {
        results = el("ul", { class: "list offline-results", hidden: "" });
        form.parentNode.insertBefore(results, form.nextSibling);
      }
      var serverList = form.getAttribute("data-offline-search") ? document.querySelector(form.getAttribute("data-offline-search")) : null;
      form.addEventListener("submit", function (event) {
        event.preventDefault();
        var q = (form.elements.q && form.elements.q.value) || "";
        var offlineOnly = document.body.dataset.offlinePage === "1";
        (offlineOnly ? Promise.reject(new Error("offline page")) : Core.ping(cfg)).then(function () {
          form.submit();
        }, function () {
          // As the node's list: the families in the program, or (status filter) those that left.
          var left = !!(form.elements.status && form.elements.status.value === "withdrawn");
          Core.searchFamilies(q, 0).then(function (all) {
            var rows = all.filter(function (f) { return (f.status === "withdrawn") === left; }).slice(0, 50);
            if (serverList) serverList.hidden = true;
            results.setAttribute("aria-label", t("search_offline"));
            showResults(results, rows);
          });
        });
      });
    });
  }

  function initFamilyPickers() {
    document.querySelectorAll("[data-family-picker]").forEach(function (input) {
      var box = el("div", { class: "family-picker" });
      var search = el("input", { type: "search", class: "family-picker-search", placeholder: t("search_family"), "aria-label": t("choose_family"), autocomplete: "off" });
      var list = el("ul", { class: "list family-picker-results", hidden: "" });
      var chosen = el("p", { class: "family-picker-chosen", hidden: "" });
      box.appendChild(chosen);
      box.appendChild(search);
      box.appendChild(list);
      input.parentNode.insertBefore(box, input.nextSibling);
      if (input.tagName === "SELECT") input.hidden = true;

      function choose(f) {
        if (input.tagName === "SELECT" && !Array.prototype.some.call(input.options, function (o) { return o.value === f.id; })) {
          input.appendChild(el("option", { value: f.id }, f.head_given_names + " " + f.head_surname));
        }
        input.value = f.id;
        input.dispatchEvent(new Event("change", { bubbles: true }));
        input.dispatchEvent(new CustomEvent("fieldapp:family", { bubbles: true, detail: f }));
        chosen.textContent = "";
        chosen.appendChild(el("strong", null, f.head_given_names + " " + f.head_surname));
        chosen.appendChild(el("span", { class: "muted" }, " " + codeOf(f) + " "));
        var change = el("button", { type: "button", class: "link" }, t("change"));
        change.addEventListener("click", function () { chosen.hidden = true; search.hidden = false; search.focus(); });
        chosen.appendChild(change);
        chosen.hidden = false;
        search.hidden = true;
        list.hidden = true;
      }

      var timer = null;
      search.addEventListener("input", function () {
        clearTimeout(timer);
        timer = setTimeout(function () {
          if (!search.value.trim()) { list.hidden = true; return; }
          Core.searchFamilies(search.value, 15, cfg.user).then(function (rows) { showResults(list, rows, choose); });
        }, 120);
      });
      search.addEventListener("keydown", function (event) {
        if (event.key === "Enter") event.preventDefault();  // Enter picks, it does not send the form
      });
      var wanted = input.value || new URLSearchParams(location.search).get("family");
      if (wanted) Core.getFamily(wanted, cfg.user).then(function (f) { if (f) choose(f); });
      input.form && input.form.addEventListener("fieldapp:filled", function () {
        if (input.value) Core.getFamily(input.value, cfg.user).then(function (f) { if (f) choose(f); });
      });
    });
  }

  // The offline page standing in for a family's page shows what the tablet knows of the family.
  function offlineFamilyCard() {
    if (document.body.dataset.offlinePage !== "1") return;
    var match = /\/families\/([0-9a-f-]{36})/.exec(location.pathname);
    var card = document.getElementById("offline-family");
    if (!match || !card) return;
    Core.getFamily(match[1]).then(function (f) {
      if (!f) return;
      return Promise.all([Core.getCommunity(f.community_id), Core.familyAgreements(f.id)]).then(function (r) {
        card.querySelector(".offline-family-name").textContent = f.head_given_names + " " + f.head_surname;
        card.querySelector(".offline-family-code").textContent = f.code;
        card.querySelector(".offline-family-community").textContent = r[0] ? r[0].name : "";
        card.querySelector(".offline-family-dni").textContent = f.dni || "—";
        card.querySelector(".offline-family-agreements").textContent = r[1].map(function (a) {
          return a.number + " (" + label("agreement_status", a.status) + ")";
        }).join(", ") || "—";
        card.querySelectorAll("[data-family-href]").forEach(function (link) {
          link.href = link.dataset.familyHref + encodeURIComponent(f.id);
        });
        card.hidden = false;
        // The family is known here: the card's calm heading replaces "not stored".
        var note = document.getElementById("offline-note");
        if (note) note.hidden = true;
      });
    });
  }

  // ---------- the registration form's warning from the tablet's own data ----------
  // A SUBSET of the node's rule (fieldapp/families/duplicates.py, which stays the authority
  // and checks again when the form reaches the node): the same DNI is a certain match; the
  // same name once normalised (accents, case, particles such as "de", "del"; the two surnames
  // in either order) in the same community is a likely one, unless both have different DNIs.
  // Everything this flags, the node flags too; the node also finds what this leaves out
  // (spellings, neighbouring communities, plots, phones).
  var PARTICLES = ["de", "del", "la", "las", "los", "el", "y", "da", "do", "dos", "van", "von", "san"];

  function nameWords(text) {
    return Core.fold(text).split(/[^a-z0-9]+/).filter(function (w) { return w && PARTICLES.indexOf(w) < 0; });
  }

  function nameKey(given, surname) {
    var g = nameWords(given);
    var s = nameWords(surname).sort();
    return g.length && s.length ? g.join(" ") + "|" + s.join(" ") : "";
  }

  function likelyMatches(form, rows) {
    var value = function (name) { return form.elements[name] ? String(form.elements[name].value || "").trim() : ""; };
    var dni = value("dni");
    var community = value("community_id");
    var key = nameKey(value("head_given_names"), value("head_surname"));
    if (!/^\d{8}$/.test(dni)) dni = "";
    return rows.filter(function (f) {
      if (dni && f.dni === dni) return true;
      if (dni && f.dni && f.dni !== dni) return false;  // two DNIs: two people
      return !!key && f.community_id === community && nameKey(f.head_given_names, f.head_surname) === key;
    });
  }

  function initFamilyMatch() {
    var box = document.querySelector("[data-family-match]");
    var form = box && box.closest("form");
    if (!form) return;
    var list = box.querySelector("ul");
    var rows = null;
    var found = [];
    function check() {
      if (!rows) return;
      found = likelyMatches(form, rows);
      list.textContent = "";
      found.slice(0, 5).forEach(function (f) { list.appendChild(familyItem(f)); });
      box.hidden = !found.length;
      var confirm = form.querySelector("[data-confirm=confirm_not_duplicate]");
      if (confirm && found.length) confirm.hidden = false;
    }
    // Every family stored on the tablet (the search with no words), read once.
    Core.searchFamilies("", 0).then(function (all) { rows = all; check(); });
    var timer = null;
    function later() { clearTimeout(timer); timer = setTimeout(check, 150); }
    form.addEventListener("input", later);
    form.addEventListener("change", later);
    // Before pwa.js's own handler (on the form): a likely match stops the save until the
    // promotor opens that family or ticks "not the same family".
    document.addEventListener("submit", function (event) {
      if (event.target !== form) return;
      check();
      var ticked = form.elements.confirm_not_duplicate && form.elements.confirm_not_duplicate.checked;
      if (!found.length || ticked) return;
      event.preventDefault();
      event.stopPropagation();
      box.scrollIntoView({ block: "center" });
      var first = list.querySelector("a");
      if (first) first.focus();
    }, true);
  }

  function start() {
    initOfflineSearch();
    initFamilyPickers();
    initFamilyMatch();
    offlineFamilyCard();
    renderDataInfo();
  }

  P.showResults = showResults;
  document.addEventListener("fieldapp:data", renderDataInfo);
  if (document.documentElement.dataset.pwaReady === "1") start();
  else document.addEventListener("fieldapp:ready", start, { once: true });
})();
