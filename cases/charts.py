"""Server-rendered inline SVG charts for the supervisor console: no JavaScript chart library, no CDN.

Each function returns a ``SafeString`` of one ``<svg>`` element with a ``<title>`` and ``<desc>`` for screen readers;
every label is HTML-escaped. Colours come from one palette that keeps neighbouring series distinguishable.
"""

import math
from decimal import Decimal

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

PALETTE = ["#0b5cad", "#c2410c", "#15803d", "#7c3aed", "#b91c1c", "#0e7490", "#a16207", "#be185d"]
OK, BAD, PENDING = "#1e7a3a", "#b3261e", "#aab3bf"


def _num(value) -> float:
    return float(value or 0)


def _nice_step(raw: float) -> float:
    """The smallest 1 / 2 / 2.5 / 5 × 10^k at or above ``raw`` (round axis ticks)."""
    if raw <= 0:
        return 1.0
    magnitude = 10 ** math.floor(math.log10(raw))
    for factor in (1, 2, 2.5, 5, 10):
        if factor * magnitude >= raw:
            return factor * magnitude
    return 10 * magnitude


def _fmt(value) -> str:
    value = _num(value)
    return f"{value:,.0f}" if abs(value) >= 100 else f"{value:,.2f}".rstrip("0").rstrip(".")


def hbar_chart(rows: list[tuple[str, float]], *, title: str, unit: str = "", width: int = 560) -> SafeString:
    """Horizontal bars, one per (label, value)."""
    bar_h, gap, label_w, pad = 22, 8, 170, 60
    height = max(1, len(rows)) * (bar_h + gap) + 30
    top = max([_num(v) for _, v in rows] + [1])
    plot_w = width - label_w - pad
    parts = [
        f'<svg class="chart" role="img" viewBox="0 0 {width} {height}" width="100%" '
        f'xmlns="http://www.w3.org/2000/svg" aria-labelledby="t d"><title>{escape(title)}</title>'
        f"<desc>{escape('; '.join(f'{label}: {_fmt(v)}{unit}' for label, v in rows) or 'No data')}</desc>"
    ]
    if not rows:
        parts.append(f'<text x="10" y="20" class="muted">No data for {escape(title.lower())}</text>')
    for i, (label, value) in enumerate(rows):
        y = 10 + i * (bar_h + gap)
        w = max(1.0, plot_w * _num(value) / top)
        colour = PALETTE[i % len(PALETTE)]
        parts.append(
            f'<text x="{label_w - 8}" y="{y + bar_h * 0.7:.1f}" text-anchor="end">{escape(label)}</text>'
            f'<rect x="{label_w}" y="{y}" width="{w:.1f}" height="{bar_h}" rx="3" fill="{colour}"/>'
            f'<text x="{label_w + w + 6:.1f}" y="{y + bar_h * 0.7:.1f}">{escape(_fmt(value))}{escape(unit)}</text>'
        )
    parts.append("</svg>")
    return mark_safe("".join(parts))


