"""The route drawn by the app itself (no map tiles): an SVG of the straight leg from the pickup to the
dropoff, the part already driven, and the driver's point, scaled into a fixed box. Only numbers go
into the picture, so nothing a vendor sends can inject markup."""

from __future__ import annotations

WIDTH, HEIGHT, PAD = 320, 160, 24


def _scale(points: list[tuple[float, float]]):
    xs, ys = [p[0] for p in points], [p[1] for p in points]
    span = max(max(xs) - min(xs), max(ys) - min(ys), 1e-6)
    sx = (WIDTH - 2 * PAD) / span
    sy = (HEIGHT - 2 * PAD) / span
    s = min(sx, sy)

    def to_box(p: tuple[float, float]) -> tuple[float, float]:
        x = PAD + (p[0] - min(xs)) * s
        y = HEIGHT - PAD - (p[1] - min(ys)) * s  # north up
        return round(x, 1), round(y, 1)

    return to_box


def route_svg(pickup: list[float] | None, dropoff: list[float] | None, driver: list[float] | None) -> str:
    """The SVG text, or "" without both ends of the route."""
    if not pickup or not dropoff:
        return ""
    a, b = (float(pickup[0]), float(pickup[1])), (float(dropoff[0]), float(dropoff[1]))
    d = (float(driver[0]), float(driver[1])) if driver else None
    box = _scale([a, b] + ([d] if d else []))
    (ax, ay), (bx, by) = box(a), box(b)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" width="{WIDTH}" height="{HEIGHT}">',
        f'<rect width="{WIDTH}" height="{HEIGHT}" rx="8" fill="#f4f6f8"/>',
        f'<line x1="{ax}" y1="{ay}" x2="{bx}" y2="{by}" stroke="#b8c2cc" stroke-width="4" stroke-dasharray="6 6"/>',
    ]
    if d:
        dx, dy = box(d)
        parts.append(f'<line x1="{ax}" y1="{ay}" x2="{dx}" y2="{dy}" stroke="#2f855a" stroke-width="4"/>')
    parts += [
        f'<circle cx="{ax}" cy="{ay}" r="7" fill="#2b6cb0"/>',
        f'<text x="{ax}" y="{ay - 11}" font-size="11" text-anchor="middle" fill="#2b6cb0">Pickup</text>',
        f'<circle cx="{bx}" cy="{by}" r="7" fill="#c05621"/>',
        f'<text x="{bx}" y="{by - 11}" font-size="11" text-anchor="middle" fill="#c05621">Dropoff</text>',
    ]
    if d:
        dx, dy = box(d)
        parts.append(f'<circle cx="{dx}" cy="{dy}" r="9" fill="#2f855a" stroke="#fff" stroke-width="3"/>')
    parts.append("</svg>")
    return "".join(parts)
