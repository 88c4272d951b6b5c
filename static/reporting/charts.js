// Dashboard charts: plain SVG, no libraries. Data comes from the #rp-data JSON block.
(function () {
  "use strict";
  var el = document.getElementById("rp-data");
  if (!el) return;
  var data = JSON.parse(el.textContent);
  var NS = "http://www.w3.org/2000/svg";
  var C = { c1: "#94a3b8", c2: "#2563eb", c3: "#16a34a", c4: "#f59e0b", c5: "#db2777", pos: "#16a34a", neu: "#cbd5e1", neg: "#dc2626" };

  function svg(host) {
    var w = host.clientWidth || 500, h = host.clientHeight || 200;
    var s = document.createElementNS(NS, "svg");
    s.setAttribute("viewBox", "0 0 " + w + " " + h);
    s.setAttribute("preserveAspectRatio", "none");
    host.innerHTML = "";
    host.appendChild(s);
    return { s: s, w: w, h: h };
  }
  function node(parent, tag, attrs, text) {
    var n = document.createElementNS(NS, tag);
    for (var k in attrs) n.setAttribute(k, attrs[k]);
    if (text !== undefined) n.textContent = text;
    parent.appendChild(n);
    return n;
  }
  function fmtDur(s) {
    if (s === null || s === undefined) return "";
    if (s < 60) return Math.round(s) + "s";
    if (s < 3600) return Math.round(s / 60) + "m";
    if (s < 86400) return (s / 3600).toFixed(1) + "h";
    return (s / 86400).toFixed(1) + "d";
  }
  function label(p) { return p.slice(5); }

  // series: [{key, color, values:[number|null]}]; kind: "bar" | "line"; stacked bars optional
  function chart(id, series, opts) {
    var host = document.getElementById(id);
    if (!host) return;
    var g = svg(host), pad = { l: 44, r: 8, t: 8, b: 22 };
    var n = data.series.length, W = g.w - pad.l - pad.r, H = g.h - pad.t - pad.b;
    var max = opts.max || 0;
    if (!opts.max) {
      for (var i = 0; i < n; i++) {
        var stack = 0;
        series.forEach(function (s) {
          var v = s.values[i] || 0;
          if (opts.stacked) stack += v; else max = Math.max(max, v);
        });
        if (opts.stacked) max = Math.max(max, stack);
      }
    }
    if (max <= 0) max = 1;
    var fmt = opts.fmt || function (v) { return String(Math.round(v)); };
    for (var t = 0; t <= 4; t++) {
      var y = pad.t + H - (H * t) / 4;
      node(g.s, "line", { x1: pad.l, x2: pad.l + W, y1: y, y2: y, "class": "grid" });
      node(g.s, "text", { x: pad.l - 6, y: y + 4, "text-anchor": "end" }, fmt((max * t) / 4));
    }
    var step = W / Math.max(n, 1), every = Math.ceil(n / 10);
    data.series.forEach(function (p, i) {
      if (i % every === 0) node(g.s, "text", { x: pad.l + step * i + step / 2, y: g.h - 6, "text-anchor": "middle" }, label(p.period));
    });
    var base = new Array(n).fill(0);
    series.forEach(function (s, si) {
      if (opts.kind === "bar") {
        var bw = opts.stacked ? step * 0.7 : (step * 0.8) / series.length;
        s.values.forEach(function (v, i) {
          if (!v) return;
          var x = pad.l + step * i + step * (opts.stacked ? 0.15 : 0.1) + (opts.stacked ? 0 : bw * si);
          var y0 = opts.stacked ? base[i] : 0;
          var hgt = (H * v) / max;
          var r = node(g.s, "rect", { x: x, y: pad.t + H - (H * y0) / max - hgt, width: Math.max(bw, 1), height: hgt, fill: s.color });
          node(r, "title", {}, data.series[i].period + ": " + fmt(v));
          if (opts.stacked) base[i] += v;
        });
      } else {
        var d = "", pen = false;
        s.values.forEach(function (v, i) {
          if (v === null || v === undefined) { pen = false; return; }
          var x = pad.l + step * i + step / 2, y = pad.t + H - (H * v) / max;
          d += (pen ? "L" : "M") + x.toFixed(1) + " " + y.toFixed(1) + " ";
          pen = true;
          var c = node(g.s, "circle", { cx: x, cy: y, r: 2.5, fill: s.color });
          node(c, "title", {}, data.series[i].period + ": " + fmt(v));
        });
        node(g.s, "path", { d: d, fill: "none", stroke: s.color, "stroke-width": 2 });
      }
    });
  }

  function hist(id, counts, edges) {
    var host = document.getElementById(id);
    if (!host) return;
    var g = svg(host), pad = { l: 36, r: 8, t: 18, b: 22 };
    var W = g.w - pad.l - pad.r, H = g.h - pad.t - pad.b, max = Math.max.apply(null, counts.concat([1]));
    var labels = ["<" + fmtDur(edges[0])];
    for (var i = 1; i < edges.length; i++) labels.push(fmtDur(edges[i - 1]) + "–" + fmtDur(edges[i]));
    labels.push("≥" + fmtDur(edges[edges.length - 1]));
    var step = W / counts.length;
    counts.forEach(function (v, i) {
      var hgt = (H * v) / max;
      var r = node(g.s, "rect", { x: pad.l + step * i + step * 0.1, y: pad.t + H - hgt, width: step * 0.8, height: hgt, fill: C.c2 });
      node(r, "title", {}, labels[i] + ": " + v);
      node(g.s, "text", { x: pad.l + step * i + step / 2, y: g.h - 6, "text-anchor": "middle" }, labels[i]);
      if (v) node(g.s, "text", { x: pad.l + step * i + step / 2, y: pad.t + H - hgt - 3, "text-anchor": "middle" }, String(v));
    });
  }

  function col(key, sub) {
    return data.series.map(function (p) { var v = p[key]; return sub ? (v ? v[sub] : null) : v; });
  }
  function draw() {
    chart("chart-volume", [
      { color: C.c1, values: col("conversations") },
      { color: C.c2, values: col("bot_involved") },
      { color: C.c3, values: col("ai_resolved") }
    ], { kind: "bar" });
    var pct = function (v) { return Math.round(v * 100) + "%"; };
    chart("chart-rates", [
      { color: C.c3, values: col("ai_resolution_rate") },
      { color: C.c4, values: col("handoff_rate") },
      { color: C.c5, values: col("csat_score") }
    ], { kind: "line", max: 1, fmt: pct });
    var times = [
      { color: C.c2, values: data.series.map(function (p) { return p.first_response.median; }) },
      { color: C.c4, values: data.series.map(function (p) { return p.resolution.median; }) }
    ];
    chart("chart-times", times, { kind: "line", fmt: fmtDur });
    chart("chart-sentiment", [
      { color: C.pos, values: data.series.map(function (p) { return p.sentiments.positive; }) },
      { color: C.neu, values: data.series.map(function (p) { return p.sentiments.neutral; }) },
      { color: C.neg, values: data.series.map(function (p) { return p.sentiments.negative; }) }
    ], { kind: "bar", stacked: true });
    hist("chart-frt-hist", data.histograms.first_response, data.histograms.edges);
    hist("chart-res-hist", data.histograms.resolution, data.histograms.edges);
    document.querySelectorAll("time[data-rp-time]").forEach(function (t) {
      var d = new Date(t.getAttribute("data-rp-time"));
      if (!isNaN(d)) t.textContent = d.toLocaleString();
    });
    document.body.setAttribute("data-charts", "ready");
  }
  draw();
  var timer;
  window.addEventListener("resize", function () { clearTimeout(timer); timer = setTimeout(draw, 150); });
})();
