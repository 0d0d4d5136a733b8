"""Measure an SVG picture as a reader sees it: inline in a page at README width (880 px, GitHub's
content column), in headless Chromium. Reports the smallest rendered text in screen pixels, every edge
that crosses a label or a box other than its own ends, texts that overflow their box and texts that
overlap. The edges (class `edge`) are sampled along their length with SVGGeometryElement.getPointAtLength;
boxes are `.node rect`, labels `.edge-label` (group or text)."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

README_WIDTH = 880

_SCRIPT = r"""
(function () {
  var svg = document.querySelector('svg'), ctm = svg.getScreenCTM();
  function box(r, inset) { return {l: r.left + inset, t: r.top + inset, r: r.right - inset, b: r.bottom - inset}; }
  function inside(p, b) { return p.x > b.l && p.x < b.r && p.y > b.t && p.y < b.b; }
  function meets(a, b) { return a.l < b.r && b.l < a.r && a.t < b.b && b.t < a.b; }
  var texts = Array.from(svg.querySelectorAll('text'));
  var smallest = Math.min.apply(null, texts.map(function (t) {
    return parseFloat(getComputedStyle(t).fontSize) * t.getScreenCTM().a; }));
  var labels = Array.from(svg.querySelectorAll('.edge-label')).map(function (l) {
    return {edge: l.getAttribute('data-edge'), text: l.textContent.trim(), b: box(l.getBoundingClientRect(), 1.5)}; });
  var nodes = Array.from(svg.querySelectorAll('.node')).map(function (n) {
    return {id: n.getAttribute('data-id'), b: box(n.querySelector('rect').getBoundingClientRect(), 1.5),
            outer: box(n.querySelector('rect').getBoundingClientRect(), -0.5), texts: Array.from(n.querySelectorAll('text'))}; });
  var crossed = {}, through = {};
  svg.querySelectorAll('.edge').forEach(function (e, i) {
    var src = e.getAttribute('data-src'), dst = e.getAttribute('data-dst'), len = e.getTotalLength();
    for (var s = 0; s <= len; s += 0.5) {
      var q = e.getPointAtLength(s).matrixTransform(e.getScreenCTM());
      labels.forEach(function (l) { if (inside(q, l.b)) crossed[i + ' x ' + l.text] = true; });
      nodes.forEach(function (n) { if (n.id !== src && n.id !== dst && inside(q, n.b)) through[i + ' ' + src + '->' + dst + ' x ' + n.id] = true; });
    }
  });
  var overflow = [];
  nodes.forEach(function (n) { n.texts.forEach(function (t) {
    var r = t.getBoundingClientRect();
    if (r.left < n.outer.l || r.right > n.outer.r || r.top < n.outer.t || r.bottom > n.outer.b) overflow.push(n.id + ': ' + t.textContent);
  }); });
  var overlap = [], rects = texts.map(function (t) { return box(t.getBoundingClientRect(), 0.5); });
  for (var a = 0; a < texts.length; a++) for (var b = a + 1; b < texts.length; b++)
    if (meets(rects[a], rects[b])) overlap.push(texts[a].textContent + ' / ' + texts[b].textContent);
  document.body.setAttribute('data-measure', JSON.stringify({
    smallest_px: Math.round(smallest * 100) / 100, width_px: svg.getBoundingClientRect().width,
    label_crossings: Object.keys(crossed), edges_through_boxes: Object.keys(through),
    text_overflow: overflow, text_overlap: overlap, texts: texts.length, labels: labels.length}));
})();
"""


def measure(svg_text: str, chromium: str, flags: list[str], work: Path) -> dict:
    page = work / "measure.html"
    body = re.sub(r"^<svg ", '<svg style="max-width:100%;height:auto" ', svg_text.strip(), count=1)
    page.write_text(f'<!DOCTYPE html><html><head><meta charset="utf-8"><style>body{{margin:0}}</style></head>'
                    f'<body><div style="width:{README_WIDTH}px">{body}</div><script>{_SCRIPT}</script></body></html>')
    run = subprocess.run([chromium, *flags, f"--user-data-dir={work / 'profile-measure'}", "--dump-dom", page.as_uri()],
                         capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr[-2000:]
    found = re.search(r'data-measure="([^"]*)"', run.stdout)
    assert found, "the measuring script did not finish: " + run.stderr[-2000:]
    return json.loads(found.group(1).replace("&quot;", '"').replace("&amp;", "&").replace("&lt;", "<").replace("&gt;", ">"))
