/* fieldapp photos on the tablet: a photo chosen or taken with the camera is made small before
   it is stored or sent (at most 1600 px on its long side, JPEG, about 300 KB at most), which
   also drops its EXIF (camera, GPS): the canvas keeps the pixels only. The person is told when
   the tablet's storage is nearly full. Photos taken with a create form (family, delivery,
   visit) are queued in the outbox after the form, each as its own item that waits for it. */
(function (g) {
  "use strict";

  var MAX_SIDE = 1600;
  var MAX_BYTES = 300 * 1024;
  var FIRST_QUALITY = 0.8;
  // Warn when less than this would be left on the tablet once the photo is stored.
  var RESERVE_BYTES = 50 * 1024 * 1024;

  function say(input, text, kind) {
    var field = input.closest(".field");
    var box = (field && field.querySelector("[data-photo-status]")) ||
      (input.form && input.form.querySelector("[data-photo-status]"));
    if (!box) return;
    box.textContent = text;
    box.className = "hint photo-status" + (kind ? " photo-" + kind : "");
  }

  function message(input, name, vars) {
    var text = input.getAttribute("data-msg-" + name) || "";
    Object.keys(vars || {}).forEach(function (k) { text = text.split("{" + k + "}").join(vars[k]); });
    return text;
  }

  // JPEG at `quality`, lowered step by step while the file is past MAX_BYTES; a photo still
  // too large at 0.5 (much fine detail) is drawn smaller and tried again.
  function encode(canvas, quality) {
    return new Promise(function (resolve) { canvas.toBlob(resolve, "image/jpeg", quality); })
      .then(function (blob) {
        if (!blob || blob.size <= MAX_BYTES) return blob;
        if (quality > 0.55) return encode(canvas, quality - 0.1);
        return encode(shrink(canvas, 0.8), 0.7);
      });
  }

  function shrink(canvas, factor) {
    var smaller = document.createElement("canvas");
    smaller.width = Math.max(1, Math.round(canvas.width * factor));
    smaller.height = Math.max(1, Math.round(canvas.height * factor));
    smaller.getContext("2d").drawImage(canvas, 0, 0, smaller.width, smaller.height);
    return smaller;
  }

  // A smaller JPEG of the photo, upright (its EXIF orientation applied), without its EXIF.
  function reduce(file) {
    return g.createImageBitmap(file, { imageOrientation: "from-image" }).then(function (bitmap) {
      var scale = Math.min(1, MAX_SIDE / Math.max(bitmap.width, bitmap.height));
      var canvas = document.createElement("canvas");
      canvas.width = Math.max(1, Math.round(bitmap.width * scale));
      canvas.height = Math.max(1, Math.round(bitmap.height * scale));
      canvas.getContext("2d").drawImage(bitmap, 0, 0, canvas.width, canvas.height);
      if (bitmap.close) bitmap.close();
      return encode(canvas, FIRST_QUALITY);
    });
  }

  function storageLeft(extra) {
    if (!g.navigator.storage || !g.navigator.storage.estimate) return Promise.resolve(null);
    return g.navigator.storage.estimate().then(function (e) {
      return typeof e.quota === "number" ? e.quota - (e.usage || 0) - extra : null;
    }, function () { return null; });
  }

  function prepare(input) {
    var files = Array.prototype.slice.call(input.files || []);
    input.dataset.photoReady = "";
    input.fieldappPhotos = [];
    if (!files.length) { say(input, ""); return Promise.resolve(); }
    say(input, message(input, "working"));
    return Promise.all(files.map(function (file) {
      return reduce(file).then(function (blob) {
        return { blob: blob, taken_at: new Date(file.lastModified || Date.now()).toISOString() };
      });
    })).then(function (photos) {
      var total = photos.reduce(function (n, p) { return n + p.blob.size; }, 0);
      input.fieldappPhotos = photos;
      if (input.name) {
        // A form that sends the file itself (a record's photo strip): the small one instead.
        var dt = new DataTransfer();
        photos.forEach(function (p, i) {
          dt.items.add(new File([p.blob], "photo-" + (i + 1) + ".jpg", { type: "image/jpeg" }));
        });
        input.files = dt.files;
      }
      say(input, message(input, "ready", { n: photos.length, kb: Math.round(total / 1024) }), "ok");
      return storageLeft(total).then(function (left) {
        if (left !== null && left < RESERVE_BYTES) say(input, message(input, "full"), "warning");
        input.dataset.photoReady = "1";
      });
    }, function () {
      input.value = "";
      say(input, message(input, "failed"), "error");
    });
  }

  // The photos of a create form's [data-photo] inputs (no name: never sent with the form).
  function take(form) {
    var photos = [];
    var keep = form.querySelector("[data-photo-keep]");  // time taken kept only by choice
    form.querySelectorAll("input[type=file][data-photo]:not([name])").forEach(function (input) {
      // Hidden by the form's choices (the sign form's scans when it was signed on the pad).
      if (input.closest("[hidden]")) return;
      var caption = form.querySelector("[data-photo-caption]");
      (input.fieldappPhotos || []).forEach(function (p) {
        photos.push({ blob: p.blob, taken_at: keep && keep.checked ? p.taken_at : "",
          owner: input.dataset.photoOwner,
          kind: input.dataset.photoKind || "photo", caption: caption ? caption.value : "" });
      });
      // Taken once: a corrected form sent again does not queue them twice.
      if ((input.fieldappPhotos || []).length) say(input, message(input, "queued"), "ok");
      input.fieldappPhotos = [];
      input.value = "";
    });
    return photos;
  }

  // Queue each photo after the form's item: addressed to the record the tablet named (a
  // family's id) or to the record the form's key will make, and waiting for that item.
  function queue(photos, item, Core) {
    var chain = Promise.resolve();
    photos.forEach(function (p) {
      var named = item.record && item.record !== item.key;
      var url = named ? "/media/" + p.owner + "/" + item.record : "/media/by-key/" + item.key;
      chain = chain.then(function () {
        return Core.addItem({
          kind: "photo", record: null, user: item.user, url: url, key: Core.newKey(),
          fields: [["file", p.blob, "photo.jpg"], ["kind", p.kind], ["caption", p.caption || ""],
            ["taken_at", p.taken_at]],
          title: item.title, page: item.page, created_at: Date.now(), app_version: item.app_version
        });
      });
    });
    return chain;
  }

  function init() {
    document.querySelectorAll("input[type=file][data-photo]").forEach(function (input) {
      input.addEventListener("change", function () { prepare(input); });
    });
  }

  g.FieldappPhotos = { take: take, queue: queue, reduce: reduce };
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})(self);
