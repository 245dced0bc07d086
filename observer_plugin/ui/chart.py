"""A small line chart drawn on the server as inline SVG (no script, no network)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from xml.sax.saxutils import escape

WIDTH = 480
HEIGHT = 120
PAD = 28


@dataclass(frozen=True)
class Series:
    title: str
    points: Sequence[tuple[float, float]]  # (timestamp, value), oldest first
    unit: str  # how to label the top of the scale: "%" or "MiB"


def svg_chart(series: Series) -> str:
    """The SVG text of one series; a note instead of lines when there are < 2 samples."""
    title = escape(series.title)
    if len(series.points) < 2:
        return (f'<svg class="chart" width="{WIDTH}" height="{HEIGHT}" role="img" '
                f'aria-label="{title}"><text x="{PAD}" y="{HEIGHT // 2}">{title}: '
                f'not enough samples yet</text></svg>')
    times = [t for t, _ in series.points]
    values = [v for _, v in series.points]
    t0, t1 = min(times), max(times)
    top = max(max(values), 1e-9) * 1.1
    span = max(t1 - t0, 1e-9)
    inner_w, inner_h = WIDTH - 2 * PAD, HEIGHT - 2 * PAD

    def xy(t: float, v: float) -> str:
        return f"{PAD + (t - t0) / span * inner_w:.1f},{PAD + inner_h - v / top * inner_h:.1f}"

    line = " ".join(xy(t, v) for t, v in series.points)
    latest = values[-1]
    return (
        f'<svg class="chart" width="{WIDTH}" height="{HEIGHT}" role="img" '
        f'aria-label="{title}" viewBox="0 0 {WIDTH} {HEIGHT}">'
        f'<text x="{PAD}" y="14">{title} (now {latest:.1f} {escape(series.unit)}, '
        f'{len(values)} samples over {span:.0f} s)</text>'
        f'<line x1="{PAD}" y1="{PAD + inner_h}" x2="{PAD + inner_w}" y2="{PAD + inner_h}" '
        f'class="axis"/><line x1="{PAD}" y1="{PAD}" x2="{PAD}" y2="{PAD + inner_h}" '
        f'class="axis"/><text x="2" y="{PAD + 4}" class="scale">{top:.3g}</text>'
        f'<polyline fill="none" class="series" points="{line}"/></svg>')


def resource_charts(samples: Sequence[dict[str, float]]) -> list[str]:
    """CPU (%) and RSS (MiB) over the observer's sample history of one task."""
    cpu = [(float(s["timestamp"]), float(s.get("cpu") or 0)) for s in samples]
    rss = [(float(s["timestamp"]), float(s.get("rss") or 0) / 2**20) for s in samples]
    return [svg_chart(Series("CPU", cpu, "%")), svg_chart(Series("RSS", rss, "MiB"))]
