/* fieldapp: small progressive enhancements. No inline scripts (CSP), no libraries. */
(function () {
  "use strict";

  // "Use this tablet's location" fills the plot's latitude and longitude.
  document.querySelectorAll("button.geo").forEach(function (button) {
    button.addEventListener("click", function () {
      var lat = document.getElementById(button.dataset.geoLat);
      var lon = document.getElementById(button.dataset.geoLon);
      var label = button.textContent;
      if (!("geolocation" in navigator)) {
        button.textContent = button.dataset.msgFail;
        return;
      }
      button.disabled = true;
      button.textContent = button.dataset.msgWait;
      navigator.geolocation.getCurrentPosition(
        function (pos) {
          lat.value = pos.coords.latitude.toFixed(6);
          lon.value = pos.coords.longitude.toFixed(6);
          button.disabled = false;
          button.textContent = label;
        },
        function () {
          button.disabled = false;
          button.textContent = button.dataset.msgFail;
        },
        { enableHighAccuracy: true, timeout: 20000, maximumAge: 60000 }
      );
    });
  });

  // A form is sent once: a second tap while the first is on its way does nothing.
  document.querySelectorAll("form[method=post]").forEach(function (form) {
    form.addEventListener("submit", function (event) {
      if (form.dataset.sending === "1") { event.preventDefault(); return; }
      form.dataset.sending = "1";
      setTimeout(function () { form.dataset.sending = ""; }, 8000);
    });
  });
})();
