"""Open every page of the built book in headless Chromium and check that it renders.

For each page: the title is there, MathJax typeset the math (no raw $$ or \\( left in the text), every image the
page shows exists, and no error or Traceback text appears. A screenshot of each page goes to <build>/screenshots/,
and one of every figure as the page shows it (cut from a full-page screenshot at the same window width), beside a
table of each figure's rendered size: the pixel height of 10-point text at that size (matplotlib's default tick
labels), from the PNG's dpi and its shown/natural width. A figure whose 10-point text renders below MIN_TEXT_PX
fails the check: a reader cannot read its labels without zooming.

Usage: python scripts/check_book_in_browser.py [_build]   (exit 1 with a list of problems if any page fails)"""
from __future__ import annotations

import html
import os
import re
import shutil
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-default-apps",
         "--disable-sync", "--metrics-recording-only", "--disable-extensions", "--allow-file-access-from-files",
         "--hide-scrollbars", "--virtual-time-budget=15000"]


def chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")


def render(browser: str, page: Path, *extra: str) -> subprocess.CompletedProcess:
    """One headless Chromium with a profile of its own, so that several can run side by side."""
    with tempfile.TemporaryDirectory() as profile:
        return subprocess.run([browser, *FLAGS, f"--user-data-dir={profile}", *extra, page.resolve().as_uri()],
                              capture_output=True, text=True, timeout=120)


WINDOW_WIDTH = 1280  # a laptop browser; the theme's content column is narrower
MIN_TEXT_PX = 7.0  # 10-point text below this many CSS pixels is illegible at 100% zoom
MEASURE = """<script>window.addEventListener("load", () => {
  document.body.dataset.pageHeight = document.documentElement.scrollHeight;
  document.querySelectorAll("main img").forEach(img => { const r = img.getBoundingClientRect();
    img.dataset.box = [r.left + scrollX, r.top + scrollY, r.width, r.height, img.naturalWidth].join(","); });
});</script>"""


def measure(browser: str, page: Path) -> tuple[str, int, list[tuple[str, list[float]]]]:
    """The rendered DOM of a page, its height, and for each image in its main column (src, [left, top, width,
    height, natural width]) in CSS pixels, measured by Chromium on a copy of the page with a script that records
    them (the script leaves the page's text and images as they are)."""
    probe = page.with_name(page.stem + ".__measure.html")
    probe.write_text(page.read_text().replace("</body>", MEASURE + "</body>"))
    try:
        dom = render(browser, probe, "--dump-dom", f"--window-size={WINDOW_WIDTH},2400").stdout
    finally:
        probe.unlink()
    height = re.search(r'data-page-height="(\d+)"', dom)
    boxes = [(src, [float(v) for v in box.split(",")]) for src, box in
             re.findall(r'<img[^>]*?src="([^"]+)"[^>]*?data-box="([^"]+)"', dom)]
    return dom, int(height.group(1)) if height else 0, boxes


def text_px(image: Path, shown_width: float, natural_width: float) -> float | None:
    """CSS pixels of 10-point text in a figure shown `shown_width` wide: 10 pt is 10/72 inch at the PNG's dpi."""
    from PIL import Image

    with Image.open(image) as png:
        dpi = png.info.get("dpi", (None,))[0]
    return None if not dpi or not natural_width else 10 / 72 * dpi * shown_width / natural_width


def visible_text(dom: str) -> str:
    dom = re.sub(r"<(script|style|mjx-container|mjx-assistive-mml)\b.*?</\1>", " ", dom, flags=re.S | re.I)
    return html.unescape(re.sub(r"<[^>]+>", " ", dom))


def problems_of(page: Path, dom: str) -> list[str]:
    found = []
    if not re.search(r"<title>[^<]+</title>", dom):
        found.append("no title")
    text = visible_text(dom)
    if "$$" in text or re.search(r"\\\(|\\\[", text):
        found.append("raw LaTeX left in the text (MathJax did not typeset it)")
    if 'class="math' in dom and "<mjx-container" not in dom:
        found.append("math on the page but no MathJax output")
    if "Traceback (most recent call last)" in text or re.search(r'class="[^"]*\btraceback\b', dom):
        found.append("a Python traceback on the page")
    if re.search(r'class="[^"]*\b(system-message|output stderr)\b', dom):
        found.append("an error or stderr box on the page")
    for src in re.findall(r'<img[^>]+src="([^"]+)"', dom):
        if src.startswith("data:"):
            continue
        target = (page.parent / src.split("?")[0]).resolve()
        if src.startswith("http") or not target.exists():
            found.append(f"image {src} does not load")
    return found


def main(build: Path) -> int:
    browser = chromium()
    if browser is None:
        print("no Chromium found (apt-get install chromium)", file=sys.stderr)
        return 2
    html_dir, shots = build / "html", build / "screenshots"
    shots.mkdir(parents=True, exist_ok=True)
    pages = sorted(p for p in html_dir.rglob("*.html") if "_static" not in p.parts and p.name not in
                   ("genindex.html", "search.html", "py-modindex.html"))

    def check(page: Path) -> list[str]:
        for _ in range(2):  # a broken page fails twice; once, it can be a Chromium starved of CPU on a busy machine
            dom, height, boxes = measure(browser, page)
            found = problems_of(page, dom) if dom.strip() else ["Chromium returned no DOM"]
            if not found:
                break
        name = str(page.relative_to(html_dir)).replace("/", "__").removesuffix(".html")
        shot = shots / f"{name}.png"  # the whole page, at the width a laptop shows it
        render(browser, page, f"--screenshot={shot}", f"--window-size={WINDOW_WIDTH},{max(height, 800)}")
        figures = [(src, box) for src, box in boxes if "_images/" in src and box[2] > 0]
        if figures and shot.exists():
            from PIL import Image

            with Image.open(shot) as full:
                for i, (src, (left, top, width, tall, natural)) in enumerate(figures):
                    full.crop((int(left), int(top), int(left + width), int(top + tall))).save(
                        shots / f"{name}.figure{i + 1}.png")
                    px = text_px(page.parent / src.split("?")[0], width, natural)
                    sizes.append((name, i + 1, width, px))
                    if px is not None and px < MIN_TEXT_PX:
                        found.append(f"figure {i + 1} ({Path(src).name}) shows 10-point text at {px:.1f} px "
                                     f"(below {MIN_TEXT_PX}): make it narrower or its fonts larger")
        return found

    failures = {}
    sizes = []
    with ThreadPoolExecutor(os.cpu_count() or 1) as pool:  # one Chromium per core: each is mostly one thread
        found_per_page = list(pool.map(check, pages))
    for page, found in zip(pages, found_per_page):
        if found:
            failures[page.relative_to(html_dir)] = found
        print(f"{'FAIL' if found else 'ok  '} {page.relative_to(html_dir)}", flush=True)
    for page, found in failures.items():
        print(f"{page}: " + "; ".join(found), file=sys.stderr)
    print("\nfigure                                   shown px  10-pt text px")
    for name, i, width, px in sorted(sizes):
        print(f"{name + ' #' + str(i):<40} {width:8.0f}  {'?' if px is None else f'{px:.1f}':>13}")
    print(f"{len(pages) - len(failures)} of {len(pages)} pages render; screenshots in {shots}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).resolve().parents[1] / "_build"))