def attainment_chart(rows: list[dict], *, title: str, width: int = 560) -> SafeString:
    """100 % stacked bars per channel: hit (green), missed (red), not yet due (grey); percentage at the end."""
    bar_h, gap, label_w, pad = 22, 8, 110, 70
    height = max(1, len(rows)) * (bar_h + gap) + 40
    plot_w = width - label_w - pad
    desc = "; ".join(
        f"{r['label']}: {r['pct'] if r['pct'] is not None else '—'} % on time ({r['hit']} hit, {r['missed']} missed)"
        for r in rows
    )
    parts = [
        f'<svg class="chart" role="img" viewBox="0 0 {width} {height}" width="100%" '
        f'xmlns="http://www.w3.org/2000/svg"><title>{escape(title)}</title><desc>{escape(desc or "No data")}</desc>'
    ]
    if not rows:
        parts.append('<text x="10" y="20">No cases with a first-response target in this period</text>')
    for i, r in enumerate(rows):
        y = 10 + i * (bar_h + gap)
        total = max(1, r["hit"] + r["missed"] + r["open"])
        x = float(label_w)
        parts.append(f'<text x="{label_w - 8}" y="{y + bar_h * 0.7:.1f}" text-anchor="end">{escape(r["label"])}</text>')
        for value, colour, name in ((r["hit"], OK, "hit"), (r["missed"], BAD, "missed"), (r["open"], PENDING, "open")):
            w = plot_w * value / total
            if w > 0:
                parts.append(
                    f'<rect x="{x:.1f}" y="{y}" width="{w:.1f}" height="{bar_h}" fill="{colour}">'
                    f"<title>{name}: {value}</title></rect>"
                )
            x += w
        pct = "—" if r["pct"] is None else f"{r['pct']:g} %"
        parts.append(f'<text x="{label_w + plot_w + 6}" y="{y + bar_h * 0.7:.1f}">{escape(pct)}</text>')
    legend_y = height - 12
    for j, (name, colour) in enumerate((("on time", OK), ("missed", BAD), ("not yet due", PENDING))):
        lx = label_w + j * 110
        parts.append(
            f'<rect x="{lx}" y="{legend_y - 10}" width="12" height="12" fill="{colour}"/>'
            f'<text x="{lx + 16}" y="{legend_y}">{name}</text>'
        )
    parts.append("</svg>")
    return mark_safe("".join(parts))


def line_chart(
    days: list, series: dict[str, list[Decimal]], *, title: str, width: int = 760, height: int = 260
) -> SafeString:
    """One polyline per series over the days; y axis from 0 to the maximum, 4 grid lines, a legend below."""
    left, right, top_pad, bottom = 56, 16, 12, 64
    plot_w, plot_h = width - left - right, height - top_pad - bottom
    ymax = 4 * _nice_step(max([_num(v) for values in series.values() for v in values] + [1]) / 4)
    n = max(1, len(days) - 1)
    desc = "; ".join(f"{name}: total {_fmt(sum(_num(v) for v in values))}" for name, values in series.items())
    parts = [
        f'<svg class="chart" role="img" viewBox="0 0 {width} {height}" width="100%" '
        f'xmlns="http://www.w3.org/2000/svg"><title>{escape(title)}</title><desc>{escape(desc or "No data")}</desc>'
    ]
    for k in range(5):
        y = top_pad + plot_h - plot_h * k / 4
        parts.append(
            f'<line x1="{left}" x2="{left + plot_w}" y1="{y:.1f}" y2="{y:.1f}" stroke="#e3e7ed"/>'
            f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end" class="axis">{escape(_fmt(ymax * k / 4))}</text>'
        )
    step = max(1, len(days) // 7)
    for i, day in enumerate(days):
        if i % step == 0 or i == len(days) - 1:
            x = left + plot_w * i / n
            parts.append(
                f'<text x="{x:.1f}" y="{top_pad + plot_h + 16}" text-anchor="middle" class="axis">'
                f"{escape(day.strftime('%b %d'))}</text>"
            )
    if not series:
        parts.append(f'<text x="{left + 10}" y="{top_pad + 20}">No approved credits in this period</text>')
    for j, (name, values) in enumerate(series.items()):
        colour = PALETTE[j % len(PALETTE)]
        points = " ".join(
            f"{left + plot_w * i / n:.1f},{top_pad + plot_h - plot_h * _num(v) / ymax:.1f}"
            for i, v in enumerate(values)
        )
        parts.append(
            f'<polyline fill="none" stroke="{colour}" stroke-width="2.5" points="{points}">'
            f"<title>{escape(name)}</title></polyline>"
        )
        lx, ly = left + (j % 4) * 170, height - 22 + (j // 4) * 16
        parts.append(
            f'<rect x="{lx}" y="{ly - 10}" width="12" height="12" fill="{colour}"/>'
            f'<text x="{lx + 16}" y="{ly}">{escape(name)}</text>'
        )
    parts.append("</svg>")
    return mark_safe("".join(parts))
