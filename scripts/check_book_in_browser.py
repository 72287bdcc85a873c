"""Open every page of the built book in headless Chromium and check that it renders.

For each page: the title is there, MathJax typeset the math (no raw $$ or \\( left in the text), every image the
page shows exists, every link within the book leads to a page and anchor that exist, and no error or Traceback text
appears, and no table cell is cut short ("..."). Each page is also opened at a phone's width, 390 CSS pixels (inside
a 390-pixel frame: headless Chromium opens no window narrower than 500), and screenshot there; a page wider than
that fails (a wide table or code block must scroll inside its own box, not the page). At 1280 px, with every dropdown
open, a table wider than its column that no horizontally scrolling box holds fails (it is clipped, or spills past the
column), and so does a pandas table that shows its index column, and a chapter of MAX_HEIGHT taller than its budget (a chapter shows typeset tables,
saddle_book.page_tables, or a frame's to_html(index=False)), on every page. A screenshot of each page goes to
<build>/screenshots/, and one of every figure as the page shows it (cut from a full-page screenshot at the same window
width), beside a table of each figure's rendered size: the pixel height of 10-point text at that size (matplotlib's default tick
labels), from the PNG's dpi and its shown/natural width. A figure whose 10-point text renders below MIN_TEXT_PX
fails the check (a reader cannot read its labels without zooming), and so does one drawn wider than the text
column (COLUMN_INCHES at its dpi: shrunk to the column, its text shrinks) or below MIN_DPI. Legends over data are
not visible to a browser: saddle_book.figure_style.publish refuses a figure wider than the column and
tests/test_plots.py checks that every figure keeps its legend off the panels.

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
MIN_DPI = 200
COLUMN_INCHES = 7.0  # saddle_book's figures are drawn within 6.5 inches; a legend below the panels may add a little
MEASURE = """<script>window.addEventListener("load", () => {
  document.body.dataset.pageHeight = document.documentElement.scrollHeight;
  document.querySelectorAll("main img").forEach(img => { const r = img.getBoundingClientRect();
    img.dataset.box = [r.left + scrollX, r.top + scrollY, r.width, r.height, img.naturalWidth].join(","); });
});</script>"""


# Issue 48's budget for its three longest chapters: half of each page's height in the build that reading judged
# (fee0498, 2026-12-05: 22,137, 21,662 and 17,143 CSS pixels at WINDOW_WIDTH, measured by measure() below), so they
# do not grow back; a longer page fails.
MAX_HEIGHT = {"book/02_saddle_points.html": 11068, "book/04_cifar_lt.html": 10831, "book/07_scorecard.html": 8571}


def height_problems(name: str, height: int) -> list[str]:
    """A page of MAX_HEIGHT taller than its budget."""
    limit = MAX_HEIGHT.get(name)
    return [f"the page is {height} px tall at {WINDOW_WIDTH} px, over its budget of {limit} px (half its height when "
            "issue 48 was read): fold detail into dropdowns or cut"] if limit and height > limit else []


PHONE_WIDTH = 390  # a phone (iPhone 12-15 class), shown in a frame of this width
PHONE_MEASURE = """<script>window.addEventListener("load", () => {
  const clipped = e => { for (let a = e.parentElement; a; a = a.parentElement) {
    if (["auto", "scroll", "hidden"].includes(getComputedStyle(a).overflowX)) return true; } return false; };
  const wide = [...document.querySelectorAll("body *")].filter(e => e.getBoundingClientRect().right > innerWidth + 1
    && !clipped(e) && getComputedStyle(e).position !== "fixed"
    && !(e.parentElement && e.parentElement.getBoundingClientRect().right > innerWidth + 1))
    .slice(0, 3).map(e => e.tagName.toLowerCase() + (e.className && e.className.baseVal === undefined ?
      "." + e.className.trim().split(/ +/).join(".") : ""));
  parent.postMessage([document.documentElement.scrollWidth, document.documentElement.scrollHeight,
                      wide.join(", ")], "*");
});</script>"""
PHONE_FRAME = """<html><body style="margin:0"><iframe id="phone" src="{src}" style="width:{width}px;height:{height}px;border:0">
</iframe><script>addEventListener("message", e => {{ document.body.dataset.pageWidth = e.data[0];
  document.body.dataset.pageHeight = e.data[1]; document.body.dataset.wide = e.data[2]; }});</script></body></html>"""


# With every dropdown open (details, and the admonitions togglebutton folds), each table in the main column whose
# content is wider than the box that holds it, and no horizontally scrolling box (overflow-x auto or scroll: the table
# itself, as book.css makes every output table, or an ancestor inside the article) to scroll it in: [its index on the
# page, its width, the width it has, the first row's first cells]
CLIP_MEASURE = """<script>window.addEventListener("load", () => {
  document.querySelectorAll("main details").forEach(d => d.open = true);
  document.querySelectorAll("main .toggle-hidden").forEach(e => e.classList.remove("toggle-hidden"));
  const column = document.querySelector("main article") || document.querySelector("main") || document.body;
  const scrolls = e => ["auto", "scroll"].includes(getComputedStyle(e).overflowX);
  const clipped = [];
  document.querySelectorAll("main table").forEach((t, i) => {
    const box = t.getBoundingClientRect(), holder = t.parentElement;
    if (!box.width || !holder) return;  // not drawn
    const needed = Math.max(t.scrollWidth, box.width), room = holder.clientWidth;
    if (needed <= room + 1 && t.scrollWidth <= t.clientWidth + 1) return;
    // the table's own box, or one within the column (the column scrolling sideways as a whole does not count)
    for (let e = t; e && e !== column; e = e.parentElement) if (scrolls(e)) return;
    const head = [...t.querySelectorAll("tr:first-child > th, tr:first-child > td")].slice(0, 4)
      .map(c => c.textContent.trim().replace(/\\s+/g, " ").slice(0, 24));
    clipped.push([i + 1, Math.round(needed), Math.round(room), head.join(" | ")]);
  });
  document.body.dataset.clipped = JSON.stringify(clipped);
});</script>"""


def dump_with(browser: str, page: Path, script: str, window: str) -> str:
    """The DOM Chromium renders from a copy of the page with `script` added (it records measurements as data
    attributes), in a window of `window` ('width,height') CSS pixels; the copy is removed."""
    probe = page.with_name(page.stem + ".__probe.html")
    probe.write_text(page.read_text().replace("</body>", script + "</body>"))
    try:
        return render(browser, probe, "--dump-dom", f"--window-size={window}").stdout
    finally:
        probe.unlink()


def phone_view(browser: str, page: Path, screenshot: Path | None = None) -> tuple[int, int, str]:
    """(the page's scroll width, its height, the outermost elements past the phone's edge) in a PHONE_WIDTH-pixel
    frame, and with `screenshot` an image of it
    there: a page wider than the phone scrolls sideways as a whole (a wide table in its own scrolling box does not).
    The page reports its size to the frame's page (postMessage works between file: pages)."""
    probe = page.with_name(page.stem + ".__phone.html")
    probe.write_text(page.read_text().replace("</body>", PHONE_MEASURE + "</body>"))
    frame = page.with_name(page.stem + ".__frame.html")
    try:
        frame.write_text(PHONE_FRAME.format(src=probe.name, width=PHONE_WIDTH, height=1600))
        dom = render(browser, frame, "--dump-dom", "--window-size=500,1600").stdout
        width, height = (re.search(rf'data-page-{k}="(\d+)"', dom) for k in ("width", "height"))
        wide, tall = int(width.group(1)) if width else 0, int(height.group(1)) if height else 0
        culprits = re.search(r'data-wide="([^"]*)"', dom)
        if screenshot is not None:  # the whole page's height in the frame, the frame alone in the picture
            frame.write_text(PHONE_FRAME.format(src=probe.name, width=PHONE_WIDTH, height=max(tall, 800)))
            render(browser, frame, f"--screenshot={screenshot}", f"--window-size=500,{max(tall, 800)}")
        return wide, tall, html.unescape(culprits.group(1)) if culprits else ""
    finally:
        probe.unlink(missing_ok=True)
        frame.unlink(missing_ok=True)


