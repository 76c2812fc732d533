// New inbox items without a reload: the list re-reads itself every few seconds (same filters), swaps
// in when it changed, and says so to screen readers. Served by the app (no CDN); no inline script (CSP).
(function () {
  "use strict";
  var POLL_MS = 3000;
  function start(box) {
    var live = document.getElementById("live");
    function current() {
      var inner = box.firstElementChild;
      return inner ? inner.getAttribute("data-newest") : "";
    }
    function tick() {
      if (document.hidden) { return; }
      if (box.contains(document.activeElement)) { return; } // never move the list under a focused control
      fetch(box.getAttribute("data-poll"), { credentials: "same-origin", headers: { "X-Requested-With": "fetch" } })
        .then(function (r) { if (r.status === 401) { window.location.reload(); } return r.ok ? r.text() : null; })
        .then(function (html) {
          if (!html) { return; }
          var holder = document.createElement("div");
          holder.innerHTML = html;
          var fresh = holder.firstElementChild;
          if (!fresh || fresh.getAttribute("data-newest") === current()) { return; }
          var before = parseInt((box.firstElementChild || fresh).getAttribute("data-total"), 10) || 0;
          box.replaceChildren(fresh);
          var after = parseInt(fresh.getAttribute("data-total"), 10) || 0;
          if (live) { live.textContent = after > before ? (after - before) + " new item(s) in the inbox." : "The inbox was updated."; }
        })
        .catch(function () { /* the next tick tries again */ });
    }
    window.setInterval(tick, POLL_MS);
  }
  document.addEventListener("DOMContentLoaded", function () {
    var box = document.querySelector("[data-poll]");
    if (box) { start(box); }
  });
})();
