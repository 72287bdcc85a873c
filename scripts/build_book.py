"""Build the book: execute every chapter notebook with papermill at one scale, then run Jupyter Book.

The source notebooks in book/ carry no outputs (reviewable in git). Executed copies, with every other page of
the book, are assembled in _build/source/ and built from there into _build/html, warnings as errors.

At the cpu scale the chapters only read the committed records, so they run side by side (one per core); at the
other scales they run one after another, since a later chapter reads the runs an earlier one trained.

Usage: python scripts/build_book.py [--scale cpu] [--build _build] [--jobs N]"""
from __future__ import annotations

import argparse
import datetime
import multiprocessing
import os
import re
import shutil
import subprocess
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import papermill as pm
import yaml

from saddle_book import declared

sys.path.insert(0, str(Path(__file__).parent))
from book_pdf import link_pdf  # noqa: E402 (the PDF's link, which `make pdf` restores)
from saddle_book.notebook import BOOK_SCALES

ROOT = Path(__file__).resolve().parents[1]


def chapters_in_toc(toc: dict) -> list[str]:
    files = [toc["root"]]
    for part in toc.get("parts", []):
        files += [c["file"] for c in part.get("chapters", [])]
    return files


def execute(chapter: Path, target: Path, scale: str, progress_bar: bool = True) -> dict:
    """Run one notebook; a failing cell stops the build with the chapter and the cell named."""
    log = target.with_suffix(".runs.log")
    log.unlink(missing_ok=True)
    os.environ["SADDLE_RUN_LOG"] = str(log)  # the kernel inherits it; one line per record read, trained or computed
    started = time.time()
    try:
        pm.execute_notebook(str(chapter), str(target), parameters={"scale": scale}, cwd=str(ROOT),
                            kernel_name="python3", progress_bar=progress_bar, report_mode=False)
    except pm.PapermillExecutionError as exc:
        sys.exit(f"chapter {chapter.name} failed at cell {exc.exec_count} ({exc.ename}: {exc.evalue}); "
                 f"the executed notebook is {target}")
    actions = log.read_text().split()[::2] if log.exists() else []
    log.unlink(missing_ok=True)
    return {"chapter": chapter.stem, "seconds": time.time() - started, "trained": actions.count("trained"),
            "computed": actions.count("computed"), "read": actions.count("read")}


# Figures a markdown page shows from a chapter's glue (myst-nb pastes figures only within their own notebook):
# (executed notebook, glue key) -> the image the page's {figure} directive names.
PAGE_FIGURES = {("book/07_scorecard.ipynb", "fig_07_overview"): "book/_generated/overview.png"}


def export_figure(notebook: Path, key: str, target: Path) -> None:
    """Write the PNG glued under `key` in an executed notebook to `target` (exit with the key named if absent)."""
    import base64
    import json
    for cell in json.loads(notebook.read_text())["cells"]:
        for output in cell.get("outputs", []):
            if output.get("metadata", {}).get("scrapbook", {}).get("name") == key:
                data = output["data"].get("application/papermill.record/image/png")
                if data:
                    target.parent.mkdir(parents=True, exist_ok=True)
                    target.write_bytes(base64.b64decode("".join(data) if isinstance(data, list) else data))
                    return
    sys.exit(f"{notebook.name} glued no figure {key!r}, which a page of the book shows")


def write_citation(root: Path, target: Path, today: datetime.date | None = None) -> None:
    """The book's citation as this build makes it, for book/cite.md to include: the title and authors of
    _config.yml, the version of pyproject.toml, the commit (git rev-parse HEAD, and whether tracked files differ
    from it) and the build date. Without git, it names the command that gives the commit."""
    settings = yaml.safe_load((root / "_config.yml").read_text())
    version = re.search(r'^version = "([^"]+)"', (root / "pyproject.toml").read_text(), re.M).group(1)
    try:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True,
                                check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=root,
                               capture_output=True, text=True, check=True).stdout.strip()
        commit_text = f"commit {commit}" + (" with uncommitted changes" if dirty else "")
        short = f"commit {commit[:12]}" + (" with uncommitted changes" if dirty else "")  # fits a phone's width
    except (OSError, subprocess.CalledProcessError):
        commit_text = short = "the commit of your checkout (git rev-parse HEAD)"
    date = (today or datetime.date.today()).isoformat()
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(
        f"{settings['author']} ({date[:4]}). *{settings['title']}*, version {version}, {short}, built {date}.\n\n"
        "```bibtex\n@misc{saddlebook,\n"
        f"  title   = {{{settings['title']}}},\n"
        f"  author  = {{{{{settings['author']}}}}},\n"
        f"  year    = {{{date[:4]}}},\n"
        f"  version = {{{version}}},\n"
        f"  note    = {{Jupyter Book, version {version}, {commit_text}, built {date}. Numbers at the cpu and "
        "r8-n5000 scales are Fashion-MNIST-LT, not CIFAR}\n}\n```\n")


