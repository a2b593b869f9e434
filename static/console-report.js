// The daily report's charts (ECharts, vendored). Data: the page's <script type="application/json" id="report-data">.
(function () {
  "use strict";
  var holder = document.getElementById("report-data");
  if (!holder || !window.echarts) { return; }
  var data = JSON.parse(holder.textContent);
  var drawn = 0;
  function chart(id, option) {
    var el = document.getElementById(id);
    if (!el) { return; }
    var c = window.echarts.init(el, null, { renderer: "canvas" });
    c.setOption(Object.assign({ animation: false, tooltip: {} }, option));
    window.addEventListener("resize", function () { c.resize(); });
    drawn += 1;
  }
  function bar(labels, values, name) {
    return {
      grid: { left: 40, right: 10, top: 20, bottom: 40 },
      xAxis: { type: "category", data: labels, axisLabel: { interval: 0, rotate: labels.length > 5 ? 30 : 0 } },
      yAxis: { type: "value" },
      series: [{ type: "bar", name: name, data: values }]
    };
  }
  function pie(items) {
    return { series: [{ type: "pie", radius: "65%", data: items, label: { formatter: "{b} {c}" } }] };
  }
  chart("chart-types", bar(data.by_type.labels, data.by_type.values, "任务"));
  chart("chart-response", bar(data.response.labels, data.response.values, "秒"));
  chart("chart-levels", pie(data.alert_levels));
  chart("chart-outcomes", pie(data.alert_outcomes));
  chart("chart-staff", {
    legend: { data: ["分配", "完成", "未完成"] },
    grid: { left: 40, right: 10, top: 30, bottom: 30 },
    xAxis: { type: "category", data: data.staff.names },
    yAxis: { type: "value" },
    series: [
      { type: "bar", name: "分配", data: data.staff.assigned },
      { type: "bar", name: "完成", data: data.staff.completed },
      { type: "bar", name: "未完成", data: data.staff.open }
    ]
  });
  document.body.setAttribute("data-charts", String(drawn));
})();
