"""Open every page of the built book in headless Chromium and check that it renders.

For each page: the title is there, MathJax typeset the math (no raw $$ or \\( left in the text), every image the
page shows exists, and no error or Traceback text appears. A screenshot of each page goes to <build>/screenshots/.

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
            dom = render(browser, page, "--dump-dom").stdout
            found = problems_of(page, dom) if dom.strip() else ["Chromium returned no DOM"]
            if not found:
                break
        name = str(page.relative_to(html_dir)).replace("/", "__").removesuffix(".html")
        render(browser, page, f"--screenshot={shots / (name + '.png')}", "--window-size=1280,2400")
        return found

    failures = {}
    with ThreadPoolExecutor(os.cpu_count() or 1) as pool:  # one Chromium per core: each is mostly one thread
        found_per_page = list(pool.map(check, pages))
    for page, found in zip(pages, found_per_page):
        if found:
            failures[page.relative_to(html_dir)] = found
        print(f"{'FAIL' if found else 'ok  '} {page.relative_to(html_dir)}", flush=True)
    for page, found in failures.items():
        print(f"{page}: " + "; ".join(found), file=sys.stderr)
    print(f"{len(pages) - len(failures)} of {len(pages)} pages render; screenshots in {shots}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).resolve().parents[1] / "_build"))
