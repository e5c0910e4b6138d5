"""Draw the application icon: ``icons/tamper-workbench.svg`` and PNG, ICO and ICNS versions.

One list of shapes (a photograph with a marked region under a magnifying glass, on a dark tile)
is written both as SVG and, with Pillow at 4x and shrunk (anti-aliasing), as PNG at the sizes the
freedesktop icon theme uses; the ICO (Windows) and ICNS (macOS) files hold the same pictures.
Run from the repository root: ``python resources/make_icons.py``.
"""

from __future__ import annotations

from pathlib import Path

from PIL import Image, ImageDraw

ICONS = Path(__file__).resolve().parent / "icons"
NAME = "tamper-workbench"
SIZES = (16, 24, 32, 48, 64, 128, 256, 512)
SUPERSAMPLE = 4
VIEW = 256  # the SVG's coordinate system; shapes below use it

TILE, PHOTO, SKY, HILL, SUN, MARK, GLASS, RIM = (
    "#1f2a3a", "#f4f1e8", "#9cc3e6", "#4f7d4a", "#f2c14e", "#ff5a36", "#ffffff", "#0f1620")

# (kind, geometry, fill, outline, outline width); geometry in VIEW units.
SHAPES: list[tuple[str, tuple[float, ...], str | None, str | None, float]] = [
    ("rounded", (8, 8, 248, 248, 44), TILE, None, 0),
    ("rect", (36, 52, 196, 172), PHOTO, None, 0),
    ("rect", (46, 62, 186, 162), SKY, None, 0),
    ("polygon", (46, 162, 96, 104, 130, 138, 158, 112, 186, 140, 186, 162), HILL, None, 0),
    ("ellipse", (140, 72, 166, 98), SUN, None, 0),
    ("ellipse", (70, 98, 132, 150), None, MARK, 8),
    ("ellipse", (104, 104, 212, 212), None, RIM, 26),
    ("ellipse", (104, 104, 212, 212), None, GLASS, 12),
    ("line", (196, 196, 232, 232), None, RIM, 30),
    ("line", (196, 196, 230, 230), None, GLASS, 16),
]


def svg() -> str:
    """The icon as an SVG document."""
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{VIEW}" height="{VIEW}" viewBox="0 0 {VIEW} {VIEW}">',
             "<title>Tamper Workbench</title>"]
    for kind, g, fill, outline, width in SHAPES:
        paint = f'fill="{fill or "none"}"' + (f' stroke="{outline}" stroke-width="{width}"' if outline else "")
        if kind == "rounded":
            parts.append(f'<rect x="{g[0]}" y="{g[1]}" width="{g[2] - g[0]}" height="{g[3] - g[1]}" rx="{g[4]}" {paint}/>')
        elif kind == "rect":
            parts.append(f'<rect x="{g[0]}" y="{g[1]}" width="{g[2] - g[0]}" height="{g[3] - g[1]}" {paint}/>')
        elif kind == "polygon":
            points = " ".join(f"{g[i]},{g[i + 1]}" for i in range(0, len(g), 2))
            parts.append(f'<polygon points="{points}" {paint}/>')
        elif kind == "ellipse":
            cx, cy, rx, ry = (g[0] + g[2]) / 2, (g[1] + g[3]) / 2, (g[2] - g[0]) / 2, (g[3] - g[1]) / 2
            parts.append(f'<ellipse cx="{cx}" cy="{cy}" rx="{rx}" ry="{ry}" {paint}/>')
        elif kind == "line":
            parts.append(f'<line x1="{g[0]}" y1="{g[1]}" x2="{g[2]}" y2="{g[3]}" stroke="{outline}" '
                         f'stroke-width="{width}" stroke-linecap="round"/>')
    parts.append("</svg>")
    return "\n".join(parts) + "\n"


def raster(size: int) -> Image.Image:
    """The icon drawn at ``size`` x ``size`` pixels (RGBA)."""
    big = size * SUPERSAMPLE
    scale = big / VIEW
    image = Image.new("RGBA", (big, big), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    for kind, g, fill, outline, width in SHAPES:
        box = [v * scale for v in g]
        stroke = max(1, round(width * scale)) if outline else 0
        if kind == "rounded":
            draw.rounded_rectangle(box[:4], radius=box[4], fill=fill)
        elif kind == "rect":
            draw.rectangle(box, fill=fill)
        elif kind == "polygon":
            draw.polygon(box, fill=fill)
        elif kind == "ellipse":
            # SVG strokes are centred on the outline; Pillow draws inwards: grow the box by half.
            half = stroke / 2
            draw.ellipse([box[0] - half, box[1] - half, box[2] + half, box[3] + half], fill=fill,
                         outline=outline, width=stroke)
        elif kind == "line":
            draw.line(box, fill=outline, width=stroke)
            radius = stroke / 2  # round caps
            for x, y in ((box[0], box[1]), (box[2], box[3])):
                draw.ellipse([x - radius, y - radius, x + radius, y + radius], fill=outline)
    return image.resize((size, size), Image.Resampling.LANCZOS)


def main() -> None:
    ICONS.mkdir(exist_ok=True)
    (ICONS / f"{NAME}.svg").write_text(svg(), encoding="utf-8")
    pictures = {size: raster(size) for size in SIZES}
    for size, picture in pictures.items():
        picture.save(ICONS / f"{NAME}-{size}.png", optimize=True)
    pictures[256].save(ICONS / f"{NAME}.ico", sizes=[(s, s) for s in SIZES if s <= 256])
    pictures[512].save(ICONS / f"{NAME}.icns")
    print(f"wrote {ICONS}: svg, png {', '.join(map(str, SIZES))}, ico, icns")


if __name__ == "__main__":
    main()
