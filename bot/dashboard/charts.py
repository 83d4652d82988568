"""Charts drawn on the server as inline SVG: no script, no CDN, readable 360 pixels wide.

Every chart has a viewBox and no fixed size, so it shrinks with the screen; labels sit above
their bars (never beside them) so that a long kecamatan name still fits a phone.
"""

from __future__ import annotations

from collections.abc import Sequence

from markupsafe import Markup, escape

from content import formatting

SERIES = ("s1", "s2", "s3", "s4")  # colours come from the stylesheet (.s1 ... .s4)
# One colour per funnel stage in every chart: conversations, leads, contacted, registered (the
# progress bars are registrations: s4). A chart of fewer stages passes their classes.
STAGES = SERIES
WIDTH = 360


def _n(value: int, lang: str) -> str:
    return formatting.number(value, lang)


def legend(names: Sequence[str], classes: Sequence[str] = SERIES) -> Markup:
    items = "".join(
        f'<span class="key"><svg viewBox="0 0 10 10" aria-hidden="true"><rect class="{classes[i]}" width="10" '
        f'height="10"/></svg>{escape(name)}</span>'
        for i, name in enumerate(names)
    )
    return Markup(f'<p class="legend">{items}</p>')


def grouped_bars(rows: Sequence[tuple[str, Sequence[int]]], names: Sequence[str], title: str, lang: str) -> Markup:
    """Horizontal bars: one group per row (a region), one bar per series, the value at its end."""
    peak = max([v for _, values in rows for v in values] + [1])
    bar, gap, label_h = 9, 2, 16
    group_h = label_h + len(names) * (bar + gap) + 8
    height = max(group_h * len(rows), 20)
    usable = WIDTH - 60
    parts = [
        f'<svg class="chart" viewBox="0 0 {WIDTH} {height}" role="img" aria-label="{escape(title)}">'
        f"<title>{escape(title)}</title>"
    ]
    for i, (label, values) in enumerate(rows):
        y = i * group_h
        parts.append(f'<text class="label" x="0" y="{y + 12}">{escape(label)}</text>')
        for j, value in enumerate(values):
            w = round(usable * value / peak, 1) if value else 0
            by = y + label_h + j * (bar + gap)
            parts.append(
                f'<rect class="{SERIES[j]}" x="0" y="{by}" width="{max(w, 1)}" height="{bar}">'
                f"<title>{escape(names[j])}: {_n(value, lang)}</title></rect>"
                f'<text class="value" x="{w + 4}" y="{by + bar - 1}">{_n(value, lang)}</text>'
            )
    parts.append("</svg>")
    return Markup("".join(parts))


def weekly_columns(
    weeks: Sequence[tuple[str, Sequence[int]]],
    names: Sequence[str],
    title: str,
    lang: str,
    classes: Sequence[str] = SERIES,
) -> Markup:
    """Columns per week, the series side by side; week labels under every other column."""
    height, bottom, top = 180, 22, 14
    peak = max([v for _, values in weeks for v in values] + [1])
    slot = WIDTH / max(len(weeks), 1)
    bar = max((slot - 4) / max(len(names), 1), 1)
    plot = height - bottom - top
    parts = [
        f'<svg class="chart" viewBox="0 0 {WIDTH} {height}" role="img" aria-label="{escape(title)}">'
        f"<title>{escape(title)}</title>",
        f'<text class="value" x="0" y="10">{_n(peak, lang)}</text>',
        f'<line class="axis" x1="0" y1="{height - bottom}" x2="{WIDTH}" y2="{height - bottom}"/>',
    ]
    for i, (label, values) in enumerate(weeks):
        x0 = i * slot + 2
        for j, value in enumerate(values):
            h = round(plot * value / peak, 1)
            parts.append(
                f'<rect class="{classes[j]}" x="{round(x0 + j * bar, 1)}" y="{round(height - bottom - h, 1)}" '
                f'width="{round(bar - 0.5, 1)}" height="{h}"><title>{escape(label)} · {escape(names[j])}: '
                f"{_n(value, lang)}</title></rect>"
            )
        if i % 2 == 0 or len(weeks) <= 6:
            parts.append(f'<text class="tick" x="{round(x0, 1)}" y="{height - 6}">{escape(label)}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))


def progress(done: int, target: int, label: str, lang: str) -> Markup:
    share = min(done / target, 1.0) if target > 0 else 0.0
    width = round((WIDTH - 2) * share, 1)
    percent = formatting.number(round(share * 100, 1), lang)
    text = f"{label}: {_n(done, lang)} / {_n(target, lang)} ({percent}%)"
    return Markup(
        f'<svg class="chart progress" viewBox="0 0 {WIDTH} 40" role="img" aria-label="{escape(text)}">'
        f'<text class="label" x="0" y="12">{escape(text)}</text>'
        f'<rect class="track" x="1" y="18" width="{WIDTH - 2}" height="16" rx="3"/>'
        f'<rect class="s4" x="1" y="18" width="{width}" height="16" rx="3"/></svg>'
    )
