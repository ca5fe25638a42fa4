/* fieldapp service worker. Served at /sw.js with `self.FIELDAPP = {...}` prepended by the app:
   the version (a digest of the app shell), the files to precache and a few URLs.
   - app shell (CSS, JS, icons, offline page, manifest): precached, cache-first, per version;
   - pages: network first with a short timeout, then the copy stored for the logged-in user,
     then the offline page; pages are stored per user and only for the user on the tablet;
   - POST: never cached; logout clears the user's pages and reference data (not the outbox);
   - Background Sync replays the outbox when the browser offers it. */
"use strict";

var CFG = self.FIELDAPP;
importScripts.apply(self, CFG.scripts);
var Core = self.FieldappOutbox;
var STATIC_CACHE = "fieldapp-static-" + CFG.version;
var PRECACHED = new Set(CFG.precache.map(function (u) { return new URL(u, self.location.href).pathname; }));

self.addEventListener("install", function (event) {
  // A new version waits until the page says "reload" (no form is lost mid-edit).
  event.waitUntil(caches.open(STATIC_CACHE).then(function (cache) {
    return cache.addAll(CFG.precache.map(function (url) {
      return new Request(url, { cache: "reload", credentials: "same-origin" });
    }));
  }));
});

self.addEventListener("activate", function (event) {
  event.waitUntil(caches.keys().then(function (names) {
    return Promise.all(names.filter(function (n) {
      return n.indexOf("fieldapp-static-") === 0 && n !== STATIC_CACHE;
    }).map(function (n) { return caches.delete(n); }));
  }).then(function () {
    return Core.setMeta("swVersion", CFG.version);
  }).then(function () { return self.clients.claim(); }));
});

self.addEventListener("message", function (event) {
  var data = event.data || {};
  if (data.type === "SKIP_WAITING") {
    self.skipWaiting();
  } else if (data.type === "CLAIM") {
    // A page that loaded while this worker was activating is left out of the claim made in
    // `activate`; it asks, and is taken (so it works offline without another reload).
    event.waitUntil(self.clients.claim());
  } else if (data.type === "VERSION" && event.ports && event.ports[0]) {
    event.ports[0].postMessage({ version: CFG.version });
  }
});

self.addEventListener("sync", function (event) {
  if (event.tag !== "fieldapp-outbox") return;
  event.waitUntil(Core.replay(CFG).then(function (summary) {
    // Rejecting makes the browser try again later, with its own back-off.
    if (!summary.reachable) throw new Error("the node does not answer");
  }));
});

function offlinePage() {
  return caches.open(STATIC_CACHE).then(function (cache) {
    return cache.match(CFG.offline);
  }).then(function (resp) {
    return resp || new Response("offline", { status: 503, headers: { "Content-Type": "text/plain" } });
  });
}

function cacheFirst(request) {
  return caches.open(STATIC_CACHE).then(function (cache) {
    return cache.match(request, { ignoreSearch: true }).then(function (hit) {
      return hit || fetch(request);
    });
  });
}

// Network first; after CFG.networkTimeoutMs the stored copy (if any) answers instead, while the
// network response still refreshes the store.
function page(event) {
  var request = event.request;
  var epoch = Core.pagesEpoch();  // read while the request is on its way, not after
  var network = fetch(request);
  event.waitUntil(network.then(function (resp) {
    var copy = resp.clone();  // now: the page's own copy is being read
    return epoch.then(function (e) { return Core.keepPage(request.url, copy, e); });
  }).catch(function () { return false; }));
  return new Promise(function (resolve) {
    var settled = false;
    function finish(resp) {
      if (!settled && resp) { settled = true; resolve(resp); }
    }
    var timer = setTimeout(function () {
      Core.cachedPage(request.url).then(finish);
    }, CFG.networkTimeoutMs);
    network.then(function (resp) {
      clearTimeout(timer);
      finish(resp);
    }, function () {
      clearTimeout(timer);
      Core.cachedPage(request.url).then(function (hit) {
        if (hit) finish(hit); else offlinePage().then(finish);
      });
    });
  });
}

function logout(request) {
  return Core.forgetUser().catch(function () { return null; }).then(function () {
    return fetch(request).then(function (resp) {
      return Core.setMeta("pendingLogout", false).then(function () { return resp; });
    }, function () {
      // The node does not answer: the tablet forgets the user now; the session on the node is
      // closed by the next page that opens with a connection.
      return Core.setMeta("pendingLogout", true).then(function () {
        return Response.redirect(CFG.offline + "?logged-out=1", 303);
      });
    });
  });
}

self.addEventListener("fetch", function (event) {
  var request = event.request;
  var url = new URL(request.url);
  if (url.origin !== self.location.origin) return;
  if (request.method !== "GET") {
    if (url.pathname === CFG.logout) {
      event.respondWith(logout(request));
    } else if (request.mode === "navigate") {
      // A plain form post (never cached); with no node, the offline page instead of an error.
      event.respondWith(fetch(request).catch(offlinePage));
    }
    return;
  }
  if (PRECACHED.has(url.pathname)) {
    event.respondWith(cacheFirst(request));
    return;
  }
  if (url.pathname === "/sw.js") return;
  if (CFG.noCache.some(function (prefix) { return url.pathname.indexOf(prefix) === 0; })) return;
  var accept = request.headers.get("Accept") || "";
  if (request.mode === "navigate" || accept.indexOf("text/html") >= 0) {
    event.respondWith(page(event));
  }
});
