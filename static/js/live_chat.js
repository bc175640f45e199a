/* Live chat (customer page and agent workspace): keep the newest message in view, let Enter send, and keep the
   long poll alive. No inline script: loaded as a file so a strict CSP can forbid inline code.
   Transport (cases/live.py): the poller element (.live-poll) asks the server, which answers when the case has
   news or after ~20 s; each answer replaces the element and its "load" trigger asks again at once. htmx does not
   swap an error answer, so the chain would stop: here a failed request (network error, 5xx, 4xx) is retried
   after 2, 4, 8, 16, then every 30 s, and the delay starts again at 2 s after a success. */
(function () {
  "use strict";
  var failures = 0;

  function scrollLog() {
    document.querySelectorAll(".chat-log").forEach(function (log) {
      log.scrollTop = log.scrollHeight;
    });
  }

  // Two answers carrying the same message (a refresh racing the long poll) must not show it twice.
  function dropDuplicates() {
    document.querySelectorAll(".chat-log").forEach(function (log) {
      var seen = {};
      log.querySelectorAll("li[id]").forEach(function (item) {
        if (seen[item.id]) { item.remove(); } else { seen[item.id] = true; }
      });
    });
  }

  function retryLater(poller) {
    failures += 1;
    var delay = Math.min(30000, 1000 * Math.pow(2, Math.min(failures, 5)));
    window.setTimeout(function () {
      if (document.body.contains(poller) && window.htmx) { window.htmx.trigger(poller, "live-retry"); }
    }, delay);
  }

  document.addEventListener("DOMContentLoaded", scrollLog);
  document.addEventListener("htmx:oobAfterSwap", function () { dropDuplicates(); scrollLog(); });
  document.addEventListener("htmx:afterRequest", function (event) {
    var poller = event.detail.elt;
    if (!poller || !poller.classList || !poller.classList.contains("live-poll")) { return; }
    if (event.detail.successful) { failures = 0; return; }
    retryLater(poller);
  });
  document.addEventListener("htmx:afterSwap", function (event) {
    var form = event.detail.target;
    if (form && form.classList && form.classList.contains("chat-form")) {
      var box = form.querySelector("textarea");
      if (box) { box.focus(); }
    }
    scrollLog();
  });
  document.addEventListener("keydown", function (event) {
    var box = event.target;
    if (event.key === "Enter" && !event.shiftKey && box.tagName === "TEXTAREA" && box.closest(".chat-form")) {
      event.preventDefault();
      box.form.requestSubmit();
    }
  });
})();
