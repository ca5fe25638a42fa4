/* Capturing a plot's boundary on the tablet (templates/plots/form.html), offline like any form:
   walking it with the GPS (watchPosition; a point is kept only when its accuracy is within the
   page's threshold, and its accuracy is stored with it), or tapping "add a corner" at each
   corner. The points go into the form's boundary field as [lon, lat] pairs (GeoJSON's order)
   and their accuracies into the hidden field; the node checks, closes and measures the ring. */
(function () {
  "use strict";

  var box = document.querySelector(".boundary-capture");
  if (!box) return;
  var form = box.closest("form");
  var field = form.querySelector("textarea[name=boundary]");
  var accField = form.querySelector("input[name=accuracies]");
  var methodField = form.querySelector("input[name=method]");
  var status = box.querySelector("[data-walk=status]");
  var startBtn = box.querySelector("[data-walk=start]");
  var stopBtn = box.querySelector("[data-walk=stop]");
  var cornerBtn = box.querySelector("[data-walk=corner]");
  var clearBtn = box.querySelector("[data-walk=clear]");
  var threshold = Number(box.dataset.walkAccuracy || 15);
  var cfgNode = document.getElementById("pwa-config");
  var S = cfgNode ? (JSON.parse(cfgNode.dataset.config).strings || {}) : {};
  var points = [];
  var accuracies = [];
  var dropped = 0;
  var watchId = null;

  function t(key, vars) {
    var text = S[key] || key;
    Object.keys(vars || {}).forEach(function (k) { text = text.split("{" + k + "}").join(vars[k]); });
    return text;
  }

  function write(method) {
    field.value = points.length ? JSON.stringify(points) : "";
    accField.value = points.length ? JSON.stringify(accuracies) : "";
    methodField.value = method;
    form.dataset.dirty = "1";
    status.textContent = t("walk_points", { n: points.length, dropped: dropped, m: threshold });
    box.dataset.points = String(points.length);
  }

  function keep(position, method) {
    var c = position.coords;
    if (c.accuracy > threshold) { dropped += 1; write(method); return; }
    var point = [Math.round(c.longitude * 1e7) / 1e7, Math.round(c.latitude * 1e7) / 1e7];
    var last = points[points.length - 1];
    if (last && last[0] === point[0] && last[1] === point[1]) return;  // standing still
    points.push(point);
    accuracies.push(Math.round(c.accuracy * 10) / 10);
    write(method);
  }

  function noGps() {
    status.textContent = t("walk_no_gps");
    startBtn.hidden = false;
    stopBtn.hidden = true;
  }

  // While walking, only a refusal ends the walk: no fix yet, or none for a while under the
  // trees, is waited out.
  function walkError(error) {
    if (error && error.code === 1) { stop(); noGps(); return; }
    status.textContent = t("walk_waiting");
  }

  function stop() {
    if (watchId !== null) navigator.geolocation.clearWatch(watchId);
    watchId = null;
    startBtn.hidden = false;
    stopBtn.hidden = true;
    box.dataset.walking = "";
  }

  startBtn.addEventListener("click", function () {
    if (!navigator.geolocation) { noGps(); return; }
    points = [];
    accuracies = [];
    dropped = 0;
    status.textContent = t("walk_waiting");
    startBtn.hidden = true;
    stopBtn.hidden = false;
    box.dataset.walking = "1";
    watchId = navigator.geolocation.watchPosition(function (p) { keep(p, "walk"); }, walkError, {
      enableHighAccuracy: true, maximumAge: 0
    });
  });
  stopBtn.addEventListener("click", stop);
  cornerBtn.addEventListener("click", function () {
    if (!navigator.geolocation) { noGps(); return; }
    if (watchId !== null) stop();
    status.textContent = t("walk_waiting");
    navigator.geolocation.getCurrentPosition(function (p) { keep(p, "vertices"); }, noGps, {
      enableHighAccuracy: true, maximumAge: 0, timeout: 30000
    });
  });
  clearBtn.addEventListener("click", function () {
    stop();
    points = [];
    accuracies = [];
    dropped = 0;
    write("geojson");
    status.textContent = "";
  });
  // Typed or pasted GeoJSON is sent as it is.
  field.addEventListener("input", function () {
    points = [];
    accuracies = [];
    accField.value = "";
    methodField.value = "geojson";
  });
  form.addEventListener("submit", stop);
})();
