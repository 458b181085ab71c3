// Ledger pages. Progressive enhancement only: every form works without this file.
// Unit fields take several names separated by 、; a plain <datalist> only completes the whole value, so for
// inputs marked data-multi-unit we give each one its own list whose options carry the names typed so far.
(function () {
  "use strict";
  var SEPARATORS = /[、,，;；]/;

  function lastSeparatorIndex(text) {
    for (var i = text.length - 1; i >= 0; i--) {
      if (SEPARATORS.test(text.charAt(i))) return i;
    }
    return -1;
  }

  function enhance(input, n) {
    var source = document.getElementById(input.getAttribute("list"));
    if (!source) return;
    var base = Array.prototype.map.call(source.options, function (o) {
      return { value: o.value, label: o.textContent };
    });
    var own = document.createElement("datalist");
    own.id = source.id + "-multi-" + n;
    document.body.appendChild(own);
    input.setAttribute("list", own.id);
    var lastPrefix = null;

    function refresh() {
      var text = input.value;
      var prefix = text.slice(0, lastSeparatorIndex(text) + 1);
      if (prefix === lastPrefix) return;
      lastPrefix = prefix;
      var fragment = document.createDocumentFragment();
      base.forEach(function (item) {
        var option = document.createElement("option");
        option.value = prefix + item.value;
        option.textContent = item.label;
        fragment.appendChild(option);
      });
      own.replaceChildren(fragment);
    }

    input.addEventListener("input", refresh);
    input.addEventListener("focus", refresh);
    refresh();
  }

  // Unit datalists arrive empty, with the address of their options (departments:unit-options): the same few
  // hundred names on every page, which the browser keeps and revalidates rather than receiving in each page.
  function fill(list) {
    return fetch(list.getAttribute("data-src"), {
      credentials: "same-origin",
      headers: { Accept: "application/json" },
    })
      .then(function (response) {
        if (!response.ok) throw new Error(response.status);
        return response.json();
      })
      .then(function (data) {
        var fragment = document.createDocumentFragment();
        data.options.forEach(function (pair) {
          var option = document.createElement("option");
          option.value = pair[0];
          if (pair[1] !== pair[0]) option.textContent = pair[1];
          fragment.appendChild(option);
        });
        list.replaceChildren(fragment);
        list.setAttribute("data-loaded", "");
      })
      .catch(function () {
        list.setAttribute("data-loaded", "failed"); // the fields still take any name; the server checks them
      });
  }

  document.addEventListener("DOMContentLoaded", function () {
    var lists = Array.prototype.map.call(document.querySelectorAll("datalist[data-src]"), fill);
    Promise.all(lists).then(function () {
      document.querySelectorAll("input[data-multi-unit][list]").forEach(enhance);
      document.body.setAttribute("data-units-ready", "");
    });
  });
})();
