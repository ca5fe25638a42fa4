/* fieldapp offline store, part 2 (after outbox-core.js): reference data of the user's scope
   (families, agreements and their commitments, communities, catalogues) for search and forms,
   and the page cache, one per user and only for the user on the tablet. */
(function (g) {
  "use strict";

  var Core = g.FieldappOutbox;
  var run = Core.run;
  var getAll = Core.getAll;
  var getOne = Core.getOne;
  var getMeta = Core.getMeta;
  var setMeta = Core.setMeta;
  var fetchWithTimeout = Core.fetchWithTimeout;
  var REF_STORES = Core.REF_STORES;
  var PAGES_PREFIX = "fieldapp-pages-";
  var PAGES_KEEP = 200;
  var USER_HEADER = "X-Fieldapp-User";
  var TRANSIENT_HEADER = "X-Fieldapp-Transient";
  var familyCache = null;

  // ---- reference data ----

  function fetchJson(url, cfg) {
    return fetchWithTimeout(url, {
      cache: "no-store", credentials: "same-origin", headers: { Accept: "application/json" }
    }, cfg.sendTimeoutMs || 20000).then(function (resp) {
      if (!resp.ok) throw new Error("HTTP " + resp.status + " for " + url);
      return resp.json();
    });
  }

  function fetchDataset(cfg, name) {
    var rows = [];
    function page(after) {
      var url = cfg.data + encodeURIComponent(name) + (after ? "?after=" + encodeURIComponent(after) : "");
      return fetchJson(url, cfg).then(function (body) {
        body.rows.forEach(function (row) {
          var obj = {};
          body.columns.forEach(function (col, i) { obj[col] = row[i]; });
          rows.push(obj);
        });
        return body.next ? page(body.next) : rows;
      });
    }
    return page(null);
  }

  function replaceDataset(name, rows, stamp) {
    return run([name, "meta"], "readwrite", function (tx) {
      var store = tx.objectStore(name);
      store.clear();
      rows.forEach(function (row) { store.put(row); });
      tx.objectStore("meta").put({ k: "ref:" + name, v: stamp });
    });
  }

  // Fetch the datasets whose stamp changed (or that belong to another user) and replace them.
  function refreshRef(cfg) {
    return fetchJson(cfg.data, cfg).then(function (index) {
      var names = Object.keys(index.datasets).filter(function (n) { return REF_STORES.indexOf(n) >= 0; });
      var changed = 0;
      return names.reduce(function (chain, name) {
        return chain.then(function () {
          return getMeta("ref:" + name).then(function (have) {
            var want = index.datasets[name];
            if (have && have.stamp === want.stamp && have.user === index.user) return;
            return fetchDataset(cfg, name).then(function (rows) {
              changed += 1;
              return replaceDataset(name, rows, { stamp: want.stamp, user: index.user, count: rows.length, at: Date.now() });
            });
          });
        });
      }, Promise.resolve()).then(function () {
        if (changed) familyCache = null;
        return setMeta("refUser", index.user).then(function () { return { changed: changed, user: index.user }; });
      });
    });
  }

  function clearRef() {
    familyCache = null;
    return run(REF_STORES.concat(["meta"]), "readwrite", function (tx) {
      REF_STORES.forEach(function (name) {
        tx.objectStore(name).clear();
        tx.objectStore("meta").delete("ref:" + name);
      });
      tx.objectStore("meta").delete("refUser");
    });
  }

  function refInfo() {
    return getMeta("ref:families");
  }

  function fold(text) {
    return (text == null ? "" : String(text)).normalize("NFD").replace(/[\u0300-\u036f]/g, "").toLowerCase();
  }

  function families() {
    if (familyCache) return familyCache;
    familyCache = getAll("families").then(function (rows) {
      rows.forEach(function (f) {
        f.name = f.head_given_names + " " + f.head_surname;
        f._hay = fold([f.code, f.head_given_names, f.head_surname, f.dni || ""].join(" "));
      });
      rows.sort(function (a, b) {
        return fold(a.head_surname + " " + a.head_given_names).localeCompare(fold(b.head_surname + " " + b.head_given_names));
      });
      return rows;
    });
    return familyCache;
  }

  function fieldValue(item, name) {
    var pair = (item.fields || []).filter(function (p) { return p[0] === name; })[0];
    return pair ? pair[1] : "";
  }

  // Families registered on this tablet by `user` and still in the outbox (waiting or refused),
  // under the id the tablet gave them: a draft or a visit can name one before the node knows it
  // (the item naming it waits for it; see blockerOf in outbox-core.js).
  function pendingFamilies(user) {
    if (!user) return Promise.resolve([]);
    return Core.listItems().then(function (items) {
      return items.filter(function (i) { return i.kind === "family" && i.user === user && Core.recordOf(i); })
        .map(function (i) {
          var f = {
            id: Core.recordOf(i), code: "", pending: true, seq: i.seq,
            head_given_names: String(fieldValue(i, "head_given_names") || ""),
            head_surname: String(fieldValue(i, "head_surname") || ""),
            dni: String(fieldValue(i, "dni") || "") || null,
            community_id: String(fieldValue(i, "community_id") || ""), status: "active"
          };
          f.name = f.head_given_names + " " + f.head_surname;
          f._hay = fold([f.head_given_names, f.head_surname, f.dni || ""].join(" "));
          return f;
        });
    });
  }

  function searchFamilies(q, limit, user) {
    var terms = fold(q).split(/\s+/).filter(Boolean);
    return Promise.all([pendingFamilies(user), families()]).then(function (r) {
      var rows = r[0].concat(r[1]);
      var hits = rows.filter(function (f) {
        return terms.every(function (t) { return f._hay.indexOf(t) >= 0; });
      });
      return limit ? hits.slice(0, limit) : hits;
    });
  }

  function getFamily(id, user) {
    return getOne("families", id).then(function (f) {
      if (f || !user) return f;
      return pendingFamilies(user).then(function (rows) {
        return rows.filter(function (p) { return p.id === String(id).toLowerCase(); })[0];
      });
    });
  }
  function getCommunity(id) { return getOne("communities", id); }
  function familyAgreements(familyId) { return getAll("agreements", "family_id", familyId); }
  function agreementCommitments(agreementId) {
    return getAll("agreement_commitments", "agreement_id", agreementId).then(function (rows) {
      return rows.sort(function (a, b) { return a.position - b.position; });
    });
  }

  function findFamilyByCode(code) {
    var wanted = String(code || "").trim().toUpperCase();
    return getAll("families", "code", wanted).then(function (rows) {
      if (rows.length) return rows[0];
      if (/^\d{8}$/.test(wanted)) return getAll("families", "dni", wanted).then(function (r) { return r[0]; });
      return undefined;
    });
  }

  // ---- the page cache: one cache per user, and only the user logged in on the tablet ----

  function pagesCacheName(user) { return PAGES_PREFIX + encodeURIComponent(user); }

  function clearPages(exceptUser) {
    if (!g.caches) return Promise.resolve();
    var keep = exceptUser ? pagesCacheName(exceptUser) : null;
    return g.caches.keys().then(function (names) {
      return Promise.all(names.filter(function (n) {
        return n.indexOf(PAGES_PREFIX) === 0 && n !== keep;
      }).map(function (n) { return g.caches.delete(n); }));
    });
  }

  // The tablet now belongs to `user`: pages and reference data of anyone else go.
  function adoptUser(user) {
    return getMeta("pagesUser").then(function (previous) {
      if (previous === user) return false;
      return clearPages(user).then(function () { return getMeta("refUser"); }).then(function (refUser) {
        return refUser && refUser !== user ? clearRef() : null;
      }).then(function () { return setMeta("pagesUser", user); }).then(function () { return true; });
    });
  }

  // Every logout starts a new "epoch" of the page cache. A page fetched before the logout and
  // answered after it (the pages stored at login, a navigation in flight) carries the epoch it
  // started in and is not kept in a later one: the logged-out user's pages do not come back.
  function pagesEpoch() {
    return getMeta("pagesEpoch").then(function (e) { return e || 0; }, function () { return 0; });
  }

  // Logout: the user's pages and reference data go; the outbox stays (it is sent later).
  function forgetUser() {
    return setMeta("pagesEpoch", Date.now()).then(function () { return clearPages(null); })
      .then(clearRef).then(function () { return setMeta("pagesUser", null); });
  }

  // `epoch`: the cache's epoch when the request started (pagesEpoch); left out, the current one.
  function keepPage(url, resp, epoch) {
    var user = resp.headers.get(USER_HEADER);
    var type = resp.headers.get("content-type") || "";
    var control = resp.headers.get("cache-control") || "";
    if (!user || resp.status !== 200 || resp.redirected || type.indexOf("text/html") < 0 ||
        control.indexOf("no-store") >= 0 || resp.headers.get(TRANSIENT_HEADER)) {
      return Promise.resolve(false);
    }
    var started = epoch == null ? pagesEpoch() : Promise.resolve(epoch);
    var since;
    function current() {
      return pagesEpoch().then(function (now) { return now === since; });
    }
    return started.then(function (e) {
      since = e;
      return current();
    }).then(function (ok) {
      if (!ok) return false;
      return adoptUser(user).then(function () { return g.caches.open(pagesCacheName(user)); }).then(function (cache) {
        return cache.put(url, resp).then(function () { return cache.keys(); }).then(function (keys) {
          var extra = keys.length - PAGES_KEEP;
          return Promise.all(keys.slice(0, Math.max(extra, 0)).map(function (k) { return cache.delete(k); }));
        });
      }).then(current).then(function (still) {
        if (still) return true;
        // A logout came while this page was being put: what the put brought back goes (that
        // user's cache, and the tablet no longer belongs to them); nobody else's pages.
        return g.caches.delete(pagesCacheName(user)).then(function () {
          return getMeta("pagesUser");
        }).then(function (owner) {
          return owner === user ? setMeta("pagesUser", null) : null;
        }).then(function () { return false; });
      });
    });
  }

  function cachedPage(url) {
    return getMeta("pagesUser").then(function (user) {
      if (!user || !g.caches) return null;
      return g.caches.open(pagesCacheName(user)).then(function (cache) {
        return cache.match(url).then(function (hit) {
          var parsed = new URL(url);
          if (hit || !parsed.search) return hit || null;
          // /deliveries/new?family=... opens the stored /deliveries/new; the page reads the query.
          return cache.match(parsed.origin + parsed.pathname).then(function (h) { return h || null; });
        });
      });
    }).catch(function () { return null; });
  }

  // Store the field pages for `user` (after login, and again now and then when online).
  function warmPages(user, urls) {
    return pagesEpoch().then(function (epoch) {
      return urls.reduce(function (chain, url) {
        return chain.then(function (stored) {
          return g.fetch(url, { credentials: "same-origin", cache: "no-store" }).then(function (resp) {
            if (resp.headers.get(USER_HEADER) !== user) return stored;
            return keepPage(new URL(url, g.location.href).href, resp, epoch).then(function (ok) { return stored + (ok ? 1 : 0); });
          }, function () { return stored; });
        });
      }, Promise.resolve(0));
    });
  }

  var extra = {
    refreshRef: refreshRef,
    clearRef: clearRef,
    refInfo: refInfo,
    searchFamilies: searchFamilies,
    pendingFamilies: pendingFamilies,
    fold: fold,
    getFamily: getFamily,
    getCommunity: getCommunity,
    familyAgreements: familyAgreements,
    agreementCommitments: agreementCommitments,
    findFamilyByCode: findFamilyByCode,
    pagesCacheName: pagesCacheName,
    adoptUser: adoptUser,
    forgetUser: forgetUser,
    pagesEpoch: pagesEpoch,
    keepPage: keepPage,
    cachedPage: cachedPage,
    warmPages: warmPages
  };
  Object.keys(extra).forEach(function (name) { Core[name] = extra[name]; });
})(self);
