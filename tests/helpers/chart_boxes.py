"""Measure a chart's labels in a real browser: every text box inside the chart's box, and no
two tick labels of an axis overlapping (the dashboard and report tests)."""

from __future__ import annotations

from typing import Any

# For each <svg class="marks"> in the page: the texts that leave its box, and the pairs
# of labels of one axis that overlap (each as its text). Boxes are the browser's own
# (getBoundingClientRect), which hold the line's leading as well as the glyphs: a text may
# reach SLACK px past the chart's edge (a clipped label is a whole letter out, 6 px or more).
MEASURE = """
(svgs) => svgs.map((svg) => {
  const SLACK = 3;
  const box = svg.getBoundingClientRect();
  const texts = [...svg.querySelectorAll('text')].filter((t) => t.textContent.trim());
  const outside = texts.filter((t) => {
    const r = t.getBoundingClientRect();
    return r.left < box.left - SLACK || r.right > box.right + SLACK
        || r.top < box.top - SLACK || r.bottom > box.bottom + SLACK;
  }).map((t) => t.textContent);
  const overlaps = [];
  for (const axis of svg.querySelectorAll('.role-axis-label')) {
    const rects = [...axis.querySelectorAll('text')]
      .filter((t) => t.textContent.trim() && getComputedStyle(t).opacity !== '0'
                     && t.getAttribute('opacity') !== '0')
      .map((t) => [t.textContent, t.getBoundingClientRect()]);
    for (let i = 0; i < rects.length; i++)
      for (let j = i + 1; j < rects.length; j++) {
        const [a, r] = rects[i], [b, s] = rects[j];
        if (r.left < s.right - 0.5 && s.left < r.right - 0.5
            && r.top < s.bottom - 0.5 && s.top < r.bottom - 0.5) overlaps.push(a + ' / ' + b);
      }
  }
  return {outside, overlaps, texts: texts.length};
})
"""


def label_problems(page: Any, selector: str = "svg.marks") -> list[dict[str, Any]]:
    """Per chart (in page order): {outside, overlaps, texts}."""
    return page.eval_on_selector_all(selector, MEASURE)


def svg_page(browser: Any, svgs: list[str]) -> Any:
    """A page showing SVG documents inline (as the report's images draw them), to measure."""
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.set_content("<html><body>" + "".join(f"<div>{s}</div>" for s in svgs) + "</body></html>")
    return page