def measure(browser: str, page: Path) -> tuple[str, int, list[tuple[str, list[float]]]]:
    """The rendered DOM of a page, its height, and for each image in its main column (src, [left, top, width,
    height, natural width]) in CSS pixels, measured by Chromium on a copy of the page with a script that records
    them (the script leaves the page's text and images as they are)."""
    dom = dump_with(browser, page, MEASURE, f"{WINDOW_WIDTH},2400")
    height = re.search(r'data-page-height="(\d+)"', dom)
    boxes = [(src, [float(v) for v in box.split(",")]) for src, box in
             re.findall(r'<img[^>]*?src="([^"]+)"[^>]*?data-box="([^"]+)"', dom)]
    return dom, int(height.group(1)) if height else 0, boxes


def clipped_tables(browser: str, page: Path) -> list[str]:
    """Tables wider than their column at WINDOW_WIDTH, every dropdown open, that no horizontally scrolling box holds:
    a reader loses their right-hand side (CLIP_MEASURE)."""
    import json

    dom = dump_with(browser, page, CLIP_MEASURE, f"{WINDOW_WIDTH},2400")
    found = re.search(r'data-clipped="([^"]*)"', dom)
    rows = json.loads(html.unescape(found.group(1))) if found else []
    return [f"table {i} ({head or 'no header'}) is {needed} px wide in a column of {column} px at {WINDOW_WIDTH} px "
            "and nothing scrolls it: it is clipped" for i, needed, column, head in rows]


