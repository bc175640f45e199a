/* Live chat (customer page and agent workspace): keep the newest message in view and let Enter send.
   No inline script: loaded as a file so a strict CSP can forbid inline code. Transport is htmx polling. */
(function () {
  "use strict";
  function scrollLog() {
    document.querySelectorAll(".chat-log").forEach(function (log) {
      log.scrollTop = log.scrollHeight;
    });
  }
  document.addEventListener("DOMContentLoaded", scrollLog);
  document.addEventListener("htmx:oobAfterSwap", scrollLog);
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
