// Roll-up pages and the leaders' dashboard: ECharts (vendored, static/vendor/echarts) drawn from the JSON that
// the page carries in <script type="application/json"> (json_script). No inline script, no CDN.
(function () {
  "use strict";

  function readData(id) {
    var el = document.getElementById(id);
    if (!el) return null;
    try { return JSON.parse(el.textContent); } catch (e) { return null; }
  }

  function go(url) { if (url) window.location.href = url; }

  var builders = {
    // Horizontal bars: units with the most overdue tasks; a click opens that unit's overdue tasks.
    units: function (data) {
      var items = (data.units || []).slice().reverse();
      return {
        grid: { left: 150, right: 32, top: 8, bottom: 24, containLabel: false },  // room for the 140px labels
        tooltip: { trigger: "axis", axisPointer: { type: "shadow" } },
        xAxis: { type: "value", minInterval: 1 },
        // interval 0: every unit's name is drawn (ECharts otherwise drops labels that would touch, on paper half of them)
        yAxis: { type: "category", data: items.map(function (u) { return u.name; }), axisLabel: { interval: 0, width: 140, overflow: "truncate", fontSize: 11 } },
        series: [{ type: "bar", name: "超期任务", data: items.map(function (u) { return { value: u.overdue, url: u.url }; }),
                   itemStyle: { color: "#d93025" }, label: { show: true, position: "right" } }]
      };
    },
    // Light distribution; a click opens the ledger filtered by that light.
    lights: function (data) {
      // Counts go in the legend ("超期 159"), not on label lines: on a small or printed chart label lines
      // collide and ECharts hides or truncates them; the legend always shows every light.
      var lights = data.lights || [];
      var counts = {};
      lights.forEach(function (l) { counts[l.name] = l.value; });
      return {
        tooltip: { trigger: "item", formatter: "{b}：{c}（{d}%）" },
        legend: { bottom: 0, itemGap: 12, formatter: function (name) { return name + " " + counts[name]; } },
        series: [{ type: "pie", radius: ["35%", "62%"], center: ["50%", "44%"],
                   label: { show: false }, labelLine: { show: false },
                   data: lights.map(function (l) {
                     return { name: l.name, value: l.value, url: l.url, itemStyle: { color: l.color } };
                   }) }]
      };
    },
    // On-time reporting rate, last period against this one.
    rates: function (data) {
      var r = data.rates || { labels: [], values: [] };
      return {
        grid: { left: 8, right: 16, top: 24, bottom: 8, containLabel: true },
        tooltip: { trigger: "axis", valueFormatter: function (v) { return v == null ? "—" : v + "%"; } },
        // two short lines per label ("上期" / the quarter), every label drawn
        xAxis: { type: "category", data: r.labels, axisLabel: { interval: 0, lineHeight: 16 } },
        yAxis: { type: "value", max: 100, axisLabel: { formatter: "{value}%" } },
        // A rate not computed yet (mid-period) is drawn as an empty bar whose label says when it will be.
        series: [{ type: "bar", barWidth: "40%", data: r.values.map(function (v, i) { return { value: v == null ? 0 : v, missing: v == null, itemStyle: { color: i === r.values.length - 1 ? "#1a56db" : "#9aa5b1" } }; }),
                   label: { show: true, position: "top", formatter: function (p) { return p.data.missing ? (r.pending || "—") : p.value + "%"; } } }]
      };
    },
    // Quarter by quarter: reports on time / late / missing (stacked) and the on-time rate (line).
    trend: function (data) {
      return {
        grid: { left: 8, right: 8, top: 40, bottom: 8, containLabel: true },
        legend: { top: 0 },
        tooltip: { trigger: "axis" },
        xAxis: { type: "category", data: data.labels || [] },
        yAxis: [{ type: "value", name: "报告数", minInterval: 1 }, { type: "value", name: "按时率", max: 100, axisLabel: { formatter: "{value}%" } }],
        series: [
          { type: "bar", name: "按时报送", stack: "r", data: data.on_time || [], itemStyle: { color: "#188038" } },
          { type: "bar", name: "逾期报送", stack: "r", data: data.late || [], itemStyle: { color: "#f2a600" } },
          { type: "bar", name: "未报", stack: "r", data: data.missing || [], itemStyle: { color: "#d93025" } },
          { type: "line", name: "按时率", yAxisIndex: 1, data: data.on_time_rate || [], itemStyle: { color: "#1a56db" } }
        ]
      };
    }
  };

  var charts = [];

  function draw() {
    if (typeof window.echarts === "undefined") return;
    document.querySelectorAll("[data-chart]").forEach(function (el) {
      var build = builders[el.getAttribute("data-chart")];
      var data = readData(el.getAttribute("data-source"));
      if (!build || !data) return;
      // The unit bars get 18 px each, so every name has room on screen and on paper.
      if (el.getAttribute("data-chart") === "units" && data.units) {
        el.style.height = Math.max(240, data.units.length * 18 + 40) + "px";
      }
      // Canvas at twice the screen resolution so the charts stay sharp on paper.
      var chart = window.echarts.init(el, null, { renderer: "canvas", devicePixelRatio: Math.max(window.devicePixelRatio || 1, 2) });
      var option = build(data);
      option.animation = false;
      // Canvas text does not follow CSS: give it the page's font stack (system Chinese fonts first, then the
      // vendored Noto Sans SC), or machines without a Chinese font draw empty boxes.
      option.textStyle = Object.assign({ fontFamily: getComputedStyle(document.body).fontFamily }, option.textStyle || {});
      chart.setOption(option);
      chart.on("click", function (p) { go(p.data && p.data.url); });
      el.setAttribute("data-rendered", "true");
      charts.push(chart);
    });
  }

  function resizeAll() { charts.forEach(function (c) { c.resize(); }); }

  document.addEventListener("DOMContentLoaded", function () {
    // Draw once the page's fonts are in: canvas labels are measured with the font present at drawing time.
    var fontsReady = document.fonts && document.fonts.ready ? document.fonts.ready : Promise.resolve();
    fontsReady.then(draw, draw);
    window.addEventListener("resize", resizeAll);
    // Charts follow the printed page width (A4 landscape) and come back afterwards.
    window.addEventListener("beforeprint", function () {
      var stamp = new Date();
      var pad = function (n) { return String(n).padStart(2, "0"); };
      document.querySelectorAll(".js-print-time").forEach(function (el) {
        el.textContent = stamp.getFullYear() + "-" + pad(stamp.getMonth() + 1) + "-" + pad(stamp.getDate()) + " " + pad(stamp.getHours()) + ":" + pad(stamp.getMinutes());
      });
      resizeAll();
    });
    window.addEventListener("afterprint", resizeAll);
    document.querySelectorAll(".js-print").forEach(function (b) {
      b.addEventListener("click", function () { window.print(); });
    });
    document.querySelectorAll("form[data-autosubmit] select").forEach(function (s) {
      s.addEventListener("change", function () { s.form.submit(); });
    });
  });
})();
