/* Delivery form: choosing a benefit fills its unit and item name, unless the user typed them. */
(function () {
  "use strict";
  document.querySelectorAll("form.delivery-form").forEach(function (form) {
    var choice = form.querySelector("select[name=benefit_type_id]");
    var unit = form.querySelector("input[name=unit]");
    var item = form.querySelector("input[name=item]");
    if (!choice) { return; }
    var filled = { unit: unit ? unit.value : "", item: item ? item.value : "" };
    // A family chosen on the page (offline form): who receives is its head, unless typed.
    var receiver = form.querySelector("input[name=receiver_name]");
    var filledReceiver = receiver ? receiver.value : "";
    form.addEventListener("fieldapp:family", function (event) {
      if (!receiver || (receiver.value !== "" && receiver.value !== filledReceiver)) { return; }
      receiver.value = event.detail.head_given_names + " " + event.detail.head_surname;
      filledReceiver = receiver.value;
    });
    // An outbox item reopened to be corrected: what matches the chosen benefit counts as
    // filled in (another benefit replaces it), anything else as typed (kept).
    form.addEventListener("fieldapp:filled", function () {
      var option = choice.options[choice.selectedIndex];
      filled.unit = unit && option && unit.value === (option.getAttribute("data-unit") || "") ? unit.value : "";
      filled.item = item && option && item.value === (option.getAttribute("data-item") || "") ? item.value : "";
    });
    choice.addEventListener("change", function () {
      var option = choice.options[choice.selectedIndex];
      if (!option) { return; }
      if (unit && (unit.value === "" || unit.value === filled.unit)) {
        unit.value = option.getAttribute("data-unit") || "";
        filled.unit = unit.value;
      }
      if (item && (item.value === "" || item.value === filled.item)) {
        item.value = option.getAttribute("data-item") || "";
        filled.item = item.value;
      }
    });
  });
})();