def add_repository(config: Path, url: str) -> None:
    """Name a real public repository in the build's _config.yml: launch (Binder, Colab) and repository buttons."""
    if not url.startswith("https://"):
        sys.exit(f"SADDLE_REPOSITORY_URL must be an https:// address of the public repository, got {url!r}")
    settings = yaml.safe_load(config.read_text())
    settings["repository"] = {"url": url, "path_to_book": ".", "branch": "main"}
    settings["launch_buttons"] = {"notebook_interface": "classic", "binderhub_url": "https://mybinder.org",
                                  "colab_url": "https://colab.research.google.com"}
    settings.setdefault("html", {})["use_repository_button"] = True
    config.write_text(yaml.safe_dump(settings, sort_keys=False))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scale", default="cpu", choices=BOOK_SCALES)
    parser.add_argument("--build", default=str(ROOT / "_build"), help="a folder named _build (Jupyter Book writes "
                        "its pages to <parent>/_build/html whatever the name)")
    parser.add_argument("--jobs", type=int, default=None, help="chapters executed at once (default: one per core "
                        "at the cpu scale, else 1)")
    args = parser.parse_args()
    if Path(args.build).name != "_build":  # before anything is written
        parser.error(f"--build must be a folder named _build, got {args.build!r} (the pages would land in "
                     f"{Path(args.build).parent / '_build' / 'html'}, not in it)")
    if args.jobs is not None and args.jobs < 1:
        parser.error(f"--jobs must be an integer >= 1, got {args.jobs}")
    jobs = args.jobs or (os.cpu_count() or 1 if args.scale == "cpu" else 1)
    build = Path(args.build).resolve()  # Jupyter Book runs in ROOT: a relative path would name two folders
    source = build / "source"
    if source.exists():
        shutil.rmtree(source)
    shutil.copytree(ROOT / "book", source / "book", ignore=shutil.ignore_patterns("*.ipynb", ".ipynb_checkpoints"))
    declared.write_markdown(ROOT, source / "book" / "_generated" / "declared.md")  # the appendix's table, from git
    write_citation(ROOT, source / "book" / "_generated" / "citation.md")  # book/cite.md: this build's commit and date
    # both packages' source beside the pages, so that book/run_yourself.md's links to ../src/<package>/*.py resolve
    # (Sphinx copies each file a page links into _build/html/_downloads)
    for package in ("saddle", "saddle_book"):
        shutil.copytree(ROOT / "src" / package, source / "src" / package,
                        ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    for name in ("_config.yml", "_toc.yml"):
        shutil.copy(ROOT / name, source / name)
    shutil.copytree(ROOT / "_static", source / "_static")  # book.css: wide outputs scroll in their own box
    if os.environ.get("SADDLE_REPOSITORY_URL"):
        add_repository(source / "_config.yml", os.environ["SADDLE_REPOSITORY_URL"])
    entries = [e for e in chapters_in_toc(yaml.safe_load((ROOT / "_toc.yml").read_text()))
               if (ROOT / f"{e}.ipynb").exists()]
    print(f"== executing {len(entries)} chapters at scale={args.scale}, {jobs} at a time", flush=True)
    if args.scale == "cpu":  # the cpu book is built from the committed records: a missing one fails, never trains
        os.environ.setdefault("SADDLE_READ_ONLY", "1")
    if jobs > 1 and "OMP_NUM_THREADS" not in os.environ:  # the kernels share the cores instead of each taking all
        os.environ["OMP_NUM_THREADS"] = str(max(1, (os.cpu_count() or 1) // jobs))
    # each in a process of its own: execute() sets the kernel's run log through os.environ
    with ProcessPoolExecutor(jobs, mp_context=multiprocessing.get_context("fork")) as pool:
        summary = list(pool.map(execute, [ROOT / f"{e}.ipynb" for e in entries],
                                [source / f"{e}.ipynb" for e in entries], [args.scale] * len(entries),
                                [jobs == 1] * len(entries)))
    for (notebook, key), image in PAGE_FIGURES.items():
        export_figure(source / notebook, key, source / image)
    started = time.time()
    shutil.rmtree(build / "html", ignore_errors=True)  # no stale pages or images from an earlier build
    jupyter_book = Path(sys.executable).parent / "jupyter-book"
    built = subprocess.run([str(jupyter_book), "build", str(source), "--path-output", str(build.parent),
                            "-W", "--keep-going"], cwd=ROOT)
    print("\nchapter                          seconds  runs trained  analyses computed  records read")
    for row in summary:
        print(f"{row['chapter']:<32} {row['seconds']:7.1f}  {row['trained']:12d}  {row['computed']:17d}  "
              f"{row['read']:12d}")
    print(f"{'jupyter-book build':<32} {time.time() - started:7.1f}")
    if not built.returncode:
        link_pdf(build, built=False)  # a fresh build has no PDF until `make pdf` prints one
    if built.returncode:
        print("jupyter-book build failed (warnings count as errors)", file=sys.stderr)
        return built.returncode
    print(f"\nthe book: {build / 'html' / 'index.html'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
