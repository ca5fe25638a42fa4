/* Signature pad: draw with a finger, a stylus or a mouse on a <canvas>; the drawing is kept as a
 * PNG data URL in the hidden field named by data-target, which the form posts (and the offline
 * outbox stores). No libraries; works on old Android Chrome (pointer events, touch fallback).
 *
 * Markup (templates/_cycle.html, signature_pad macro):
 *   <div class="sigpad" data-target="FIELD_ID"><canvas width="600" height="200"></canvas>
 *     <button type="button" class="sigpad-clear">Clear</button></div>
 *   <input type="hidden" id="FIELD_ID" name="...">
 */
(function () {
  "use strict";

  function setup(pad) {
    var canvas = pad.querySelector("canvas");
    var field = document.getElementById(pad.dataset.target);
    var clear = pad.querySelector(".sigpad-clear");
    if (!canvas || !field || !canvas.getContext) { return; }
    var ctx = canvas.getContext("2d");
    var drawing = false;
    var last = null;
    var inked = false;

    function blank() {
      ctx.fillStyle = "#ffffff";
      ctx.fillRect(0, 0, canvas.width, canvas.height);
      ctx.strokeStyle = "#111111";
      ctx.lineWidth = 3;
      ctx.lineCap = "round";
      ctx.lineJoin = "round";
      inked = false;
      pad.classList.remove("inked");
    }

    // The canvas keeps its own pixel size (600×200) whatever its size on screen.
    function point(clientX, clientY) {
      var box = canvas.getBoundingClientRect();
      return {
        x: (clientX - box.left) * (canvas.width / box.width),
        y: (clientY - box.top) * (canvas.height / box.height)
      };
    }

    function start(p) {
      drawing = true;
      last = p;
      ctx.beginPath();
      ctx.arc(p.x, p.y, ctx.lineWidth / 2, 0, 2 * Math.PI);
      ctx.fillStyle = "#111111";
      ctx.fill();
      inked = true;
    }

    function move(p) {
      if (!drawing) { return; }
      ctx.beginPath();
      ctx.moveTo(last.x, last.y);
      // A quadratic curve through the midpoint smooths a finger's jagged path.
      var mid = { x: (last.x + p.x) / 2, y: (last.y + p.y) / 2 };
      ctx.quadraticCurveTo(last.x, last.y, mid.x, mid.y);
      ctx.lineTo(p.x, p.y);
      ctx.stroke();
      last = p;
    }

    // A "Sign on the pad" left from the last send is stale once the person signs: it goes,
    // with the field's error mark (the server's page and the outbox's both put it there).
    function clearStaleError() {
      var box = pad.closest ? pad.closest(".field") : null;
      if (!box) { return; }
      box.querySelectorAll(".error").forEach(function (n) { n.remove(); });
      box.classList.remove("has-error");
      if (field.getAttribute("aria-invalid") === "true") { field.setAttribute("aria-invalid", "false"); }
      field.removeAttribute("aria-describedby");
    }

    function end() {
      if (!drawing) { return; }
      drawing = false;
      if (inked) {
        field.value = canvas.toDataURL("image/png");
        // When it was signed, by this tablet's clock: a form queued offline reaches the node
        // later, and the node dates the signature by this (within bounds, see the server).
        var drawnAt = field.form && field.form.elements.namedItem("drawn_at");
        if (drawnAt) { drawnAt.value = new Date().toISOString(); }
        pad.classList.add("inked");
        clearStaleError();
        field.dispatchEvent(new Event("change", { bubbles: true }));
      }
    }

    if (window.PointerEvent) {
      canvas.addEventListener("pointerdown", function (e) {
        if (e.button !== undefined && e.button > 0) { return; }
        e.preventDefault();
        if (canvas.setPointerCapture) { canvas.setPointerCapture(e.pointerId); }
        start(point(e.clientX, e.clientY));
      });
      canvas.addEventListener("pointermove", function (e) {
        if (!drawing) { return; }
        e.preventDefault();
        var events = e.getCoalescedEvents ? e.getCoalescedEvents() : [e];
        if (!events.length) { events = [e]; }
        for (var i = 0; i < events.length; i++) { move(point(events[i].clientX, events[i].clientY)); }
      });
      canvas.addEventListener("pointerup", end);
      canvas.addEventListener("pointercancel", end);
      canvas.addEventListener("pointerleave", end);
    } else {
      canvas.addEventListener("touchstart", function (e) {
        e.preventDefault();
        var t = e.changedTouches[0];
        start(point(t.clientX, t.clientY));
      }, { passive: false });
      canvas.addEventListener("touchmove", function (e) {
        e.preventDefault();
        var t = e.changedTouches[0];
        move(point(t.clientX, t.clientY));
      }, { passive: false });
      canvas.addEventListener("touchend", end);
      canvas.addEventListener("touchcancel", end);
      canvas.addEventListener("mousedown", function (e) { start(point(e.clientX, e.clientY)); });
      canvas.addEventListener("mousemove", function (e) { move(point(e.clientX, e.clientY)); });
      window.addEventListener("mouseup", end);
    }

    if (clear) {
      clear.addEventListener("click", function () {
        blank();
        field.value = "";
        field.dispatchEvent(new Event("change", { bubbles: true }));
      });
    }

    // The pad shows the field's signature: a form shown again after an error, or an outbox
    // item reopened to be corrected (its fields filled in after the page started).
    function load() {
      blank();
      var value = field.value;
      if (!value || value.indexOf("data:image/png;base64,") !== 0) { return; }
      var img = new Image();
      img.onload = function () {
        if (field.value !== value) { return; }  // signed again meanwhile
        ctx.drawImage(img, 0, 0, canvas.width, canvas.height);
        inked = true;
        pad.classList.add("inked");
      };
      img.src = value;
    }

    load();
    if (field.form) { field.form.addEventListener("fieldapp:filled", load); }
    pad.sigpad = { clear: function () { if (clear) { clear.click(); } }, load: load };
  }

  // "Signed on paper" / "thumbprint" hides the pads; the drawn mode shows them.
  function modeSwitch(form) {
    var radios = form.querySelectorAll("input[type=radio][data-mode-switch]");
    if (!radios.length) { return; }
    function apply() {
      var chosen = form.querySelector("input[type=radio][data-mode-switch]:checked");
      var mode = chosen ? chosen.value : "";
      form.querySelectorAll("[data-show-when]").forEach(function (el) {
        var wanted = el.getAttribute("data-show-when").split(" ");
        el.hidden = wanted.indexOf(mode) < 0;
      });
    }
    radios.forEach(function (r) { r.addEventListener("change", apply); });
    form.addEventListener("fieldapp:filled", apply);  // an outbox item reopened: its own mode
    apply();
  }

  document.querySelectorAll(".sigpad").forEach(setup);
  document.querySelectorAll("form").forEach(modeSwitch);
})();
