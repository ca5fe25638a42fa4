/* Attendance sheet: find a family fast (accents and case ignored) and count who is present.
 * Everything stays in the page; the form posts the ticked boxes as usual. */
(function () {
  "use strict";

  function fold(text) {
    return (text || "").normalize("NFD").replace(/[\u0300-\u036f]/g, "").toLowerCase();
  }

  document.querySelectorAll("input.family-filter").forEach(function (input) {
    var list = document.getElementById(input.dataset.list);
    if (!list) { return; }
    var items = Array.prototype.slice.call(list.querySelectorAll("li[data-search]"));
    var keys = items.map(function (li) { return fold(li.dataset.search); });
    var counter = document.querySelector(".present-count[data-list='" + input.dataset.list + "']");

    function filter() {
      var words = fold(input.value).split(/\s+/).filter(Boolean);
      for (var i = 0; i < items.length; i++) {
        var show = true;
        for (var w = 0; w < words.length && show; w++) { show = keys[i].indexOf(words[w]) >= 0; }
        items[i].hidden = !show;
      }
    }

    function count() {
      if (counter) { counter.textContent = list.querySelectorAll("input[type=checkbox]:checked").length; }
    }

    input.addEventListener("input", filter);
    // Enter in the search box ticks the only family left instead of sending the form.
    input.addEventListener("keydown", function (e) {
      if (e.key !== "Enter") { return; }
      e.preventDefault();
      var visible = items.filter(function (li) { return !li.hidden; });
      if (visible.length === 1) {
        var box = visible[0].querySelector("input[type=checkbox]");
        box.checked = true;
        count();
        input.value = "";
        filter();
      }
    });
    list.addEventListener("change", count);
    // Typing who came ticks the family.
    list.addEventListener("input", function (e) {
      if (e.target.classList.contains("attendee") && e.target.value) {
        var box = e.target.parentNode.querySelector("input[type=checkbox]");
        if (box && !box.checked) { box.checked = true; count(); }
      }
    });
    filter();
    count();
  });
})();