def index_columns(dom: str) -> list[str]:
    """pandas tables (class "dataframe") whose body rows start with a header cell: the frame's index shown as a
    column (a chapter shows its tables through saddle_book.page_tables.typeset, which has none)."""
    found = []
    tables = re.findall(r'<table\b[^>]*\bclass="[^"]*\bdataframe\b[^"]*"[^>]*>(.*?)</table>', dom, re.S | re.I)
    for i, table in enumerate(tables, start=1):
        body = re.search(r"<tbody\b[^>]*>(.*?)</tbody>", table, re.S | re.I)
        if body and re.search(r"<tr\b[^>]*>\s*<th\b", body.group(1), re.I):
            head = [re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", "", c))).strip()
                    for c in re.findall(r"<th\b[^>]*>(.*?)</th>", table, re.S | re.I)[:4]]
            found.append(f"pandas table {i} of the page ({' | '.join(h for h in head if h) or 'no header'}) shows its "
                         "index column: typeset it (saddle_book.page_tables.typeset) without the index")
    return found


def layout_problems(browser: str, page: Path, dom: str) -> list[str]:
    """The two checks of a page's tables at a laptop's width: no index column shown, nothing clipped."""
    return index_columns(dom) + clipped_tables(browser, page)


def png_dpi(image: Path) -> float | None:
    from PIL import Image

    with Image.open(image) as png:
        return png.info.get("dpi", (None,))[0]


def text_px(image: Path, shown_width: float, natural_width: float) -> float | None:
    """CSS pixels of 10-point text in a figure shown `shown_width` wide: 10 pt is 10/72 inch at the PNG's dpi."""
    dpi = png_dpi(image)
    return None if not dpi or not natural_width else 10 / 72 * dpi * shown_width / natural_width


