/* The sign page of a draft made on this tablet (/agreements/sign?draft=<id>, stored for
   offline use): the draft is read from the outbox, its family from the stored families or the
   outbox, its commitments and benefits from the stored catalogues. The signature is queued at
   the draft's own sign address, after the draft (outbox-core.js holds it until the draft is
   accepted); the node checks everything again when it arrives. */
(function () {
  "use strict";
  var P = window.fieldappPwa;
  var Core = window.FieldappOutbox;
  var box = document.getElementById("offline-draft");
  var form = document.querySelector("form[data-offline-sign]");
  if (!P || !Core || !box || !form) return;
  var el = P.el;
  var locale = (document.documentElement.lang || "es").slice(0, 2);

  function values(item, name) {
    return item.fields.filter(function (p) { return p[0] === name; }).map(function (p) { return String(p[1]); });
  }

  function value(item, name) { return values(item, name)[0] || ""; }

  function day(iso) {
    if (!/^\d{4}-\d{2}-\d{2}$/.test(iso)) return iso || "…";
    var parts = iso.split("-").map(Number);
    // Noon UTC: the same calendar day in every zone the program works in.
    return new Date(Date.UTC(parts[0], parts[1] - 1, parts[2], 12)).toLocaleDateString(
      document.documentElement.lang || "es", { day: "numeric", month: "long", year: "numeric", timeZone: "UTC" });
  }

  function missing() {
    document.getElementById("offline-draft-missing").hidden = false;
  }

  // The unit in the quantity's number and the reader's language ("1 kit", "3 kits"), as the
  // node prints it (fieldapp.formatting.quantity_with_unit): the unit typed in the draft when
  // it is none of the catalogue's forms, as typed.
  function unitFor(qty, typed, b) {
    var forms = [b.unit_one_es, b.unit_other_es, b.unit_one_en, b.unit_other_en].filter(Boolean);
    var text = String(typed || "").trim();
    var known = !text || forms.some(function (f) { return f.toLowerCase() === text.toLowerCase(); });
    if (!known || !b.unit_one_es) return text || b.default_unit || "";
    var one = Number(String(qty).replace(",", ".")) === 1;
    if (locale === "en" && (one ? b.unit_one_en : b.unit_other_en)) return one ? b.unit_one_en : b.unit_other_en;
    return one ? b.unit_one_es : b.unit_other_es;
  }

  function show(item, family, commitmentTypes, benefitTypes, community) {
    var body = box.querySelector(".offline-draft-body");
    box.querySelector(".offline-draft-family").textContent = family
      ? family.head_given_names + " " + family.head_surname : "";
    box.querySelector(".offline-draft-period").textContent =
      day(value(item, "period_start")) + " – " + day(value(item, "period_end"));
    var byId = {};
    commitmentTypes.forEach(function (c) { byId[c.id] = c; });
    var list = box.querySelector(".offline-draft-commitments");
    values(item, "commitments").forEach(function (id) {
      var c = byId[id];
      if (c) list.appendChild(el("li", null, locale === "en" ? c.text_en : c.text_es));
    });
    var benefits = box.querySelector(".offline-draft-benefits");
    benefitTypes.forEach(function (b) {
      var qty = value(item, "qty_" + b.code);
      if (!qty) return;
      var unit = unitFor(qty, value(item, "unit_" + b.code), b);
      var schedule = value(item, "schedule_" + b.code);
      benefits.appendChild(el("li", null, (locale === "en" ? b.name_en : b.name_es) + ": " + qty + " " + unit +
        (schedule ? " (" + schedule + ")" : "")));
    });
    // What the form would have held online: the family's representative and the place.
    var name = form.querySelector("input[name=family_name]");
    var dni = form.querySelector("input[name=family_dni]");
    var place = form.querySelector("input[name=place]");
    if (family && name && !name.value) name.value = family.head_given_names + " " + family.head_surname;
    if (family && dni && !dni.value && family.dni) dni.value = family.dni;
    if (community && place && !place.value) place.value = community.name;
    body.hidden = false;
    form.hidden = false;
  }

  function start() {
    var draft = (new URLSearchParams(location.search).get("draft") || "").toLowerCase();
    if (!/^[0-9a-f-]{36}$/.test(draft)) { missing(); return; }
    // The signature goes to the draft's own address (the node's sign page of that draft).
    form.setAttribute("action", box.dataset.signUrl.replace("00000000-0000-0000-0000-000000000000", draft));
    Core.listItems().then(function (items) {
      var item = items.filter(function (i) {
        return i.kind === "agreement" && i.user === P.cfg.user && Core.recordOf(i) === draft;
      })[0];
      if (!item) { missing(); return; }
      var familyId = value(item, "family_id");
      return Promise.all([
        Core.getFamily(familyId, P.cfg.user), Core.getAll("commitment_types"), Core.getAll("benefit_types")
      ]).then(function (r) {
        var family = r[0];
        return (family && family.community_id ? Core.getCommunity(family.community_id) : Promise.resolve(null))
          .then(function (community) { show(item, family, r[1], r[2], community); });
      });
    }).catch(function (err) { console.warn("fieldapp: the draft on this tablet", err); missing(); });
  }

  if (document.documentElement.dataset.pwaReady === "1") start();
  else document.addEventListener("fieldapp:ready", start, { once: true });
})();
