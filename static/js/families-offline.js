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
          Core.searchFamilies(q, 50).then(function (rows) {
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

  function start() {
    initOfflineSearch();
    initFamilyPickers();
    offlineFamilyCard();
    renderDataInfo();
  }

  P.showResults = showResults;
  document.addEventListener("fieldapp:data", renderDataInfo);
  if (document.documentElement.dataset.pwaReady === "1") start();
  else document.addEventListener("fieldapp:ready", start, { once: true });
})();
