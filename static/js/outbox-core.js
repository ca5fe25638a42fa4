/* fieldapp offline store, part 1: the IndexedDB database, the outbox of forms waiting for the
   node, recently sent items, and the replay. Part 2 (offline-data.js) adds the reference data
   and the per-user page cache. Shared by the pages and the service worker (importScripts): no
   DOM here. */
(function (g) {
  "use strict";

  var DB_NAME = "fieldapp";
  var DB_VERSION = 2;
  // The shape of a stored outbox item. A newer app reads every older shape (see upgradeItem):
  // items written before an update are still sent after it.
  var ITEM_FORMAT = 1;
  var REF_STORES = ["families", "communities", "agreements", "agreement_commitments", "benefit_types",
    "commitment_types"];
  var SENT_KEEP = 50;
  var MAX_SERVER_ERRORS = 5;
  var dbPromise = null;

  function openDb() {
    if (dbPromise) return dbPromise;
    dbPromise = new Promise(function (resolve, reject) {
      var req = g.indexedDB.open(DB_NAME, DB_VERSION);
      req.onupgradeneeded = function (event) {
        var db = req.result;
        if (event.oldVersion < 1) {
          db.createObjectStore("outbox", { keyPath: "seq", autoIncrement: true }).createIndex("user", "user");
          db.createObjectStore("sent", { keyPath: "key" }).createIndex("sent_at", "sent_at");
          db.createObjectStore("meta", { keyPath: "k" });
          var families = db.createObjectStore("families", { keyPath: "id" });
          families.createIndex("code", "code");
          families.createIndex("dni", "dni");
          db.createObjectStore("communities", { keyPath: "id" });
          db.createObjectStore("agreements", { keyPath: "id" }).createIndex("family_id", "family_id");
          db.createObjectStore("benefit_types", { keyPath: "id" });
          db.createObjectStore("commitment_types", { keyPath: "id" });
        }
        // Later versions only add: never drop the outbox store or change its key, so items
        // written by an older version of the app survive the upgrade and are still sent.
        if (event.oldVersion < 2) {
          db.createObjectStore("agreement_commitments", { keyPath: "id" }).createIndex("agreement_id", "agreement_id");
        }
      };
      req.onsuccess = function () {
        var db = req.result;
        db.onversionchange = function () { db.close(); dbPromise = null; };
        resolve(db);
      };
      req.onerror = function () { dbPromise = null; reject(req.error); };
    });
    return dbPromise;
  }

  // Run `body(tx, done)` in one transaction; resolves with the value given to `done` once the
  // transaction has COMMITTED (durable: flushed to disk before we tell anyone "saved").
  function run(stores, mode, body, durable) {
    return openDb().then(function (db) {
      return new Promise(function (resolve, reject) {
        var tx = db.transaction(stores, mode, durable ? { durability: "strict" } : undefined);
        var result;
        tx.oncomplete = function () { resolve(result); };
        tx.onerror = function () { reject(tx.error); };
        tx.onabort = function () { reject(tx.error || new Error("transaction aborted")); };
        body(tx, function (value) { result = value; });
      });
    });
  }

  function getAll(store, index, key) {
    return run([store], "readonly", function (tx, done) {
      var source = index ? tx.objectStore(store).index(index) : tx.objectStore(store);
      var req = key === undefined ? source.getAll() : source.getAll(key);
      req.onsuccess = function () { done(req.result); };
    });
  }

  function getOne(store, key) {
    return run([store], "readonly", function (tx, done) {
      var req = tx.objectStore(store).get(key);
      req.onsuccess = function () { done(req.result); };
    });
  }

  function getMeta(k) {
    return getOne("meta", k).then(function (row) { return row ? row.v : undefined; });
  }

  function setMeta(k, v) {
    return run(["meta"], "readwrite", function (tx) { tx.objectStore("meta").put({ k: k, v: v }); });
  }

  function notify() {
    if (typeof g.BroadcastChannel === "function") {
      try { new g.BroadcastChannel("fieldapp-outbox").postMessage({ type: "changed" }); } catch (e) { /* closed */ }
    }
  }

  function newKey() {
    if (g.crypto && typeof g.crypto.randomUUID === "function") return g.crypto.randomUUID();
    var b = g.crypto.getRandomValues(new Uint8Array(16));
    b[6] = (b[6] & 15) | 64;
    b[8] = (b[8] & 63) | 128;
    var h = Array.prototype.map.call(b, function (x) { return (x + 256).toString(16).slice(1); }).join("");
    return h.slice(0, 8) + "-" + h.slice(8, 12) + "-" + h.slice(12, 16) + "-" + h.slice(16, 20) + "-" + h.slice(20);
  }

  // ---- outbox items ----

  function upgradeItem(item) {
    // Format 0 (never shipped, kept as the example): fields as an object instead of pairs.
    if (!item.v && item.fields && !Array.isArray(item.fields)) {
      item.fields = Object.keys(item.fields).map(function (name) { return [name, item.fields[name]]; });
    }
    item.v = ITEM_FORMAT;
    item.status = item.status === "rejected" ? "rejected" : "waiting";
    return item;
  }

  // Store an item to send: a new one, or (item.seq given) a corrected one in the place of the
  // rejected item it replaces, durably. Nothing but markSent takes an item out of the outbox
  // on its own: a rejected item stays, as it was typed, until it is corrected or discarded.
  function addItem(item) {
    item.v = ITEM_FORMAT;
    item.status = "waiting";
    item.attempts = 0;
    item.last_error = null;
    return run(["outbox"], "readwrite", function (tx, done) {
      var req = tx.objectStore("outbox").put(item);
      req.onsuccess = function () { done(req.result); };
    }, true).then(function (seq) { notify(); return seq; });
  }

  // Changes to a stored item need no flush of their own: if one is lost, the item is sent once
  // more and the node answers from its idempotency key.
  function putItem(item) {
    return run(["outbox"], "readwrite", function (tx) { tx.objectStore("outbox").put(item); });
  }

  function listItems() {
    return getAll("outbox").then(function (items) {
      return items.map(upgradeItem).sort(function (a, b) { return a.seq - b.seq; });
    });
  }

  function getItem(seq) {
    return getOne("outbox", Number(seq)).then(function (item) { return item && upgradeItem(item); });
  }

  function deleteItem(seq) {
    return run(["outbox"], "readwrite", function (tx) { tx.objectStore("outbox").delete(Number(seq)); }, true)
      .then(notify);
  }

  function listSent(user) {
    return getAll("sent").then(function (rows) {
      return rows.filter(function (r) { return !user || r.user === user; })
        .sort(function (a, b) { return b.sent_at - a.sent_at; });
    });
  }

  // Accepted: out of the outbox, into the recent list, last send time: one transaction.
  function markSent(item, result) {
    var now = Date.now();
    return run(["outbox", "sent", "meta"], "readwrite", function (tx) {
      tx.objectStore("outbox").delete(item.seq);
      tx.objectStore("sent").put({
        key: item.key, kind: item.kind, user: item.user, title: item.title,
        created_at: item.created_at, sent_at: now, id: result.id || null, url: result.url || null
      });
      tx.objectStore("meta").put({ k: "lastSent:" + item.user, v: now });
      var index = tx.objectStore("sent").index("sent_at");
      var count = index.count();
      count.onsuccess = function () {
        var extra = count.result - SENT_KEEP;
        if (extra <= 0) return;
        index.openCursor().onsuccess = function (event) {
          var cursor = event.target.result;
          if (cursor && extra-- > 0) { cursor.delete(); cursor.continue(); }
        };
      };
    });
  }

  function markRejected(item, result) {
    item.status = "rejected";
    item.last_error = result;
    item.rejected_at = Date.now();
    return putItem(item);
  }

  // ---- talking to the node ----

  function fetchWithTimeout(url, options, ms) {
    var ctrl = typeof g.AbortController === "function" ? new g.AbortController() : null;
    var timer = null;
    if (ctrl) {
      options.signal = ctrl.signal;
      timer = setTimeout(function () { ctrl.abort(); }, ms);
    }
    return g.fetch(url, options).then(function (resp) {
      clearTimeout(timer);
      return resp;
    }, function (err) {
      clearTimeout(timer);
      throw err;
    });
  }

  // A real request with a short timeout (navigator.onLine says nothing about the node).
  function ping(cfg) {
    return fetchWithTimeout(cfg.ping, {
      cache: "no-store", credentials: "same-origin", headers: { Accept: "application/json" }
    }, cfg.probeTimeoutMs || 3000).then(function (resp) {
      if (!resp.ok) throw new Error("node answered " + resp.status);
      return resp.json();
    }).then(function (info) {
      return setMeta("reach", { ok: true, at: Date.now(), user: info.user }).then(function () { return info; });
    }, function (err) {
      return setMeta("reach", { ok: false, at: Date.now() }).then(function () { throw err; });
    });
  }

  function buildBody(item, csrf) {
    var body = new FormData();
    item.fields.forEach(function (pair) {
      var name = pair[0];
      var value = pair[1];
      if (name === "csrf_token" || name === "idempotency_key") return;
      if (value && typeof value === "object" && typeof value.size === "number") {
        body.append(name, value, pair[2] || value.name || "file");
      } else {
        body.append(name, value == null ? "" : String(value));
      }
    });
    body.append("idempotency_key", item.key);
    if (csrf) body.append("csrf_token", csrf);
    return body;
  }

  function classify(resp) {
    var json = (resp.headers.get("content-type") || "").indexOf("json") >= 0;
    return (json ? resp.json().catch(function () { return null; }) : Promise.resolve(null)).then(function (data) {
      var error = (data && data.error) || {};
      var path = resp.url ? new URL(resp.url).pathname : "";
      if (resp.ok && data && data.id) return { outcome: "accepted", id: data.id, url: data.url, status: resp.status };
      if (resp.redirected && /\/auth\/login/.test(path)) return { outcome: "auth" };
      if (resp.ok && resp.redirected) return { outcome: "accepted", url: path, status: resp.status };
      if (resp.status === 401) return { outcome: "auth" };
      if (resp.status === 400 && error.code === "csrf_failed") return { outcome: "csrf" };
      if (resp.status >= 500 || resp.status === 408 || resp.status === 429) {
        return { outcome: "retry", status: resp.status, code: error.code || "http_" + resp.status, message: error.message || "" };
      }
      return {
        outcome: "rejected", status: resp.status, code: error.code || "http_" + resp.status,
        message: error.message || "", fields: (error.details && error.details.fields) || {},
        // The checkbox the node asks to be ticked to go ahead (e.g. above the promise).
        confirm: (error.details && error.details.confirm) || null
      };
    });
  }

  function send(item, csrf, cfg) {
    return fetchWithTimeout(item.url, {
      method: "POST", body: buildBody(item, csrf), credentials: "same-origin", cache: "no-store",
      headers: { Accept: "application/json", "X-CSRFToken": csrf || "" }
    }, cfg.sendTimeoutMs || 20000).then(classify, function (err) {
      return { outcome: "unreachable", message: String(err) };
    });
  }

  // ---- items that name a record made offline ----

  var UUID_RE = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/gi;

  // The id the tablet gave the record this item creates (a family, a draft), if any. Items
  // stored before `record` existed carry it only in their fields.
  function recordOf(item) {
    if (item.record) return String(item.record).toLowerCase();
    var pair = (item.fields || []).filter(function (p) { return p[0] === "record_id" && p[1]; })[0];
    return pair ? String(pair[1]).toLowerCase() : null;
  }

  // Every record id the item names: in its address (/agreements/<id>/sign) and its fields
  // (family_id, agreement_id...), except its own.
  function namedIds(item) {
    var own = recordOf(item);
    var text = [item.url || ""];
    (item.fields || []).forEach(function (p) {
      if (p[0] !== "record_id" && p[0] !== "idempotency_key" && typeof p[1] === "string") text.push(p[1]);
    });
    var ids = (text.join(" ").match(UUID_RE) || []).map(function (id) { return id.toLowerCase(); });
    return ids.filter(function (id, i) { return id !== own && ids.indexOf(id) === i; });
  }

  // The item (still on the tablet, of any user) that makes a record this one names: this one
  // waits for it. The node cannot take a draft before its family, or a signature before its
  // draft; a refused family holds its agreement here, kept, never dropped.
  function blockerOf(item, pending) {
    var ids = namedIds(item);
    for (var i = 0; i < ids.length; i++) {
      var other = pending[ids[i]];
      if (other && other.seq !== item.seq) return other;
    }
    return null;
  }

  function withLock(fn) {
    if (g.navigator && g.navigator.locks && g.navigator.locks.request) {
      return g.navigator.locks.request("fieldapp-outbox", fn);
    }
    return fn();
  }

  // Send, in order, the waiting items of the user the node's session belongs to. Items of other
  // users wait for them; an expired session leaves everything waiting. Each item ends accepted
  // (moved to "sent") or rejected (kept, with the reason); a network failure or a server error
  // stops the round so the order holds.
  function replay(cfg) {
    return withLock(function () { return replayLocked(cfg); }).then(function (summary) {
      notify();
      return summary;
    });
  }

  function replayLocked(cfg) {
    var summary = { reachable: false, user: null, version: null, accepted: [], rejected: [], held: [], results: {}, authLost: false };
    return ping(cfg).then(function (info) {
      summary.reachable = true;
      summary.user = info.user || null;
      summary.version = info.version || null;
      var csrf = info.csrf;
      if (!info.user) { summary.authLost = true; return summary; }
      return Promise.all([listItems(), getMeta("pendingLogout")]).then(function (r) {
        var items = r[0];
        // Logged out on the tablet while the node was away: that session is over, even if the
        // node has not heard yet; nothing is sent under it.
        if (r[1]) { summary.authLost = true; return summary; }
        var mine = items.filter(function (i) { return i.status === "waiting" && i.user === info.user; });
        var pending = {};
        items.forEach(function (i) { var r = recordOf(i); if (r) pending[r] = i; });
        summary.held = [];
        var index = 0;
        var csrfRetried = false;
        function next() {
          if (index >= mine.length) return summary;
          var item = mine[index];
          var blocker = blockerOf(item, pending);
          if (blocker) {
            // Held, not sent: after the item it needs, in order; the outbox page says why.
            item.held = { seq: blocker.seq, kind: blocker.kind, title: blocker.title || "", status: blocker.status };
            summary.held.push(item.seq);
            index += 1;
            return putItem(item).then(next);
          }
          if (item.held) item.held = null;
          return send(item, csrf, cfg).then(function (res) {
            if (res.outcome === "csrf" && !csrfRetried) {
              csrfRetried = true;
              return ping(cfg).then(function (again) {
                if (again.user !== item.user) { summary.authLost = true; return summary; }
                csrf = again.csrf;
                return next();
              }, function () { summary.reachable = false; return summary; });
            }
            csrfRetried = false;
            summary.results[item.seq] = res;
            item.last_attempt_at = Date.now();
            if (res.outcome === "accepted") {
              summary.accepted.push(item.seq);
              if (recordOf(item)) delete pending[recordOf(item)];
              index += 1;
              return markSent(item, res).then(next);
            }
            if (res.outcome === "rejected") {
              summary.rejected.push(item.seq);
              index += 1;
              return markRejected(item, res).then(next);
            }
            if (res.outcome === "retry") {
              item.attempts = (item.attempts || 0) + 1;
              item.last_error = res;
              if (item.attempts >= MAX_SERVER_ERRORS) {
                summary.rejected.push(item.seq);
                index += 1;
                return markRejected(item, res).then(next);
              }
              return putItem(item).then(function () { return summary; });
            }
            if (res.outcome === "unreachable") summary.reachable = false;
            if (res.outcome === "auth" || res.outcome === "csrf") summary.authLost = true;
            return summary;
          });
        }
        return next();
      });
    }, function () { return summary; });
  }

  g.FieldappOutbox = {
    ITEM_FORMAT: ITEM_FORMAT,
    REF_STORES: REF_STORES,
    run: run,
    getAll: getAll,
    getOne: getOne,
    newKey: newKey,
    addItem: addItem,
    putItem: putItem,
    getItem: getItem,
    listItems: listItems,
    deleteItem: deleteItem,
    listSent: listSent,
    replay: replay,
    ping: ping,
    recordOf: recordOf,
    blockerOf: blockerOf,
    fetchWithTimeout: fetchWithTimeout,
    getMeta: getMeta,
    setMeta: setMeta,
    notify: notify
  };
})(self);
