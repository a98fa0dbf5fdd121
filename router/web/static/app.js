/* dispute-router pages: small enhancements; every flow works without this file. */
(function () {
  "use strict";

  // The queue refreshes itself every minute, but not under a dialog the user is filling in.
  window.routerIdle = function () { return !document.querySelector("dialog[open]"); };

  // GB 11643 check digit of an 18-digit ID number, and a mainland mobile number, checked as typed.
  var WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
  var CHECK = "10X98765432";
  function idProblem(v) {
    v = v.trim().toUpperCase();
    if (!v) return "";
    if (!/^\d{17}[\dX]$/.test(v)) return "身份证号应为18位（最后一位可为X）";
    var sum = 0;
    for (var i = 0; i < 17; i++) sum += parseInt(v[i], 10) * WEIGHTS[i];
    return CHECK[sum % 11] === v[17] ? "" : "身份证号校验码不正确，请核对";
  }
  function phoneProblem(v) {
    v = v.replace(/[\s-]/g, "").replace(/^\+?86/, "");
    if (!v) return "";
    return /^1[3-9]\d{9}$/.test(v) ? "" : "手机号应为11位，以1开头";
  }
  function check(input) {
    var kind = input.getAttribute("data-check");
    var problem = kind === "id_number" ? idProblem(input.value) : kind === "phone" ? phoneProblem(input.value) : "";
    var id = "live-" + input.id;
    var note = document.getElementById(id);
    if (problem) {
      if (!note) {
        note = document.createElement("small");
        note.id = id;
        note.className = "error live";
        note.setAttribute("role", "status");
        input.insertAdjacentElement("afterend", note);
      }
      note.textContent = problem;
      input.setAttribute("aria-invalid", "true");
      input.setAttribute("aria-describedby", id);
    } else if (note) {
      note.remove();
      input.removeAttribute("aria-invalid");
      input.removeAttribute("aria-describedby");
    }
  }
  document.addEventListener("input", function (e) {
    if (e.target.matches && e.target.matches("[data-check]")) check(e.target);
  });

  // Invoker commands (commandfor/command) open and close dialogs natively; older browsers get this.
  if (!("command" in HTMLButtonElement.prototype)) {
    document.addEventListener("click", function (e) {
      var b = e.target.closest && e.target.closest("button[commandfor]");
      if (!b) return;
      var d = document.getElementById(b.getAttribute("commandfor"));
      if (!d) return;
      if (b.getAttribute("command") === "show-modal") d.showModal(); else if (b.getAttribute("command") === "close") d.close();
    });
  }

  document.addEventListener("click", function (e) {
    if (e.target.matches && e.target.matches("[data-print]")) window.print();
  });

  // The Gantt of handoffs against their deadlines (the table under it says the same in text).
  var SLA = { on_time: "#1b7f3b", warned: "#b7791f", overdue: "#b3261e", breached: "#b3261e" };
  var SLA_ZH = { on_time: "正常", warned: "临期", overdue: "超期", breached: "已超时" };
  function gantt() {
    var el = document.getElementById("gantt");
    if (!el || !window.echarts || el.getAttribute("data-drawn")) return;
    var spans = JSON.parse(el.getAttribute("data-spans") || "[]");
    if (!spans.length) return;
    el.setAttribute("data-drawn", "1");
    el.style.height = Math.max(160, 60 + spans.length * 44) + "px";
    var t = function (s) { return s ? new Date(s).getTime() : null; };
    var data = spans.map(function (s, i) {
      return { value: [i, t(s.start), t(s.end), t(s.ack_due), t(s.handle_due)], itemStyle: { color: SLA[s.sla] || "#5b5b5b" },
               name: s.label + "：" + (SLA_ZH[s.sla] || s.sla) };
    });
    var chart = window.echarts.init(el, null, { renderer: "svg" });
    chart.setOption({
      animation: false,
      grid: { left: 200, right: 30, top: 20, bottom: 40 },
      tooltip: { formatter: function (p) { return window.echarts.format.encodeHTML(p.name); } },  // names are text
      xAxis: { type: "time" },
      yAxis: { type: "category", data: spans.map(function (s) { return s.label; }), inverse: true },
      series: [{
        type: "custom",
        encode: { x: [1, 2], y: 0 },
        data: data,
        renderItem: function (params, api) {
          var y = api.value(0), h = api.size([0, 1])[1] * 0.45;
          var a = api.coord([api.value(1), y]), b = api.coord([api.value(2), y]);
          var children = [{ type: "rect", shape: { x: a[0], y: a[1] - h / 2, width: Math.max(2, b[0] - a[0]), height: h },
                            style: api.style() }];
          [3, 4].forEach(function (k, j) {
            if (api.value(k) == null || isNaN(api.value(k))) return;
            var p = api.coord([api.value(k), y]);
            children.push({ type: "line", shape: { x1: p[0], y1: p[1] - h, x2: p[0], y2: p[1] + h },
                            style: { stroke: j === 0 ? "#444" : "#000", lineWidth: 2, lineDash: j === 0 ? [4, 3] : null } });
          });
          return { type: "group", children: children };
        }
      }]
    });
  }
  // A report's breakdown: one bar series per figure (the table beside it says the same in text).
  function charts() {
    document.querySelectorAll("[data-chart]").forEach(function (el) {
      if (!window.echarts || el.getAttribute("data-drawn")) return;
      var d = JSON.parse(el.getAttribute("data-chart") || "{}");
      if (!d.labels || !d.labels.length) return;
      el.setAttribute("data-drawn", "1");
      var count = d.series[0], rates = d.series.slice(1);
      var chart = window.echarts.init(el, null, { renderer: "svg" });
      var esc = window.echarts.format.encodeHTML;
      chart.setOption({
        animation: false,
        legend: { top: 0, textStyle: { color: document.body.classList.contains("screen") ? "#f1f5f9" : "#111" } },
        tooltip: { trigger: "axis", formatter: function (ps) {
          return esc(ps[0].axisValue) + "<br>" + ps.map(function (p) {
            var v = p.value == null ? "—" : p.seriesIndex === 0 ? p.value : (p.value * 100).toFixed(1) + "%";
            return esc(p.seriesName) + "：" + v; }).join("<br>"); } },
        grid: { left: 50, right: 50, top: 40, bottom: 60 },
        xAxis: { type: "category", data: d.labels, axisLabel: { rotate: d.labels.length > 6 ? 30 : 0 } },
        yAxis: [{ type: "value", name: count.name }, { type: "value", min: 0, max: 1,
                 axisLabel: { formatter: function (v) { return v * 100 + "%"; } } }],
        series: [{ type: "bar", name: count.name, data: count.data }].concat(rates.map(function (s) {
          return { type: "line", name: s.name, yAxisIndex: 1, data: s.data, connectNulls: false };
        }))
      });
    });
  }
  // The wall screen (大屏) reloads itself: nobody is there to press a key.
  var reload = document.body && document.body.getAttribute("data-reload");
  if (reload) window.setTimeout(function () { window.location.reload(); }, parseInt(reload, 10) * 1000);
  function draw() { gantt(); charts(); }
  document.addEventListener("DOMContentLoaded", draw);
  document.addEventListener("htmx:after:swap", draw);
  window.addEventListener("load", draw);
})();