def figure_problems(image: Path, natural_width: float) -> list[str]:
    """A figure below MIN_DPI, or drawn wider than the text column at its dpi."""
    dpi = png_dpi(image)
    if not dpi:
        return [f"figure {image.name} carries no dpi"]
    found = [f"figure {image.name} is {dpi:.0f} dpi (at least {MIN_DPI})"] if dpi < MIN_DPI - 1 else []
    if natural_width / dpi > COLUMN_INCHES:
        found.append(f"figure {image.name} is drawn {natural_width / dpi:.1f} in wide (the column: {COLUMN_INCHES})")
    return found


def truncated_cells(dom: str) -> list[str]:
    """Table cells that end in '...' (pandas cuts long text there): the reader loses the end of the claim."""
    cells = re.findall(r"<td[^>]*>([^<]*?)(?:\.\.\.|…)\s*</td>", dom)
    return [f"a table cell is cut short: {html.unescape(c)[:60]!r}..." for c in cells[:3]]


def visible_text(dom: str) -> str:
    dom = re.sub(r"<(script|style|mjx-container|mjx-assistive-mml)\b.*?</\1>", " ", dom, flags=re.S | re.I)
    return html.unescape(re.sub(r"<[^>]+>", " ", dom))


# Files a page links that `make pdf` writes into the HTML after this check has run (scripts/book_pdf.py)
MADE_AFTER_THE_CHECK = {"saddle-book.pdf"}


def dead_links(page: Path, dom: str) -> list[str]:
    """Links within the book whose file, or whose #anchor in that file, does not exist."""
    found = []
    markup = re.sub(r"<script\b.*?</script>", " ", dom, flags=re.S | re.I)  # links, not code that builds them
    for href in sorted(set(re.findall(r'<a\b[^>]*\bhref="([^"]+)"', markup))):
        href = html.unescape(href)
        if re.match(r"[a-z][a-z0-9+.-]*:", href) or href.startswith("//"):  # http:, mailto:, data:: not ours
            continue
        path, _, anchor = href.partition("#")
        if not path:  # an anchor on this page
            if anchor and not re.search(rf'\bid="{re.escape(anchor)}"', markup):
                found.append(f"link {href}: no #{anchor} on this page")
            continue
        target = (page.parent / path.split("?")[0]).resolve()
        if target.is_dir():
            target = target / "index.html"
        if not target.exists():
            if target.name not in MADE_AFTER_THE_CHECK:
                found.append(f"link {href} leads nowhere")
        elif anchor and target.suffix == ".html" and not re.search(rf'\bid="{re.escape(anchor)}"',
                                                                    target.read_text(errors="replace")):
            found.append(f"link {href}: no #{anchor} in {target.name}")
    return found


TEX_COMMANDS = ("lambda", "rho", "min", "max", "frac", "mathrm", "mathbb", "text", "lVert", "rVert", "lvert", "rvert",
                "langle", "rangle", "nabla", "mathcal", "beta", "sigma", "theta", "sum")


