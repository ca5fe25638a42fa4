/* The worklist on the home page (fieldapp/pwa/worklist.py): fetched from the node and stored on
   the tablet when it answers, the stored copy shown when it does not (offline), and in both
   cases without the items a form waiting in the outbox resolves (a visit recorded offline takes
   its "visit due" away at once). No library. */
(function () {
  "use strict";

  var section = document.getElementById("worklist");
  var cfgNode = document.getElementById("pwa-config");
  var Core = window.FieldappOutbox;
  if (!section || !cfgNode || !Core || !window.indexedDB) return;
  var cfg = JSON.parse(cfgNode.dataset.config);
  var user = cfg.user || "";
  var url = section.dataset.worklist;
  var body = section.querySelector("[data-worklist-body]");
  var note = section.querySelector("[data-worklist-note]");
  var started = performance.now();
  var emptyText = (section.querySelector("[data-worklist-empty]") || {}).textContent || "";
  var KEY = "worklist";
  var shownList = null;  // the list on screen and where it came from
  var shownSource = "";

  function el(tag, attrs, text) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) {
      if (k === "class") node.className = attrs[k]; else node.setAttribute(k, attrs[k]);
    });
    if (text != null) node.textContent = text;
    return node;
  }

  function fieldValue(item, name) {
    var pair = (item.fields || []).filter(function (p) { return p[0] === name; })[0];
    return pair ? String(pair[1]) : "";
  }

  function familyOf(item) {
    var fromUrl = "";
    try { fromUrl = new URL(item.url, location.href).searchParams.get("family") || ""; } catch (e) { /* keep "" */ }
    return (fieldValue(item, "family") || fieldValue(item, "family_id") || fromUrl).toLowerCase();
  }

  // Whether a form waiting in the outbox resolves a worklist entry (its `match`).
  function resolves(item, match) {
    var path = String(item.url || "").split("?")[0];
    if (match.url) {
      if (path !== match.url) return false;
      return !match.field || ["y", "on", "true", "1"].indexOf(fieldValue(item, match.field)) >= 0;
    }
    return match.kind === item.kind && match.family === familyOf(item);
  }

  function render(list, pending) {
    var waiting = pending.filter(function (i) { return i.user === user && i.status !== "rejected"; });
    var labels = list.labels || {};
    var shown = 0;
    var hidden = 0;
    body.textContent = "";
    list.groups.forEach(function (group) {
      var items = group.items.filter(function (entry) {
        var done = waiting.some(function (i) { return resolves(i, entry.match || {}); });
        if (done) hidden += 1;
        return !done;
      });
      if (!items.length) return;
      var box = el("section", { class: "worklist-community", "data-community": group.id });
      var title = el("h3", null, group.name + " ");
      title.appendChild(el("small", { class: "muted" }, String(items.length)));
      box.appendChild(title);
      var ul = el("ul", { class: "plain" });
      items.forEach(function (entry) {
        var li = el("li", { class: "worklist-item worklist-" + entry.kind, "data-item": entry.id });
        var a = el("a", { href: entry.url });
        a.appendChild(el("span", { class: "badge" }, labels[entry.kind] || entry.kind));
        a.appendChild(document.createTextNode(" " + entry.family + (entry.detail ? " · " + entry.detail : "")));
        li.appendChild(a);
        ul.appendChild(li);
        shown += 1;
      });
      box.appendChild(ul);
      Object.keys(group.more || {}).forEach(function (kind) {
        var text = (list.more_text || "+{n} {kind}").split("{n}").join(String(group.more[kind]))
          .split("{kind}").join(labels[kind] || kind);
        box.appendChild(el("p", { class: "muted worklist-more" }, text));
      });
      body.appendChild(box);
    });
    if (!shown) body.appendChild(el("p", { class: "empty", "data-worklist-empty": "" }, emptyText));
    return hidden;
  }

  function show(list, source) {
    shownList = list;
    shownSource = source;
    return Core.listItems().catch(function () { return []; }).then(function (pending) {
      var hidden = render(list, pending);
      if (note) {
        var text = (cfg.strings || {})[hidden ? "worklist_pending" : ""] || "";
        note.textContent = hidden ? text.split("{n}").join(String(hidden)) : "";
        note.hidden = !hidden;
      }
      section.dataset.worklistSource = source;
      section.dataset.worklistReady = String(Math.round(performance.now() - started));
      // Since the navigation started (a reload with no connection: benchmarks/geo.py).
      section.dataset.worklistAt = String(Math.round(performance.now()));
    });
  }

  function stored() {
    return Core.getMeta(KEY).then(function (kept) {
      return kept && kept.user === user ? kept.list : null;
    });
  }

  function load() {
    return Core.fetchWithTimeout(url, {
      cache: "no-store", credentials: "same-origin", headers: { Accept: "application/json" }
    }, cfg.sendTimeoutMs || 20000).then(function (resp) {
      if (!resp.ok) throw new Error("HTTP " + resp.status);
      return resp.json();
    }).then(function (list) {
      if (list.user !== user) throw new Error("another user");
      return Core.setMeta(KEY, { user: user, list: list, at: Date.now() }).then(function () {
        return show(list, "network");
      });
    }).catch(function () {
      return stored().then(function (list) { if (list) return show(list, "stored"); });
    });
  }

  // With no connection the stored copy at once; otherwise the node's (the stored copy if the
  // node does not answer in time).
  (navigator.onLine === false ? stored().then(function (list) {
    if (list) return show(list, "stored");
  }) : Promise.resolve()).then(load).catch(function (err) { console.warn("fieldapp: worklist", err); });
  // The outbox changed (a form queued or sent): the list on screen again without what it now
  // resolves, still saying where that list came from (a re-render is not a fetch).
  document.addEventListener("fieldapp:outbox", function () {
    if (shownList) { show(shownList, shownSource); return; }
    stored().then(function (list) { if (list && !shownList) show(list, "stored"); });
  });
})();
