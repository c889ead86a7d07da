/* par_review: what the Data Docs need at run time to pass WCAG 2.1 A and AA.
   - The filter controls that bootstrap-table's filter-control extension draws into the table
     headers get an accessible name (4.1.2): aria-label "Filter by <column title>".
   - A box that scrolls (a wide table on a phone, a long list of values) can be reached and
     scrolled with the keyboard (2.1.1): it gets tabindex="0" while it overflows.
   Loaded at the end of <body>, after GX's inline scripts have drawn the tables; an observer
   names the controls drawn later (after a sort or a reset), and a resize re-checks the boxes. */
(function () {
  "use strict";
  var CONTROLS =
    'input[class*="bootstrap-table-filter-control-"], select[class*="bootstrap-table-filter-control-"]';
  var SCROLLERS = ".table-responsive, .show-scrollbars, .fixed-table-body";

  function columnTitle(control) {
    var th = control.closest("th");
    var inner = th && th.querySelector(".th-inner");
    var text = inner ? inner.textContent.replace(/\s+/g, " ").trim() : "";
    if (text) return text;
    var m = /bootstrap-table-filter-control-(\S+)/.exec(control.className);
    return m ? m[1].replace(/_/g, " ") : "column";
  }

  function nameControls() {
    var controls = document.querySelectorAll(CONTROLS);
    for (var i = 0; i < controls.length; i++) {
      var c = controls[i];
      if (!c.getAttribute("aria-label")) c.setAttribute("aria-label", "Filter by " + columnTitle(c));
    }
  }

  function focusableScrollers() {
    var boxes = document.querySelectorAll(SCROLLERS);
    for (var i = 0; i < boxes.length; i++) {
      var b = boxes[i];
      var scrolls = b.scrollWidth > b.clientWidth + 1 || b.scrollHeight > b.clientHeight + 1;
      if (scrolls && !b.hasAttribute("tabindex")) {
        b.setAttribute("tabindex", "0");
        b.setAttribute("data-par-scroll", "");
      } else if (!scrolls && b.hasAttribute("data-par-scroll")) {
        b.removeAttribute("tabindex");
        b.removeAttribute("data-par-scroll");
      }
    }
  }

  function all() {
    nameControls();
    focusableScrollers();
  }

  all();
  if (window.MutationObserver) {
    new MutationObserver(nameControls).observe(document.body, { childList: true, subtree: true });
  }
  window.addEventListener("load", all);
  window.addEventListener("resize", focusableScrollers);
})();
