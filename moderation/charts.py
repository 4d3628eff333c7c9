"""Tiny server-side SVG charts (no JavaScript, no CDN)."""

from __future__ import annotations

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

PALETTE = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b"]


def _fmt(v: float) -> str:
    if v >= 100 or v == int(v):
        return f"{v:.0f}"
    return f"{v:.2f}"


def line_chart(
    title: str,
    labels: list[str],
    series: dict[str, list[float]],
    *,
    width: int = 560,
    height: int = 200,
    unit: str = "",
) -> SafeString:
    """A line chart as inline SVG with a title, y-axis maximum, x labels and a legend."""
    left, right, top, bottom = 44, 10, 24, 36
    w, h = width - left - right, height - top - bottom
    values = [v for vs in series.values() for v in vs if v is not None]
    peak = max(values) if values else 0.0
    peak = peak if peak > 0 else 1.0
    n = max(1, len(labels) - 1)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" role="img" '
        f'aria-label="{escape(title)}" class="chart">',
        f"<title>{escape(title)}</title>",
        f'<text x="{left}" y="14" font-size="12" font-weight="bold">{escape(title)}</text>',
        f'<line x1="{left}" y1="{top + h}" x2="{left + w}" y2="{top + h}" stroke="#888"/>',
        f'<line x1="{left}" y1="{top}" x2="{left}" y2="{top + h}" stroke="#888"/>',
        f'<text x="{left - 4}" y="{top + 4}" font-size="10" text-anchor="end">'
        f"{_fmt(peak)}{escape(unit)}</text>",
        f'<text x="{left - 4}" y="{top + h}" font-size="10" text-anchor="end">0</text>',
    ]
    step = max(1, len(labels) // 6)
    for i, label in enumerate(labels):
        if i % step == 0 or i == len(labels) - 1:
            x = left + w * i / n
            parts.append(
                f'<text x="{x:.1f}" y="{top + h + 14}" font-size="10" text-anchor="middle">'
                f"{escape(label)}</text>"
            )
    for k, (name, vs) in enumerate(series.items()):
        colour = PALETTE[k % len(PALETTE)]
        points = " ".join(
            f"{left + w * i / n:.1f},{top + h - h * (v or 0) / peak:.1f}" for i, v in enumerate(vs)
        )
        parts.append(f'<polyline fill="none" stroke="{colour}" stroke-width="2" points="{points}"/>')
        lx = left + 8 + k * 110
        parts.append(f'<rect x="{lx}" y="{height - 12}" width="10" height="10" fill="{colour}"/>')
        parts.append(f'<text x="{lx + 14}" y="{height - 3}" font-size="10">{escape(name)}</text>')
    parts.append("</svg>")
    return mark_safe("".join(parts))  # noqa: S308 - every interpolated string is escaped
