/* The compliance visit form without a family given (the tablet's stored copy, offline): once
   the family is chosen, its agreement and the agreement's commitments come from the data stored
   on the tablet, and one row per commitment is built from the page's <template>. The node
   checks everything again when the visit arrives. */
(function () {
  "use strict";
  var Core = window.FieldappOutbox;
  var P = window.fieldappPwa;
  if (!Core) return;

  document.querySelectorAll("form[data-visit-offline]").forEach(function (form) {
    var template = form.querySelector("template.finding-template");
    var rows = form.querySelector("[data-visit-findings]");
    var agreementInput = form.querySelector("input[name=agreement_id]");
    var about = form.querySelector("[data-visit-agreement]");
    var none = form.querySelector("[data-visit-none]");
    var submit = form.querySelector("button[type=submit]");
    var visitable = (form.dataset.visitable || "").split(/\s+/);
    var locale = (document.documentElement.lang || "es").slice(0, 2);
    var shown = null;

    function pick(agreements) {
      return agreements.filter(function (a) { return visitable.indexOf(a.status) >= 0; })
        .sort(function (a, b) {
          if (a.period_start !== b.period_start) return a.period_start < b.period_start ? 1 : -1;
          return (b.version_no || 1) - (a.version_no || 1);
        })[0];
    }

    function build(agreement, commitments) {
      rows.textContent = "";
      commitments.forEach(function (c, i) {
        var hex = c.id.replace(/-/g, "");
        var html = template.innerHTML.split("__CID__").join(hex).split("__N__").join(String(i + 1));
        var holder = document.createElement("div");
        holder.innerHTML = html;  // the page's own template; the values below are set as text
        var row = holder.firstElementChild;
        row.querySelector(".finding-label").textContent = locale === "en" ? c.text_en : c.text_es;
        rows.appendChild(row);
      });
      agreementInput.value = agreement.id;
      about.textContent = agreement.number + " · " + agreement.period_start + " – " + agreement.period_end;
      about.hidden = false;
      none.hidden = true;
      submit.disabled = false;
    }

    form.addEventListener("fieldapp:family", function (event) {
      var family = event.detail;
      Core.familyAgreements(family.id).then(function (agreements) {
        var agreement = pick(agreements);
        if (!agreement) {
          shown = null;
          rows.textContent = "";
          agreementInput.value = "";
          about.hidden = true;
          none.hidden = false;
          submit.disabled = true;
          return;
        }
        if (shown === agreement.id) return;  // the same rows: keep what was ticked
        shown = agreement.id;
        return Core.agreementCommitments(agreement.id).then(function (commitments) {
          build(agreement, commitments);
          // A rejected visit reopened for correction: its answers go into the new rows.
          if (form.fieldappPendingFields && P && P.fill) P.fill(form, form.fieldappPendingFields);
        });
      });
    });
  });
})();
