/* The outbox page: every item stored on this tablet, its state and reason, and what to do. */
(function () {
  "use strict";
  var P = window.fieldappPwa;
  var Core = window.FieldappOutbox;
  if (!P || !Core) return;
  var t = P.t;
  var el = P.el;
  var user = P.cfg.user;
  var itemsList = document.getElementById("outbox-items");
  var sentList = document.getElementById("outbox-sent");
  var sendNow = document.getElementById("outbox-send-now");

  function kindLabel(kind) { return t("kind_" + kind); }

  function errorText(error) {
    if (!error) return "";
    var parts = [];
    if (error.status >= 500) parts.push(t("server_error", { status: error.status }));
    if (error.message) parts.push(error.message);
    Object.keys(error.fields || {}).forEach(function (name) {
      var messages = [].concat(error.fields[name]).filter(function (m) { return m !== error.message; });
      if (messages.length) parts.push(name + ": " + messages.join(" "));
    });
    return parts.join(" — ");
  }

  function action(label, cls, handler) {
    var b = el("button", { type: "button", class: cls }, label);
    b.addEventListener("click", handler);
    return b;
  }

  function renderItem(item) {
    var li = el("li", { class: "outbox-item", "data-status": item.status, "data-kind": item.kind, "data-seq": String(item.seq) });
    var body = el("div", { class: "outbox-item-body" });
    li.appendChild(body);
    if (item.user !== user) {
      // Someone else's work: who and when, not what.
      body.appendChild(el("strong", null, kindLabel(item.kind)));
      body.appendChild(el("span", { class: "muted" }, t("other_user_item", { user: item.user }) + " · " + t("saved_at", { time: P.when(item.created_at) })));
      body.appendChild(el("span", { class: "outbox-state" }, item.status === "rejected" ? t("status_rejected") : t("status_waiting_user", { user: item.user })));
      return li;
    }
    body.appendChild(el("strong", null, kindLabel(item.kind) + (item.title ? ": " + item.title : "")));
    body.appendChild(el("span", { class: "muted" }, t("saved_at", { time: P.when(item.created_at) })));
    if (item.status === "rejected") {
      body.appendChild(el("span", { class: "outbox-state error" }, t("status_rejected") + ": " + errorText(item.last_error)));
    } else if (item.held) {
      // Waiting for an item it needs (its family, its draft): said plainly, with which one.
      var what = kindLabel(item.held.kind) + (item.held.title ? ": " + item.held.title : "");
      body.appendChild(el("span", { class: "outbox-state outbox-held" },
        t(item.held.status === "rejected" ? "status_held_rejected" : "status_held", { what: what })));
    } else {
      var note = t("status_waiting");
      if (item.last_error) note += " — " + errorText(item.last_error);
      body.appendChild(el("span", { class: "outbox-state" }, note));
    }
    var actions = el("div", { class: "outbox-actions" });
    if (item.status === "rejected") {
      var fix = el("a", { class: "button primary", href: (item.page || item.url) + "#outbox=" + item.seq }, t("correct"));
      actions.appendChild(fix);
      actions.appendChild(action(t("send_again"), "", function () {
        item.status = "waiting";
        item.attempts = 0;
        Core.putItem(item).then(function () { return P.tick(true); }).then(render);
      }));
    }
    actions.appendChild(action(t("discard"), "danger", function () {
      if (window.confirm(t("confirm_discard"))) Core.deleteItem(item.seq).then(render).then(P.renderBadge);
    }));
    li.appendChild(actions);
    return li;
  }

  function render() {
    return Promise.all([Core.listItems(), Core.listSent(user)]).then(function (r) {
      itemsList.textContent = "";
      delete itemsList.dataset.loading;
      if (!r[0].length) itemsList.appendChild(el("li", { class: "empty" }, t("nothing_waiting")));
      r[0].forEach(function (item) { itemsList.appendChild(renderItem(item)); });
      sentList.textContent = "";
      if (!r[1].length) sentList.appendChild(el("li", { class: "empty" }, t("nothing_sent")));
      r[1].forEach(function (s) {
        var li = el("li", { class: "outbox-sent" });
        var target = el(s.url ? "a" : "div", s.url ? { href: s.url } : {});
        target.appendChild(el("strong", null, kindLabel(s.kind) + (s.title ? ": " + s.title : "")));
        target.appendChild(el("span", { class: "muted" }, t("last_sent", { time: P.when(s.sent_at) })));
        li.appendChild(target);
        sentList.appendChild(li);
      });
      itemsList.dataset.count = String(r[0].length);
    });
  }

  sendNow.addEventListener("click", function () {
    sendNow.disabled = true;
    P.tick(true).then(render).then(function () { sendNow.disabled = false; });
  });
  document.addEventListener("fieldapp:outbox", render);
  render();
})();
