/* Find a family from its QR card: the camera with the browser's BarcodeDetector where there is
   one, else the vendored jsQR decoder (static/vendor/jsqr: Firefox, Safari before 17, Chromium
   on Linux have no BarcodeDetector), or the code typed by hand. Works with no connection (the
   families stored on the tablet; jsQR is precached with the app). */
(function () {
  "use strict";
  var P = window.fieldappPwa;
  var Core = window.FieldappOutbox;
  if (!P || !Core) return;
  var t = P.t;
  var UUID = /([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})/i;
  var errorBox = document.getElementById("scan-error");
  var status = document.getElementById("scan-status");
  var video = document.getElementById("scan-video");
  var startButton = document.getElementById("scan-start");
  var stopButton = document.getElementById("scan-stop");
  var stream = null;

  function fail(message) {
    errorBox.textContent = message;
    errorBox.hidden = false;
  }

  function openFamily(id) { location.assign("/families/" + id); }

  // A card may carry a link to the family's page (or any page of this app), a family id, a
  // family code (AM-K7Q-0042) or a DNI.
  function resolve(text) {
    var value = String(text || "").trim();
    errorBox.hidden = true;
    if (!value) return Promise.resolve();
    var url = null;
    try { url = /^https?:\/\//i.test(value) ? new URL(value) : null; } catch (e) { url = null; }
    if (url) {
      var onPath = /\/families\/([0-9a-f-]{36})/i.exec(url.pathname);
      if (onPath) { openFamily(onPath[1].toLowerCase()); return Promise.resolve(); }
      // A printed agreement's QR (central's /verify/<agreement>/<hash>): the agreement here.
      var verify = /\/verify\/([0-9a-f-]{36})(\/|$)/i.exec(url.pathname);
      if (verify) { location.assign("/agreements/" + verify[1].toLowerCase()); return Promise.resolve(); }
      if (url.origin === location.origin) { location.assign(url.pathname + url.search); return Promise.resolve(); }
      var code = url.searchParams.get("code") || url.searchParams.get("family");
      if (code) return resolve(code);
      fail(value);
      return Promise.resolve();
    }
    var id = UUID.exec(value);
    if (id) { openFamily(id[1].toLowerCase()); return Promise.resolve(); }
    return Core.findFamilyByCode(value).then(function (f) {
      if (f) openFamily(f.id); else fail(t("not_found_code", { code: value }));
    });
  }

  document.getElementById("scan-manual").addEventListener("submit", function (event) {
    event.preventDefault();
    resolve(this.elements.code.value);
  });

  function stop() {
    if (stream) stream.getTracks().forEach(function (track) { track.stop(); });
    stream = null;
    stopButton.hidden = true;
    startButton.hidden = false;
  }

  var camera = document.getElementById("scan-camera");
  var jsqrUrl = camera.getAttribute("data-jsqr");
  var frame = null;

  // The browser's own detector, wrapped: detect() gives the text of the QR codes in view.
  function nativeDetector() {
    var detector = new window.BarcodeDetector({ formats: ["qr_code"] });
    return Promise.resolve({
      detect: function () {
        return detector.detect(video).then(function (codes) {
          return (codes || []).map(function (c) { return c.rawValue; });
        });
      }
    });
  }

  function loadJsqr() {
    if (window.jsQR) return Promise.resolve(window.jsQR);
    return new Promise(function (resolve, reject) {
      var script = document.createElement("script");
      script.src = jsqrUrl;  // same origin (the CSP allows no other), precached for offline use
      script.onload = function () { if (window.jsQR) resolve(window.jsQR); else reject(new Error("jsQR")); };
      script.onerror = reject;
      document.head.appendChild(script);
    });
  }

  // jsQR on a video frame drawn (at most 640 pixels wide: enough for a card held in front of
  // the camera, and quick on an old tablet) into a canvas that never leaves the page.
  function jsqrDetector() {
    return loadJsqr().then(function (jsQR) {
      frame = frame || document.createElement("canvas");
      var ctx = frame.getContext("2d", { willReadFrequently: true });
      return {
        detect: function () {
          var w = video.videoWidth, h = video.videoHeight;
          if (!w || !h) return Promise.resolve([]);
          var scale = Math.min(1, 640 / w);
          frame.width = Math.round(w * scale);
          frame.height = Math.round(h * scale);
          ctx.drawImage(video, 0, 0, frame.width, frame.height);
          var pixels = ctx.getImageData(0, 0, frame.width, frame.height);
          var found = jsQR(pixels.data, pixels.width, pixels.height, { inversionAttempts: "dontInvert" });
          return Promise.resolve(found && found.data ? [found.data] : []);
        }
      };
    });
  }

  function makeDetector() {
    if ("BarcodeDetector" in window) {
      try { return nativeDetector(); } catch (e) { /* unsupported format: the fallback */ }
    }
    return jsqrDetector();
  }

  function start() {
    var detector;
    makeDetector().then(function (d) {
      detector = d;
      return navigator.mediaDevices.getUserMedia({ video: { facingMode: "environment" }, audio: false });
    }, function (e) { fail(t("no_detector")); throw e; }).then(function (s) {
      stream = s;
      video.srcObject = s;
      startButton.hidden = true;
      stopButton.hidden = false;
      status.textContent = t("scanning");
      return video.play();
    }).then(function loop() {
      if (!stream) return;
      detector.detect().then(function (codes) {
        if (codes && codes.length) { stop(); resolve(codes[0]); return; }
        setTimeout(loop, 250);
      }, function () { setTimeout(loop, 500); });
    }).catch(function () { stop(); if (detector) fail(t("camera_failed")); });
  }

  if (navigator.mediaDevices && navigator.mediaDevices.getUserMedia) {
    camera.hidden = false;
    startButton.addEventListener("click", start);
    stopButton.addEventListener("click", stop);
  } else {
    document.getElementById("scan-hint").textContent = t("no_detector");
  }
  window.addEventListener("pagehide", stop);
})();
