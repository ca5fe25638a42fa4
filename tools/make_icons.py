"""Draw the app's PNG icons (192 and 512, plain and maskable) into static/icons/. Run once:

    python tools/make_icons.py

The PNGs are committed; this script documents how they were made. A maskable icon keeps its
motif inside the central 80% "safe zone" and fills the whole square (launchers crop it).
"""

from __future__ import annotations

from pathlib import Path

from PIL import Image, ImageDraw

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "static" / "icons"
GREEN = (31, 95, 58, 255)
LEAF = (232, 243, 236, 255)
LIGHT = (126, 224, 143, 255)


def _leaf(draw: ImageDraw.ImageDraw, size: int, scale: float) -> None:
    """A leaf with its midrib, centred, ``scale`` times the icon's size."""
    c = size / 2
    r = size * scale / 2
    draw.ellipse((c - r * 0.55, c - r, c + r * 0.55, c + r), fill=LEAF)
    draw.line((c, c - r * 0.85, c, c + r * 1.05), fill=GREEN, width=max(2, size // 40))
    for i in range(1, 4):
        y = c - r * 0.55 + i * r * 0.35
        w = max(2, size // 64)
        draw.line((c, y, c - r * 0.38, y - r * 0.28), fill=GREEN, width=w)
        draw.line((c, y, c + r * 0.38, y - r * 0.28), fill=GREEN, width=w)
    dot = size * 0.06
    draw.ellipse((c + r * 0.5, c + r * 0.5, c + r * 0.5 + dot, c + r * 0.5 + dot), fill=LIGHT)


def icon(size: int, maskable: bool) -> Image.Image:
    """One icon: a rounded green tile (plain) or a full-bleed green square (maskable)."""
    big = size * 4  # draw large, then downsample: smooth edges without antialiasing support
    image = Image.new("RGBA", (big, big), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    if maskable:
        draw.rectangle((0, 0, big, big), fill=GREEN)
        _leaf(draw, big, 0.56)
    else:
        draw.rounded_rectangle((0, 0, big - 1, big - 1), radius=big // 5, fill=GREEN)
        _leaf(draw, big, 0.74)
    return image.resize((size, size), Image.Resampling.LANCZOS)


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    for size in (192, 512):
        for maskable in (False, True):
            name = f"{'maskable' if maskable else 'icon'}-{size}.png"
            image = icon(size, maskable)
            image = image.quantize(colors=64, method=Image.Quantize.FASTOCTREE)
            image.save(OUT / name, optimize=True)
            print(f"{name}: {(OUT / name).stat().st_size} bytes")


if __name__ == "__main__":
    main()