def problems_of(page: Path, dom: str) -> list[str]:
    found = []
    if not re.search(r"<title>[^<]+</title>", dom):
        found.append("no title")
    text = visible_text(dom)
    if "$$" in text or re.search(r"\\\(|\\\[", text):
        found.append("raw LaTeX left in the text (MathJax did not typeset it)")
    prose = visible_text(re.sub(r"<(pre|code)\b.*?</\1>", " ", dom, flags=re.S | re.I))  # code may hold a backslash
    command = re.search(r"\\(?:" + "|".join(TEX_COMMANDS) + r")(?![A-Za-z])", prose)
    if command:  # e.g. a {ref} whose link text is a caption's source: math outside $...$ is never typeset
        found.append(f"raw LaTeX left in the text: {prose[max(0, command.start() - 40):command.end() + 20]!r}")
    if 'class="math' in dom and "<mjx-container" not in dom:
        found.append("math on the page but no MathJax output")
    if "Traceback (most recent call last)" in text or re.search(r'class="[^"]*\btraceback\b', dom):
        found.append("a Python traceback on the page")
    if re.search(r'class="[^"]*\b(system-message|output stderr)\b', dom):
        found.append("an error or stderr box on the page")
    found += dead_links(page, dom)
    found += truncated_cells(dom)
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
                   ("genindex.html", "search.html", "py-modindex.html")
                   and 'http-equiv="refresh"' not in p.read_text(errors="replace")[:2000].lower())  # a redirect: its target is checked

    def check(page: Path) -> list[str]:
        for _ in range(2):  # a broken page fails twice; once, it can be a Chromium starved of CPU on a busy machine
            dom, height, boxes = measure(browser, page)
            found = problems_of(page, dom) if dom.strip() else ["Chromium returned no DOM"]
            if not found:
                break
        if dom.strip():
            found += layout_problems(browser, page, dom)
            found += height_problems(str(page.relative_to(html_dir)), height)
            heights[str(page.relative_to(html_dir))] = height
        name = str(page.relative_to(html_dir)).replace("/", "__").removesuffix(".html")
        shot = shots / f"{name}.png"  # the whole page, at the width a laptop shows it
        render(browser, page, f"--screenshot={shot}", f"--window-size={WINDOW_WIDTH},{max(height, 800)}")
        wide, _, culprits = phone_view(browser, page, shots / f"{name}.phone.png")
        phone.append((name, wide))
        if wide > PHONE_WIDTH:
            found.append(f"at {PHONE_WIDTH} px the page is {wide} px wide: it scrolls sideways on a phone "
                         f"(past the edge: {culprits or 'unknown'})")
        figures = [(src, box) for src, box in boxes if "_images/" in src and box[2] > 0]
        if figures and shot.exists():
            from PIL import Image

            with Image.open(shot) as full:
                for i, (src, (left, top, width, tall, natural)) in enumerate(figures):
                    full.crop((int(left), int(top), int(left + width), int(top + tall))).save(
                        shots / f"{name}.figure{i + 1}.png")
                    px = text_px(page.parent / src.split("?")[0], width, natural)
                    sizes.append((name, i + 1, width, px))
                    found += figure_problems(page.parent / src.split("?")[0], natural)
                    if px is not None and px < MIN_TEXT_PX:
                        found.append(f"figure {i + 1} ({Path(src).name}) shows 10-point text at {px:.1f} px "
                                     f"(below {MIN_TEXT_PX}): make it narrower or its fonts larger")
        return found

    failures, heights = {}, {}
    sizes, phone = [], []
    with ThreadPoolExecutor(os.cpu_count() or 1) as pool:  # one Chromium per core: each is mostly one thread
        found_per_page = list(pool.map(check, pages))
    for page, found in zip(pages, found_per_page):
        name = str(page.relative_to(html_dir))
        if found:
            failures[name] = found
        print(f"{'FAIL' if found else 'ok  '} {name}", flush=True)
    for page, found in failures.items():
        print(f"{page}: " + "; ".join(found), file=sys.stderr)
    print("\nfigure                                   shown px  10-pt text px")
    for name, i, width, px in sorted(sizes):
        print(f"{name + ' #' + str(i):<40} {width:8.0f}  {'?' if px is None else f'{px:.1f}':>13}")
    print("\npage heights at 1280 px against their budget: " + ", ".join(
        f"{name} {heights[name]} of {limit}" for name, limit in MAX_HEIGHT.items() if name in heights))
    sideways = [f"{name} ({wide} px)" for name, wide in sorted(phone) if wide > PHONE_WIDTH]
    print(f"\nat {PHONE_WIDTH} px (phone screenshots: *.phone.png), pages wider than the window: "
          f"{', '.join(sideways) or 'none'}")
    print(f"{len(pages) - len(failures)} of {len(pages)} pages render; screenshots in {shots}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).resolve().parents[1] / "_build"))
