"""Give every record the provenance a record carries now (threads, precision, the data's SHA-256) where it was
written before those fields existed, from what fixes each exactly, and say so in the record:

- threads: the count in the record's own device string ("cpu (x86_64, 1 threads)"), which the same
  torch.get_num_threads() call wrote;
- precision: a run's config (fp32 where the config predates the field: every run trained in fp32 then); an
  analysis: fp32 (no stored analysis took another);
- data_sha256: LongTailData.digest() of the arrays train.load_data gives today for the run's config (for an
  analysis, its run's), first checked equal on every record that recorded one when it was made.

Each filled record gets provenance.backfilled = {fields, commit, date, how}. Run from a clean tree:

    python scripts/backfill_provenance.py [--check]     (--check: count, write nothing)
"""
from __future__ import annotations

import argparse
import datetime
import json
import re
import sys
from pathlib import Path

from saddle.config import RunConfig
from saddle.results import git_commit, results_dir, write_record
from saddle.train import load_data

THREADS = re.compile(r", (\d+) threads?\)$")
HOW = {"threads": "the count in the record's device string",
       "precision": "fp32: the only arithmetic the code that made it had",
       "data_sha256": "the digest of the arrays load_data gives for its run's config at this commit, checked equal "
                      "on every record that recorded one"}


def records(root: Path):
    """(path, record, the config of the run it belongs to) for every run and analysis record under `root`."""
    runs = {p.stem: json.loads(p.read_text()) for p in root.glob("*/*.json") if p.parent.name != "bench"}
    for path in sorted(root.glob("*/**/*.json")):
        if "bench" in path.parts or "unfinished" in path.parts:
            continue
        record = json.loads(path.read_text())
        run = runs.get(record.get("id") or record.get("run_id"))
        yield path, record, (run or {}).get("config")


def digest_of(config: dict, memo: dict) -> str:
    key = json.dumps(config, sort_keys=True)
    if key not in memo:
        memo[key] = load_data(RunConfig.from_dict(config)).digest()
    return memo[key]


def missing_fields(record: dict, config: dict | None) -> dict:
    """The fields this record lacks, with the value that fixes each (data_sha256 left to the caller: it loads)."""
    made, found = record["provenance"], {}
    if "threads" not in made:
        threads = THREADS.search(made.get("device", ""))
        if threads is None:
            raise ValueError(f"no thread count in the device string {made.get('device')!r}")
        found["threads"] = int(threads.group(1))
    if "precision" not in made:
        found["precision"] = (record.get("config") or {}).get("precision", "fp32")
    if "data_sha256" not in made:
        if config is None:
            raise ValueError("no run record to take the data's config from")
        found["data_sha256"] = None
    return found


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="count what would be filled; write nothing")
    args = parser.parse_args(argv)
    commit = git_commit()
    if commit.endswith("-dirty") and not args.check:
        print(f"the tree is dirty ({commit}): commit first, so the records name the code that filled them",
              file=sys.stderr)
        return 2
    memo, todo, checked = {}, [], 0
    for path, record, config in records(results_dir()):
        try:
            found = missing_fields(record, config)
        except ValueError as exc:
            print(f"{path}: {exc}", file=sys.stderr)
            return 2
        recorded = record["provenance"].get("data_sha256")
        if recorded and config is not None:
            if digest_of(config, memo) != recorded:
                print(f"{path}: recorded data_sha256 {recorded} but the data today gives {digest_of(config, memo)}; "
                      "the data changed, so nothing can be filled", file=sys.stderr)
                return 1
            checked += 1
        if found:
            todo.append((path, record, config, found))
    print(f"{checked} recorded digests equal today's; {len(todo)} records lack a field: "
          + ", ".join(f"{f} {sum(f in t[3] for t in todo)}" for f in HOW))
    if args.check:
        return 0
    date = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")
    for path, record, config, found in todo:
        if "data_sha256" in found:
            found["data_sha256"] = digest_of(config, memo)
        record["provenance"].update(found)
        record["provenance"]["backfilled"] = {"fields": sorted(found), "commit": commit, "date": date,
                                              "how": {f: HOW[f] for f in sorted(found)}}
        write_record(record, path)
    print(f"filled {len(todo)} records")
    return 0


if __name__ == "__main__":
    sys.exit(main())
