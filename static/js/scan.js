/* Find a family from its QR card: the camera with the browser's BarcodeDetector where there is
   one, or the code typed by hand. Works with no connection (the families stored on the tablet). */
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

  function start() {
    var detector;
    try { detector = new window.BarcodeDetector({ formats: ["qr_code"] }); } catch (e) { fail(t("no_detector")); return; }
    navigator.mediaDevices.getUserMedia({ video: { facingMode: "environment" }, audio: false }).then(function (s) {
      stream = s;
      video.srcObject = s;
      startButton.hidden = true;
      stopButton.hidden = false;
      status.textContent = t("scanning");
      return video.play();
    }).then(function loop() {
      if (!stream) return;
      detector.detect(video).then(function (codes) {
        if (codes && codes.length) { stop(); resolve(codes[0].rawValue); return; }
        setTimeout(loop, 250);
      }, function () { setTimeout(loop, 500); });
    }).catch(function () { stop(); fail(t("camera_failed")); });
  }

  if ("BarcodeDetector" in window && navigator.mediaDevices && navigator.mediaDevices.getUserMedia) {
    document.getElementById("scan-camera").hidden = false;
    startButton.addEventListener("click", start);
    stopButton.addEventListener("click", stop);
  } else {
    document.getElementById("scan-hint").textContent = t("no_detector");
  }
  window.addEventListener("pagehide", stop);
})();
