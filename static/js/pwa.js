/* fieldapp tablet app: service worker registration and updates, the status badge, the outbox
   for every form[data-outbox], offline reference data (family search and family pickers).
   No library, no build step. */
(function () {
  "use strict";

  var cfgNode = document.getElementById("pwa-config");
  var Core = window.FieldappOutbox;
  if (!cfgNode || !Core || !window.indexedDB) return;
  var cfg = JSON.parse(cfgNode.dataset.config);
  var S = cfg.strings || {};
  var user = cfg.user || "";
  var state = { reachable: null, serverUser: null, lastRefAt: 0 };
  var registration = null;
  var updateRequested = false;
  var ticking = null;

  function t(key, vars) {
    var text = S[key] || key;
    Object.keys(vars || {}).forEach(function (k) { text = text.split("{" + k + "}").join(vars[k]); });
    return text;
  }

  // A stored value (a status, a result) as a person reads it: fieldapp/labels.py's table,
  // exported in the request's language; an unknown value is shown as it is.
  function label(kind, value) {
    var table = (cfg.labels || {})[kind] || {};
    return table[value] || value;
  }

  function el(tag, attrs, text) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) {
      if (k === "class") node.className = attrs[k]; else node.setAttribute(k, attrs[k]);
    });
    if (text != null) node.textContent = text;
    return node;
  }

  function when(ts) {
    if (!ts) return "";
    var d = new Date(ts);
    var sameDay = new Date().toDateString() === d.toDateString();
    var opts = sameDay ? { hour: "2-digit", minute: "2-digit" } : { day: "numeric", month: "short", hour: "2-digit", minute: "2-digit" };
    if (cfg.timezone) opts.timeZone = cfg.timezone;  // the program's zone, as on the pages
    return d.toLocaleString(document.documentElement.lang || "es", opts);
  }

  // ---------- service worker: registration and the "new version" offer ----------

  function formBeingEdited() {
    // Typed in, or showing an item the node has not accepted yet (being corrected).
    return !!document.querySelector("form[data-outbox][data-dirty='1'], form[data-outbox][data-outbox-seq]:not([hidden])");
  }

  function offerUpdate() {
    if (!registration || !registration.waiting || !navigator.serviceWorker.controller) return;
    var banner = document.getElementById("pwa-update");
    if (!banner) return;
    if (formBeingEdited()) {
      // Never interrupt a form: ask again once it is sent or left alone.
      setTimeout(offerUpdate, 3000);
      return;
    }
    banner.hidden = false;
  }

  function registerWorker() {
    if (!("serviceWorker" in navigator)) return;
    var hadController = !!navigator.serviceWorker.controller;
    navigator.serviceWorker.addEventListener("controllerchange", function () {
      if (!hadController) { hadController = true; warm(true); return; }
      if (updateRequested) { updateRequested = false; location.reload(); }
    });
    var button = document.getElementById("pwa-update-reload");
    if (button) {
      button.addEventListener("click", function () {
        if (!registration || !registration.waiting) { location.reload(); return; }
        updateRequested = true;
        registration.waiting.postMessage({ type: "SKIP_WAITING" });
      });
    }
    var retryMs = 3000;
    var watched = new WeakSet();
    function watch(worker) {
      if (!worker || watched.has(worker)) return;
      watched.add(worker);
      worker.addEventListener("statechange", function () {
        if (worker.state === "installed") offerUpdate();
        // A first install that failed (a precache request cut on a weak link, a busy node)
        // leaves the tablet without its offline copy until the next page: try again soon.
        if (worker.state === "redundant" && !navigator.serviceWorker.controller) {
          setTimeout(register, retryMs);
          retryMs = Math.min(retryMs * 2, 60000);
        }
      });
    }
    function adopt(reg) {
      if (registration === reg) { watch(reg.installing); return; }
      registration = reg;
      window.fieldappRegistration = reg;
      offerUpdate();
      watch(reg.installing);
      reg.addEventListener("updatefound", function () { watch(reg.installing); });
    }
    // With no node, register() fails (it fetches /sw.js to look for an update), but the worker
    // already installed keeps working: `ready` gives its registration.
    function register() {
      navigator.serviceWorker.register(cfg.sw, { scope: "/", updateViaCache: "none" }).then(adopt)
        .catch(function (err) { console.warn("fieldapp: service worker not (re)registered", err); });
    }
    register();
    navigator.serviceWorker.ready.then(function (reg) {
      if (!navigator.serviceWorker.controller && reg.active) reg.active.postMessage({ type: "CLAIM" });
      adopt(reg);
    });
  }

  // ---------- status badge ----------

  // Whose badge: the logged-in user; on the offline page (nobody logged in as far as the page
  // knows), the user whose pages the tablet holds.
  function badgeUser() {
    var known = user || state.serverUser;
    if (known || document.body.dataset.offlinePage !== "1") return Promise.resolve(known || "");
    return Core.getMeta("pagesUser").then(function (u) { return u || ""; }, function () { return ""; });
  }

  function renderBadge() {
    var badge = document.getElementById("pwa-badge");
    var who = "";
    return badgeUser().then(function (u) {
      who = u;
      return Promise.all([Core.listItems(), who ? Core.getMeta("lastSent:" + who) : null, Core.getMeta("reach")]);
    })
      .then(function (r) {
        var items = r[0];
        var reach = r[2];
        var mine = items.filter(function (i) { return i.user === who; });
        var waiting = mine.filter(function (i) { return i.status === "waiting"; }).length;
        var rejected = mine.filter(function (i) { return i.status === "rejected"; }).length;
        var reachable = state.reachable !== null ? state.reachable : (reach ? reach.ok : null);
        if (!badge) return;
        badge.dataset.state = reachable === null ? "unknown" : (reachable ? "online" : "offline");
        badge.dataset.waiting = String(waiting);
        badge.dataset.rejected = String(rejected);
        badge.dataset.others = String(items.length - mine.length);
        badge.querySelector(".netbadge-state").textContent =
          reachable === null ? t("checking") : t(reachable ? "online" : "offline");
        var parts = [];
        if (waiting) parts.push(waiting === 1 ? t("waiting_one") : t("waiting_many", { n: waiting }));
        if (rejected) parts.push(rejected === 1 ? t("rejected_one") : t("rejected_many", { n: rejected }));
        badge.querySelector(".netbadge-count").textContent = parts.length ? "· " + parts.join(" · ") : "";
        // Nobody known (logged out): no "nothing sent yet" about nobody.
        badge.querySelector(".netbadge-last").textContent = !who ? "" :
          "· " + (r[1] ? t("last_sent", { time: when(r[1]) }) : t("never_sent"));
      }).catch(function () { /* storage unavailable: the badge keeps its last words */ });
  }

  // ---------- replay loop: app open, timer, `online`, back in the foreground ----------

  // One round at a time; `fresh` waits for a running round and starts another (a form just
  // stored must be in the round whose result the form reports).
  function tick(fresh) {
    if (ticking) {
      if (fresh !== true) return ticking;
      return ticking.then(function () { return tick(true); });
    }
    ticking = Core.replay(cfg).then(function (summary) {
      state.reachable = summary.reachable;
      state.serverUser = summary.user;
      if (summary.reachable && user && summary.user === user) afterReachable(summary);
      return summary;
    }, function (err) {
      console.warn("fieldapp: replay failed", err);
      return { reachable: false, results: {}, accepted: [], rejected: [] };
    }).then(function (summary) {
      ticking = null;
      renderBadge();
      document.dispatchEvent(new CustomEvent("fieldapp:outbox", { detail: summary }));
      return summary;
    });
    return ticking;
  }

  function afterReachable(summary) {
    if (registration && summary.version) {
      Core.getMeta("swVersion").then(function (active) {
        if (active && active !== summary.version) registration.update().catch(function () {});
      });
    }
    if (Date.now() - state.lastRefAt > 60000) {
      state.lastRefAt = Date.now();
      Core.refreshRef(cfg).then(function () {
        document.dispatchEvent(new CustomEvent("fieldapp:data"));
      }).catch(function (err) { console.warn("fieldapp: reference data", err); });
    }
    warm(false);
  }

  // Store the field pages for this user so they open with no connection. One at a time: a
  // second call while pages are being stored waits for that run instead of starting another.
  var warming = null;
  function warm(force) {
    if (!user || !navigator.serviceWorker || !navigator.serviceWorker.controller) return;
    if (warming) return warming;
    warming = Core.getMeta("warmed").then(function (w) {
      var fresh = w && w.user === user && w.version === cfg.version && Date.now() - w.at < 30 * 60000;
      if (fresh && !force) return;
      return fetch(cfg.pages, { credentials: "same-origin", cache: "no-store", headers: { Accept: "application/json" } })
        .then(function (resp) { return resp.ok ? resp.json() : { pages: [] }; })
        .then(function (list) { return list.user === user ? Core.warmPages(user, list.pages) : 0; })
        .then(function (n) {
        return Core.setMeta("warmed", { user: user, version: cfg.version, at: Date.now(), pages: n });
      });
    }).then(function () {
      document.documentElement.dataset.pwaWarm = "1";
    }).catch(function (err) { console.warn("fieldapp: storing pages", err); }).then(function () {
      warming = null;
    });
    return warming;
  }

  function registerSync() {
    if (registration && registration.sync) registration.sync.register("fieldapp-outbox").catch(function () {});
  }

  // ---------- outbox forms ----------

  function actionPath(form) {
    var url = new URL(form.getAttribute("action") || location.href, location.href);
    return url.pathname + url.search;
  }

  function collect(form, submitter) {
    var fields = [];
    var data;
    try { data = submitter ? new FormData(form, submitter) : new FormData(form); } catch (e) { data = new FormData(form); }
    data.forEach(function (value, name) {
      if (name === "csrf_token" || name === "idempotency_key") return;
      if (typeof value === "object" && value !== null) {
        if (!value.size && !value.name) return;
        fields.push([name, value, value.name]);
      } else {
        fields.push([name, value]);
      }
    });
    return fields;
  }

  // The form's controls named `name`. Not form.elements[name]: for names such as "item" or
  // "length" that gives the collection's own method or property, not the field.
  function named(form, name) {
    return Array.prototype.filter.call(form.elements, function (node) { return node.name === name; });
  }

  function fieldText(form, name) {
    var node = named(form, name)[0];
    if (!node) return "";
    if (node.tagName === "SELECT") return node.selectedIndex >= 0 && node.value ? node.options[node.selectedIndex].text : "";
    return node.value || "";
  }

  function titleOf(form) {
    var names = (form.dataset.outboxTitle || "").split(/\s+/).filter(Boolean);
    var parts = names.map(function (n) { return fieldText(form, n); }).filter(Boolean);
    var picked = form.querySelector(".family-picker-chosen strong");
    if (!parts.length && picked && picked.textContent) parts.push(picked.textContent);
    if (!parts.length) {
      var h1 = document.querySelector("main h1");
      if (h1) parts.push(h1.textContent.trim());
    }
    return parts.join(" ");
  }

  function formStatus(form) {
    var box = form.querySelector(".pwa-form-status");
    if (!box) {
      box = el("p", { class: "pwa-form-status flash", role: "status" });
      form.insertBefore(box, form.firstChild);
    }
    return box;
  }

  function showStatus(form, message, kind) {
    var box = formStatus(form);
    box.className = "pwa-form-status flash flash-" + (kind || "info");
    box.setAttribute("role", kind === "error" ? "alert" : "status");
    box.textContent = message;
    box.hidden = false;
  }

  // A confirmation the node asks for (a checkbox in a hidden [data-confirm] box) is shown
  // when the node names it, or when it has an error of its own.
  function revealConfirm(form, name) {
    form.querySelectorAll("[data-confirm]").forEach(function (box) {
      var inside = named(form, name).some(function (node) { return box.contains(node); });
      if (box.dataset.confirm === name || inside) box.hidden = false;
    });
  }

  function clearErrors(form) {
    form.querySelectorAll(".field .error").forEach(function (n) { n.remove(); });
    form.querySelectorAll(".has-error").forEach(function (n) { n.classList.remove("has-error"); });
    form.querySelectorAll("[aria-invalid='true']").forEach(function (n) { n.setAttribute("aria-invalid", "false"); });
    var top = document.querySelector("main > .flash-error");
    if (top) top.remove();
    var box = form.querySelector(".pwa-form-status");
    if (box) box.hidden = true;
  }

  // Show a rejection next to the fields, as the server's own form page does.
  function showErrors(form, error) {
    var fields = (error && error.fields) || {};
    var loose = [];
    var placed = [];
    if (error && error.confirm) revealConfirm(form, error.confirm);
    Object.keys(fields).forEach(function (name) {
      var messages = [].concat(fields[name]);  // one message or a list of them
      revealConfirm(form, name);
      var node = named(form, name)[0];
      var box = node && node.closest ? node.closest(".field") : null;
      if (!box) { loose = loose.concat(messages); return; }
      placed = placed.concat(messages);
      box.classList.add("has-error");
      node.setAttribute("aria-invalid", "true");
      messages.forEach(function (message) {
        box.appendChild(el("p", { class: "error", id: (node.id || name) + "-err" }, message));
      });
      node.setAttribute("aria-describedby", (node.id || name) + "-err");
    });
    var message = (error && error.message) || t("fix_fields");
    // Said once: a message shown next to its field is not repeated above the form.
    if (placed.indexOf(message) >= 0) message = t(error.confirm ? "confirm_below" : "fix_fields");
    if (error && error.status && error.status >= 500) message = t("server_error", { status: error.status }) + " " + (error.message || "");
    loose = loose.filter(function (text, i) { return text !== message && loose.indexOf(text) === i; });
    showStatus(form, [message].concat(loose).join(" "), "error");
    var first = form.querySelector(".has-error input, .has-error select, .has-error textarea");
    if (first) first.focus();
  }

  function savedPanel(form, message, item) {
    form.hidden = true;
    var panel = el("section", { class: "card pwa-saved", role: "status" });
    panel.appendChild(el("p", { class: "pwa-saved-message" }, message));
    // What comes next for a record made offline (sign the draft, draft the family's
    // agreement): a stored page that names the record by the id the tablet gave it.
    if (form.dataset.outboxNext && item && item.record) {
      var next = form.dataset.outboxNext.split("{record}").join(encodeURIComponent(item.record));
      panel.appendChild(el("a", { class: "button big pwa-saved-next", href: next }, form.dataset.outboxNextLabel || ""));
      panel.appendChild(document.createTextNode(" "));
    }
    var again = el("a", { class: "button primary big", href: location.pathname + location.search }, t("new_entry"));
    var outbox = el("a", { class: "button", href: cfg.outbox }, t("see_outbox"));
    panel.appendChild(again);
    panel.appendChild(document.createTextNode(" "));
    panel.appendChild(outbox);
    form.parentNode.insertBefore(panel, form.nextSibling);
    panel.scrollIntoView({ block: "start" });
  }

  function submitOutbox(form, submitter) {
    if (form.dataset.outboxBusy === "1") return;
    if (!user) { form.submit(); return; }
    form.dataset.outboxBusy = "1";
    clearErrors(form);
    // Photos taken with the form (photos.js) go as items of their own, after it.
    var photos = window.FieldappPhotos ? window.FieldappPhotos.take(form) : [];
    var keyInput = form.querySelector("input[name=idempotency_key]");
    var recordInput = form.querySelector("input[name=record_id]");
    var item = {
      kind: form.dataset.outbox,
      // The id the tablet gave the record (a family, a draft): items queued after this one
      // may name it, and wait for it (outbox-core.js, blockerOf).
      record: recordInput && recordInput.value ? recordInput.value : null,
      user: user,
      url: actionPath(form),
      key: keyInput && keyInput.value ? keyInput.value : Core.newKey(),
      fields: collect(form, submitter),
      title: titleOf(form),
      page: location.pathname + location.search,
      created_at: Date.now(),
      app_version: cfg.version
    };
    // A corrected item replaces the one stored (same place in the outbox, same key: the node
    // keeps a key only with the record it created, so a refused payload left none behind).
    if (form.dataset.outboxSeq) item.seq = Number(form.dataset.outboxSeq);
    // A photo waits for the record its form makes: named by the form's key when the tablet
    // gives that record no id of its own (outbox-core.js, blockerOf).
    if (photos.length && !item.record) item.record = item.key;
    showStatus(form, t("sending"), "info");
    Core.addItem(item).then(function (seq) {
      // Stored durably: from here on nothing the network does can lose the form.
      item.seq = seq;
      form.dataset.outboxSeq = String(seq);
      form.dataset.dirty = "";
      return (photos.length ? window.FieldappPhotos.queue(photos, item, Core) : Promise.resolve())
        .then(function () { return tick(true); }).then(function (summary) {
        var res = summary.results[seq];
        if (res && res.outcome === "accepted") {
          delete form.dataset.outboxSeq;  // sent: leaving the page loses nothing
          sessionStorage.setItem("fieldapp-flash", t("sent"));
          location.assign(res.url || location.href);
          return;
        }
        if (res && res.outcome === "rejected") {
          // Answered at once: the person corrects it here. It stays in the outbox, rejected
          // and as typed, until the node accepts it: leaving the page loses nothing.
          form.dataset.outboxBusy = "";
          showErrors(form, res);
          renderBadge();
          return;
        }
        delete form.dataset.outboxSeq;  // waiting in the outbox: it is sent without the page
        registerSync();
        var lost = summary.reachable && summary.user !== user;
        var held = (summary.held || []).indexOf(seq) >= 0;
        savedPanel(form, lost ? t("saved_login", { user: user }) : t(held ? "saved_held" : "saved_offline"), item);
      });
    }, function (err) {
      form.dataset.outboxBusy = "";
      showStatus(form, t("store_failed", { error: (err && err.message) || String(err) }), "error");
    }).catch(function (err) {
      form.dataset.outboxBusy = "";
      console.warn("fieldapp: sending the form", err);
    });
  }

  function fill(form, fields) {
    form.fieldappPendingFields = fields;  // rows built later (visit findings) fill from it too
    Array.prototype.forEach.call(form.elements, function (node) {
      if (node.type === "checkbox" || node.type === "radio") node.checked = false;
    });
    fields.forEach(function (pair) {
      var list = named(form, pair[0]);
      list.forEach(function (node) {
        if (node.type === "file") return;
        if (node.type === "checkbox" || node.type === "radio") {
          if (node.value === String(pair[1])) node.checked = true;
        } else if (node.tagName === "SELECT" && node.multiple) {
          Array.prototype.forEach.call(node.options, function (o) { if (o.value === String(pair[1])) o.selected = true; });
        } else if (list.length === 1) {
          node.value = pair[1];
        }
      });
    });
    form.querySelectorAll("[data-confirm]").forEach(function (box) {
      if (box.querySelector("input:checked")) box.hidden = false;  // a confirmation given
    });
    form.dispatchEvent(new CustomEvent("fieldapp:filled", { bubbles: true }));
  }

  // Reopening a rejected item: the form opens with what was typed and the reasons.
  function reopen(form) {
    var match = /#outbox=(\d+)/.exec(location.hash);
    if (!match) return;
    Core.getItem(match[1]).then(function (item) {
      if (!item || item.user !== user) return;
      fill(form, item.fields);
      // The same key: the node refused the payload, so it kept nothing under the key. Only
      // a key the node says it used for other data (a record made under it) is replaced.
      var keyInput = form.querySelector("input[name=idempotency_key]");
      var reused = item.last_error && item.last_error.code === "idempotency_key_reused";
      if (keyInput) keyInput.value = reused ? Core.newKey() : item.key;
      form.dataset.outboxSeq = String(item.seq);
      if (item.last_error) showErrors(form, item.last_error);
    });
  }

  // A form showing an item the node has not accepted (just refused, or reopened to correct):
  // leaving asks first. Left anyway, the item stays in the outbox, rejected, as it was stored.
  function warnBeforeLeaving(event) {
    var open = Array.prototype.some.call(document.querySelectorAll("form[data-outbox][data-outbox-seq]"),
      function (form) { return !form.hidden; });
    if (!open) return undefined;
    event.preventDefault();
    event.returnValue = t("leave_unsent");
    return event.returnValue;
  }

  function enhanceForms() {
    document.querySelectorAll("form[data-outbox]").forEach(function (form) {
      // The page may come from the tablet's store, where its key was used already.
      var keyInput = form.querySelector("input[name=idempotency_key]");
      if (keyInput) keyInput.value = Core.newKey();
      // A new record's id, made here (a reopened item brings back its own, see reopen).
      var recordInput = form.querySelector("input[name=record_id]");
      if (recordInput) recordInput.value = Core.newKey();
      function dirty() { form.dataset.dirty = "1"; }
      form.addEventListener("input", dirty);
      form.addEventListener("change", dirty);
      form.addEventListener("submit", function (event) {
        event.preventDefault();
        event.stopImmediatePropagation();
        submitOutbox(form, event.submitter);
      }, true);
      reopen(form);
      form.dataset.outboxReady = "1";
    });
    window.addEventListener("beforeunload", warnBeforeLeaving);
  }

  // ---------- persistence, flash, logout ----------

  function askPersistence() {
    if (!user || !navigator.storage || !navigator.storage.persist) return;
    navigator.storage.persisted().then(function (yes) {
      return yes || navigator.storage.persist();
    }).then(function (granted) {
      document.documentElement.dataset.persisted = granted ? "1" : "0";
      var warning = document.getElementById("outbox-persist-warning");
      if (!granted && warning) { warning.textContent = t("persist_refused"); warning.hidden = false; }
      var badge = document.getElementById("pwa-badge");
      if (!granted && badge) badge.title = t("persist_refused");
    }).catch(function () {});
  }

  function showFlash() {
    var message = sessionStorage.getItem("fieldapp-flash");
    if (!message) return;
    sessionStorage.removeItem("fieldapp-flash");
    var main = document.getElementById("content");
    if (main) main.insertBefore(el("p", { class: "flash flash-success", role: "status" }, message), main.firstChild);
  }

  // The offline page after logging out with no connection: the session is closed, and what
  // stays queued on the tablet (and for whom) is said, not left to guess.
  function loggedOutNote() {
    var box = document.getElementById("offline-logged-out");
    if (!box || !/[?&]logged-out=1/.test(location.search)) return;
    box.hidden = false;
    var note = document.getElementById("offline-note");
    if (note) note.hidden = true;
    Core.listItems().then(function (items) {
      var queued = items.filter(function (i) { return i.status === "waiting" || i.status === "rejected"; });
      var users = queued.map(function (i) { return i.user; }).filter(function (u, k, all) { return u && all.indexOf(u) === k; });
      box.querySelector(".offline-queued").textContent = queued.length
        ? t(queued.length === 1 ? "queued_after_logout_one" : "queued_after_logout_many", { n: queued.length, user: users.join(", ") })
        : t("nothing_queued_after_logout");
    }).catch(function () {});
  }

  function initLogout() {
    var form = document.getElementById("logout-form");
    if (!form) return;
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      // The user's pages and data leave the tablet; their outbox items stay and wait for them.
      Core.forgetUser().catch(function () {}).then(function () { form.submit(); });
    });
  }

  // Logged out while the node did not answer: close the node's session before anything else.
  function finishPendingLogout() {
    var form = document.getElementById("logout-form");
    if (!user && document.body.dataset.offlinePage !== "1") {
      // A page from the node with nobody logged in: the node's session is over already.
      return Core.setMeta("pendingLogout", false).then(function () { return false; });
    }
    if (!form || !user) return Promise.resolve(false);
    return Core.getMeta("pendingLogout").then(function (pending) {
      if (!pending) return false;
      form.submit();
      return true;
    });
  }

  // ---------- start ----------

  window.fieldappPwa = {
    cfg: cfg, t: t, label: label, el: el, when: when, tick: tick, renderBadge: renderBadge, fill: fill,
    showStatus: showStatus
  };

  registerWorker();
  finishPendingLogout().catch(function () { return false; }).then(function (leaving) {
    if (leaving) return;
    return (user ? Core.adoptUser(user) : Promise.resolve()).catch(function () {}).then(start);
  });

  function start() {
    enhanceForms();
    showFlash();
    initLogout();
    loggedOutNote();
    askPersistence();
    renderBadge();
    document.dispatchEvent(new CustomEvent("fieldapp:ready"));  // families-offline.js and others
    document.documentElement.dataset.pwaReady = "1";
    if (window.performance && performance.mark) performance.mark("fieldapp-ready");
    tick();
  }
  setInterval(tick, cfg.intervalMs || 30000);
  window.addEventListener("online", tick);
  document.addEventListener("visibilitychange", function () {
    if (document.visibilityState === "visible") tick();
  });
  if (typeof BroadcastChannel === "function") {
    new BroadcastChannel("fieldapp-outbox").onmessage = function () {
      renderBadge();
      document.dispatchEvent(new CustomEvent("fieldapp:outbox", { detail: null }));
    };
  }
})();
