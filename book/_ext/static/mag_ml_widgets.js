/* mag_ml book: run the vendored ipywidgets embed manager offline.
 *
 * Loaded on pages with widgets, after require.js and before html-manager/embed-amd.js
 * (see nb_ipywidgets_js in _config.yml).
 *
 * 1. Each AMD module of embed-amd.js resolves its webpack assets (the Font Awesome
 *    fonts of the widget CSS) from its module URI, by default relative to the page
 *    (book/@jupyter-widgets/...). Map the module ids to the vendored folder instead.
 * 2. The embed manager typesets widget labels with the MathJax 2 API
 *    (MathJax.Hub.Queue); the book uses MathJax 3. Provide that one call on top of
 *    MathJax 3, whenever and however window.MathJax is (re)assigned.
 */
(function () {
  "use strict";
  var script = document.currentScript;
  var here = script ? script.src.replace(/[^\/]*$/, "") : "";  // .../_static/

  if (window.require && window.require.config && here) {
    window.require.config({
      paths: {
        "@jupyter-widgets/html-manager/dist": here + "html-manager",
        "@jupyter-widgets": here + "html-manager"
      }
    });
  }

  function whenReady(job) {
    var mj = current;
    if (mj && mj.startup && mj.startup.promise && mj.typesetPromise) {
      mj.startup.promise = mj.startup.promise.then(job).catch(function (err) {
        if (window.console) { console.warn("MathJax typeset of a widget failed", err); }
      });
    } else {
      setTimeout(function () { whenReady(job); }, 50);
    }
  }

  var Hub = {
    Queue: function () {
      Array.prototype.forEach.call(arguments, function (job) {
        if (Array.isArray(job) && job[0] === "Typeset" && job[2]) {
          var element = job[2];
          whenReady(function () { return current.typesetPromise([element]); });
        } else if (typeof job === "function") {
          whenReady(job);
        }
      });
    }
  };

  var current = window.MathJax;
  function attach() {
    if (current && typeof current === "object" && !current.Hub) {
      try {
        Object.defineProperty(current, "Hub", { value: Hub, configurable: true, enumerable: false });
      } catch (err) { /* a frozen object: leave it */ }
    }
  }
  attach();
  Object.defineProperty(window, "MathJax", {
    configurable: true,
    enumerable: true,
    get: function () { return current; },
    set: function (value) { current = value; attach(); }
  });
})();
