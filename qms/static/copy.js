// "Copy link" buttons: <button class="copy" data-copy="ID-of-an-input">. Without JavaScript the
// input is still there to select and copy by hand.
(function () {
  "use strict";
  function copied(button, text) {
    var label = button.textContent;
    button.textContent = text;
    window.setTimeout(function () { button.textContent = label; }, 2000);
  }
  document.querySelectorAll("button.copy[data-copy]").forEach(function (button) {
    button.addEventListener("click", function () {
      var input = document.getElementById(button.getAttribute("data-copy"));
      if (!input) { return; }
      input.select();
      if (navigator.clipboard && window.isSecureContext) {
        navigator.clipboard.writeText(input.value).then(
          function () { copied(button, "Copied ✓"); },
          function () { copied(button, "Press Ctrl+C to copy"); }
        );
      } else {
        var ok = false;
        try { ok = document.execCommand("copy"); } catch (e) { ok = false; }
        copied(button, ok ? "Copied ✓" : "Press Ctrl+C to copy");
      }
    });
  });
}());
