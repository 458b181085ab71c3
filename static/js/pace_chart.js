// The task page's 序时进度 chart: per quarter, the reported completion percent and target values against the
// expected line. Data from the JSON endpoint named in data-pace-chart (reports.views.pace). No inline script.
(function () {
  "use strict";

  function series(name, data, dashed, color) {
    return { name: name, type: "line", data: data, connectNulls: false, symbolSize: 7,
             lineStyle: { type: dashed ? "dashed" : "solid", color: color }, itemStyle: { color: color } };
  }

  function draw(el, data) {
    var lines = [];
    var palette = ["#1a73e8", "#188038", "#e37400", "#9334e6", "#d93025"];
    if (data.percent.reported.some(function (v) { return v !== null; }) ||
        data.percent.expected.some(function (v) { return v !== null; })) {
      lines.push(series("完成百分比·应达（序时）", data.percent.expected, true, "#888"));
      lines.push(series("完成百分比·填报", data.percent.reported, false, palette[0]));
    }
    data.targets.forEach(function (t, i) {
      var color = palette[(i + 1) % palette.length];
      lines.push(series(t.label + "·应达", t.expected, true, color));
      lines.push(series(t.label + "·填报", t.reported, false, color));
    });
    if (!lines.length || !data.periods.length) {
      el.textContent = "暂无可绘制的序时进度数据。";
      el.style.height = "auto";
      return;
    }
    var chart = window.echarts.init(el, null, { renderer: "canvas", devicePixelRatio: Math.max(window.devicePixelRatio || 1, 2) });
    chart.setOption({
      animation: false,
      // Canvas text does not follow CSS: the page's font stack (with the vendored Noto Sans SC), as dashboard.js.
      textStyle: { fontFamily: getComputedStyle(document.body).fontFamily },
      tooltip: { trigger: "axis" },
      legend: { type: "scroll", bottom: 0 },
      grid: { left: 48, right: 24, top: 16, bottom: data.periods.length > 6 ? 110 : 64 },
      xAxis: { type: "category", data: data.periods.map(function (p) { return p.replace("（年度）", ""); }),
               axisLabel: { rotate: data.periods.length > 6 ? 30 : 0, hideOverlap: true } },
      yAxis: { type: "value", scale: true },
      series: lines
    });
    window.addEventListener("resize", function () { chart.resize(); });
    el.setAttribute("data-rendered", "true");
  }

  function init() {
    var els = document.querySelectorAll("[data-pace-chart]");
    Array.prototype.forEach.call(els, function (el) {
      if (!window.echarts) return;
      fetch(el.getAttribute("data-pace-chart"), { credentials: "same-origin" })
        .then(function (r) { return r.ok ? r.json() : null; })
        .then(function (data) { if (data) draw(el, data); })
        .catch(function () { el.textContent = "序时进度图表加载失败。"; });
    });
  }

  // Draw once the page's fonts are in: canvas labels are measured with the font present at drawing time.
  function start() {
    var ready = document.fonts && document.fonts.ready ? document.fonts.ready : Promise.resolve();
    ready.then(init, init);
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
