"""Command line: `python -m saddle train ...` (one run, its record's path on the last line; ImageNet-LT and
iNaturalist under `torchrun --nproc_per_node=N -m saddle train --scale large ...`),
`python -m saddle grid table1 ...` (the paper's tables: every missing run) and
`python -m saddle hessian --run ID --epoch E` (class-wise Hessian spectra of a checkpoint)."""
from __future__ import annotations

import argparse
import errno
import functools
import math
import os
import sys

from .checks import check_choice
from .config import NUMERIC_RANGES, OPTIMIZERS, SAM_LIKE, SCALES, RunConfig, check_field
from .data import DATASETS, PROFILES
from .losses import LOSSES
from .sources import DataError
from .splits import LARGE_DATASETS

PRECISION_OPTIONS = ("fp32", "bf16", "fast")
PRECISION_HELP = "fp32 (default), bf16 (autocast; runs of their own) or fast (bf16 where native, else fp32)"
SHARED_OPTIONS = {  # the options several commands take, each with one meaning
    "--data-root": dict(default=None, help="folder holding the data set files"),
    "--out": dict(default=None, help="results folder (default: results/)"),
    "--device": dict(default=None, help="cpu or cuda (default: cuda if available)"),
    "--quiet": dict(action="store_true", help="no progress bar"),
    "--allow-dirty": dict(action="store_true", help="train from a dirty tree, saving its diff"),
    "--precision": dict(default=None, help=PRECISION_HELP),
}


def _add_shared(parser, *options: str) -> None:
    for option in options:
        parser.add_argument(option, **SHARED_OPTIONS[option])


def _train_parser(sub):
    p = sub.add_parser("train", help="train one configuration (or read its existing record)")
    p.add_argument("--dataset", help=f"one of {', '.join(DATASETS + tuple(LARGE_DATASETS))} (default: the scale's)")
    p.add_argument("--imbalance", type=float, default=100.0, help="n_max / n_min (>= 1)")
    p.add_argument("--profile", default="exp", help=f"one of {', '.join(PROFILES)}")
    p.add_argument("--loss", default="ce", help=f"one of {', '.join(LOSSES)}")
    p.add_argument("--drw", action="store_true", help="deferred re-weighting from the first LR drop")
    p.add_argument("--sam", action="store_true", help="SAM around SGD (same as --optimizer sam)")
    p.add_argument("--optimizer", default=None, help=f"one of {', '.join(OPTIMIZERS)}")
    p.add_argument("--rho", type=float, default=None, help="SAM radius (default 0.05 with SAM)")
    p.add_argument("--rho-steps", default=None, help="large-scale rho for epochs 1-5, 6-60, 61-75, 76-90, e.g. "
                   "0.05,0.1,0.5,0.5")
    p.add_argument("--seed", type=int, default=0, help="initialisation and batch order (>= 0)")
    p.add_argument("--subset-seed", type=int, default=None, help="the subset's seed (official --rand_number; 0)")
    p.add_argument("--val-per-class", type=int, default=None, help="validation images per class (default 0: none)")
    p.add_argument("--class-order", default=None, help="Fashion-MNIST's: calibrated (default) or natural")
    p.add_argument("--scale", default="cpu", help=f"one of {', '.join(SCALES)}")
    p.add_argument("--epochs", type=int, default=None)
    p.add_argument("--model", default=None, help="resnet8/14/20/32/44/56/50 (default: the scale's)")
    p.add_argument("--batch-size", type=int, default=None, help="global batch (default: the scale's)")
    p.add_argument("--n-max", type=int, default=None, help="images in the largest class (default: the scale's)")
    p.add_argument("--sam-bn", default=None, help="update (official) or freeze BatchNorm stats on SAM's 2nd pass")
    _add_shared(p, "--data-root", "--out", "--device", "--quiet", "--allow-dirty", "--precision")
    p.add_argument("--threads", type=int, default=None, help="torch threads (records repeat bit for bit at a fixed "
                   "count)")
    p.add_argument("--compile", default=None, help="torch.compile backend for the training step (inductor)")
    large = p.add_argument_group("large scale (split-file data sets, distributed)")
    large.add_argument("--split-dir", default=None, help="folder of the split .txt files (default: --data-root)")
    large.add_argument("--workers", type=int, default=4, help="data-loader processes per replica")
    large.add_argument("--ascent", default="global", help="SAM ascent from the global or each replica's gradient")
    large.add_argument("--image-size", type=int, default=224, help="crop size (224; smaller for tests)")
    large.add_argument("--sync-bn", action="store_true", help="SyncBatchNorm across GPUs")


def _hessian_parser(sub):
    p = sub.add_parser("hessian", help="class-wise Hessian spectra of a trained run at one epoch")
    p.add_argument("--run", required=True, help="a record id (results/<scale>/<id>.json) or a record's path")
    p.add_argument("--epoch", type=int, required=True, help="a checkpointed epoch (see the record's checkpoint_epochs)")
    p.add_argument("--classes", default="all", help="'all', or comma-separated class indices and/or 'average'")
    p.add_argument("--criterion", default="ce", help="ce (default), drw or ldam")
    p.add_argument("--iters", type=int, default=100, help="Lanczos steps")
    p.add_argument("--n-v", type=int, default=1, help="SLQ runs")
    p.add_argument("--max-per-class", type=int, default=None, help="the first N training images of each class")
    p.add_argument("--probe-seed", type=int, default=0, help="seed of the Lanczos start vector")
    p.add_argument("--augment", action="store_true", help="re-augment images on every product (official script)")
    p.add_argument("--images", default="train", help="each class's train (the paper's) or test images")
    _add_shared(p, "--data-root", "--out", "--quiet")


def _grid_parser(sub):
    from .grid import GRIDS
    p = sub.add_parser("grid", help="train every missing run of the paper's tables (several runners may share it)")
    p.add_argument("tables", nargs="+", help=f"one or more of {', '.join(GRIDS)}")
    p.add_argument("--scale", default="cpu", help=f"one of {', '.join(SCALES)}")
    p.add_argument("--seeds", default=None, help="comma-separated seeds (default: each table's)")
    p.add_argument("--methods", default=None, help="comma-separated methods to keep, e.g. CE+DRW,CE+DRW+SAM")
    p.add_argument("--list", action="store_true", help="print the runs and whether each has a record; train none")
    p.add_argument("--keep-snapshots", default=None, help="copy the recorded runs' snapshots into "
                   "results/<scale>/checkpoints/: all, last, best_val, or epochs, e.g. last,best_val; train none")
    p.add_argument("--compile", default=None, help="torch.compile backend for each run's training step (inductor)")
    p.add_argument("--threads", type=int, default=1, help="torch threads per run (default 1: repeatable records)")
    p.add_argument("--no-wait", action="store_true", help="return once every missing run is held by another runner")
    p.add_argument("--stack", action="store_true", help="train runs differing in seed and rho together (a large GPU)")
    p.add_argument("--workers", type=int, default=1, help="worker processes of one thread each sharing the runs")
    p.add_argument("--commands", action="store_true", help="print a `python -m saddle train` line per missing run "
                   "(GNU parallel, scripts/grid_array.sbatch); train none")
    _add_shared(p, "--data-root", "--out", "--device", "--quiet", "--allow-dirty", "--precision")


def _analyse_parser(sub):
    p = sub.add_parser("analyse", help="compute the analyses a grid declares or a chapter reads")
    p.add_argument("plan", help="cifar10-headline, chapter2, chapter3, chapter6 or chapter8")
    p.add_argument("--list", action="store_true", help="say what is recorded, missing or waiting; compute nothing")
    chapter = p.add_argument_group("a chapter's settings (its parameters; left out: the chapter's default)")
    chapter.add_argument("--scale", default=None, help=f"one of {', '.join(SCALES)} (default cpu)")
    chapter.add_argument("--seeds", default=None, help="comma-separated seeds (chapter 3: its first is the probe's)")
    chapter.add_argument("--rhos", default=None, help="chapter 6: comma-separated radii of Fig. 4's sweep (0: SGD)")
    chapter.add_argument("--table5-rhos", default=None, help="chapter 3: comma-separated radii of check 3")
    chapter.add_argument("--dataset-names", default=None, help="chapter 6: comma-separated data sets")
    chapter.add_argument("--iters", type=int, default=None, help="chapters 2, 6 and 8: Lanczos steps")
    chapter.add_argument("--max-per-class", type=int, default=None, help="chapters 2, 6 and 8: images per class")
    chapter.add_argument("--protocol", default=None, help="chapter 2: validated (default) or paper")
    chapter.add_argument("--rho", type=float, default=None, help="chapter 2: CE+DRW+SAM's radius")
    chapter.add_argument("--rho-sweep", default=None, help="chapter 2: comma-separated radii of Fig. 3 C")
    chapter.add_argument("--sweep-seeds", default=None, help="chapter 2: comma-separated seeds of Fig. 3 C")
    chapter.add_argument("--epochs", default=None, help="chapter 2: comma-separated epochs of 200 (Fig. 3)")
    _add_shared(p, "--data-root")


def parse_seeds(text: str, option: str = "--seeds") -> list[int]:
    """'0,1,2' -> [0, 1, 2]; a ValueError unless every item is an integer >= 0 in ASCII digits."""
    items = [s.strip() for s in text.split(",")]
    if not items or not all(s.isascii() and s.isdigit() for s in items):
        raise ValueError(f"{option} {text!r}: expected comma-separated integers >= 0, e.g. 0,1,2")
    return [int(s) for s in items]


def parse_radii(text: str, option: str, count: int | None = None) -> list[float]:
    """'0,0.05,0.5' -> [0.0, 0.05, 0.5]: finite radii in rho's range; `count` of them (--rho-steps: the large-scale
    schedule's four)."""
    low, high, _ = NUMERIC_RANGES["rho"]
    try:
        radii = [float(r) for r in text.split(",")]
    except ValueError:
        radii = []
    if not radii or (count and len(radii) != count) or not all(math.isfinite(r) and low <= r <= high for r in radii):
        shape = (f"{count} comma-separated radii in [{low:g}, {high:g}] (epochs 1-5, 6-60, 61-75, 76-90), e.g. "
                 "0.05,0.1,0.5,0.5") if count else f"comma-separated radii in [{low:g}, {high:g}], e.g. 0,0.05,0.5"
        raise ValueError(f"{option} {text!r}: expected {shape}")
    return radii


# analyse's options in its settings' order: name -> what parses the text (None: argparse's value as it is)
ANALYSE_OPTIONS = {"seeds": parse_seeds, "rhos": parse_radii, "table5_rhos": parse_radii,
                   "dataset_names": lambda text, _: text.split(","), "iters": None, "max_per_class": None,
                   "protocol": None, "rho": lambda value, option: parse_radii(str(value), option)[0],
                   "rho_sweep": parse_radii, "sweep_seeds": parse_seeds, "epochs": parse_seeds}


def _analyse(args) -> int:
    from .analyse import run

    settings = {}
    for name, parse in ANALYSE_OPTIONS.items():
        value = getattr(args, name)
        settings[name] = value if value is None or parse is None else parse(value, f"--{name.replace('_', '-')}")
    if args.protocol is not None:
        check_choice("protocol", args.protocol, ("validated", "paper"))
    if args.scale is not None:
        check_choice("scale", args.scale, tuple(SCALES))
        settings["scale"] = args.scale
    for name in settings["dataset_names"] or ():
        check_choice("dataset", name, DATASETS)
    check_at_least("--iters", args.iters)
    check_at_least("--max-per-class", args.max_per_class)
    run(args.plan, list_only=args.list, data_root=args.data_root, **settings)
    return 0


def _grid(args) -> int:
    import torch

    from . import runner
    from .grid import DEPENDENT_GRIDS, GRIDS, method_config, untuned
    from .runner import run_missing, training_time

    check_choice("scale", args.scale, tuple(SCALES))
    check_runtime(args)
    if args.compile and args.stack:
        raise ValueError("--compile applies to runs trained one by one; stacked runs (--stack) are not compiled")
    seeds = None if args.seeds is None else parse_seeds(args.seeds)
    for table in args.tables:
        check_choice("table", table, tuple(GRIDS))
    methods = None
    if args.methods is not None:
        methods = args.methods.split(",")
        for m in methods:
            method_config(m, args.scale)  # an unknown method fails here, with the accepted form

    spec = {"tables": args.tables, "scale": args.scale, "seeds": seeds, "methods": methods,
            "precision": resolve_precision(args.precision, args.device)}
    listing = functools.partial(runner.listing, spec, root=args.out)
    configs = listing()
    if methods is not None:
        offered = {c.label for c in runner.listing({**spec, "methods": None}, root=args.out)}
        absent = [m for m in methods if m not in offered]
        if absent:
            raise ValueError(f"--methods {','.join(absent)}: no run of {' '.join(args.tables)} has "
                             f"{'this method' if len(absent) == 1 else 'these methods'}; they have "
                             f"{', '.join(sorted(offered))}")
    if args.keep_snapshots:
        from .checkpoints import keep_snapshots
        named = [w for w in args.keep_snapshots.split(",") if w in ("all", "last", "best_val")]
        numbers = [w for w in args.keep_snapshots.split(",") if w not in named]
        epochs = parse_seeds(",".join(numbers), "--keep-snapshots") if numbers else []
        records = runner.records(configs, root=args.out)
        kept, absent = [], []
        for c in configs:
            record = records[c.run_id]
            if record:
                best = (record.get("metrics") or {}).get("best_val", {}).get("epoch")
                chosen = epochs + [c.epochs] * ("last" in named) + [best] * ("best_val" in named and best is not None)
                if not chosen and "all" not in named:  # best_val of a run without a validation split
                    continue
                try:
                    kept += keep_snapshots(record, None if "all" in named else sorted(set(chosen)))
                except FileNotFoundError as exc:
                    absent.append(str(exc))
        print(f"{len(kept)} snapshots of {sum(r is not None for r in records.values())} recorded runs in "
              f"results/{args.scale}/checkpoints/")
        for line in absent:
            print(f"skipped: {line}", file=sys.stderr)
        return 1 if absent else 0
    if args.list:
        records = runner.records(configs, root=args.out)
        for c in configs:
            rho = f" rho {c.rho:g}" if c.optimizer in SAM_LIKE else ""
            record = records[c.run_id]
            took = f"  {record['provenance']['wall_time_s'] / 60:.0f} min" if record else ""
            extra = "".join(f" {k.replace('_', '-')} {v}" for k, v in c.to_dict().items()
                            if k in ("subset_seed", "val_per_class", "class_order") and v)
            print(f"{'done   ' if record else 'missing'} {c.label}{rho} {c.dataset} {c.profile} "
                  f"imbalance {c.imbalance:g} seed {c.seed}{extra}  {c.run_id}{took}")
        cost = training_time(records)
        waiting = {t: untuned(t, args.scale, args.out) for t in args.tables if t in DEPENDENT_GRIDS}
        print(f"{cost['runs']} of {len(configs)} runs recorded; their training took {cost['measured']:.1f} hours of "
              f"wall time" + (f" ({cost['resumed']} resumed after an interruption, their time before it untimed: "
                              f"{cost['scaled']:.1f} hours with it estimated)" if cost["resumed"] else ""))
        for table, methods in waiting.items():
            if methods:
                print(f"{table}: rows of {', '.join(methods)} at its tuned rho appear once its tuning runs are recorded")
        return 0
    if args.commands:
        from .runs import train_command
        records = runner.records(configs, root=args.out)
        for c in configs:
            if records[c.run_id] is None:
                print(train_command(c, threads=args.threads, out=args.out, data_root=args.data_root))
        return 0
    if args.threads is not None:
        torch.set_num_threads(args.threads)  # bit-for-bit repeatable only at a fixed thread count
    run_kwargs = dict(data_root=args.data_root, device=args.device,
                      **({"compile": args.compile} if args.compile else {}))
    if args.workers > 1:
        if args.stack or args.threads != 1:
            raise ValueError("--workers N runs N processes of one thread each: leave out --stack and --threads")
        counts = runner.train_missing(configs, root=args.out, workers=args.workers, spec=spec, **run_kwargs)
    else:
        counts = run_missing(listing, root=args.out, progress=not args.quiet, stack=args.stack,
                             wait=not args.no_wait, **run_kwargs)
    total = counts["present"] + counts["trained"] + len(counts["failed"]) + len(counts["held"])
    print(f"{total} runs: {counts['present']} recorded "
          f"(before, or by another runner), {counts['trained']} trained here, {len(counts['failed'])} failed"
          + (f", {len(counts['held'])} left to other runners (--no-wait)" if counts["held"] else ""))
    for run_id, error in counts["failed"].items():
        print(f"failed: {run_id}: {error}", file=sys.stderr)
    return 1 if counts["failed"] else 0


def parse_classes(text: str) -> str | list:
    """'all', or comma-separated class indices (>= 0) and/or 'average'."""
    if text == "all":
        return "all"
    items = [c.strip() for c in text.split(",")]
    if not items or not all(c == "average" or (c.isascii() and c.isdigit()) for c in items):
        raise ValueError(f"--classes {text!r}: expected 'all', or comma-separated class indices and/or 'average', "
                         "e.g. 0,9,average")
    return [c if c == "average" else int(c) for c in items]


def check_at_least(option: str, value) -> None:
    """The counts that are no config's field (threads, workers, Lanczos steps, ...)."""
    if value is not None and value < 1:
        raise ValueError(f"{option} {value}: expected an integer >= 1")


def check_out(out: str | None) -> None:
    if out is not None and not out.strip():
        raise ValueError("--out '': expected a folder (leave the option out for results/)")


def check_device(device: str | None) -> None:
    """None (the default), 'cpu', 'cuda' or 'cuda:N' of a GPU this machine has."""
    if device is None:
        return
    import torch
    kind, _, index = device.partition(":")
    if kind not in ("cpu", "cuda") or (index and not (kind == "cuda" and index.isascii() and index.isdigit())):
        raise ValueError(f"--device {device!r}: expected cpu, cuda or cuda:N")
    gpus = torch.cuda.device_count() if torch.cuda.is_available() else 0
    if kind == "cuda" and int(index or 0) >= gpus:
        raise ValueError(f"--device {device!r}: this machine has {gpus} GPU(s) visible to torch; use --device cpu")


def check_runtime(args) -> None:
    """The options that do not enter a run's id, checked before any record, lock or folder is touched."""
    from .train import COMPILE_BACKENDS
    if args.precision is not None and args.precision not in PRECISION_OPTIONS:
        raise ValueError(f"--precision {args.precision!r}: expected one of {', '.join(PRECISION_OPTIONS)}")
    if getattr(args, "compile", None) is not None and args.compile not in COMPILE_BACKENDS:
        raise ValueError(f"--compile {args.compile!r}: expected one of {', '.join(COMPILE_BACKENDS)}")
    check_device(args.device)
    check_out(args.out)
    check_at_least("--threads", getattr(args, "threads", None))
    if getattr(args, "command", None) == "grid":
        check_at_least("--workers", args.workers)


def _hessian(args) -> int:
    from .spectra import IMAGE_SETS, run_spectra
    from .results import locate_record, read_record

    classes = parse_classes(args.classes)
    for option, value in (("--iters", args.iters), ("--n-v", args.n_v), ("--max-per-class", args.max_per_class),
                          ("--epoch", args.epoch)):
        check_at_least(option, value)
    check_field("seed", args.probe_seed, "--probe-seed")
    check_out(args.out)
    if args.images not in IMAGE_SETS:
        raise ValueError(f"--images {args.images!r}: expected one of {', '.join(IMAGE_SETS)}")
    path = locate_record(args.run, args.out)
    result = run_spectra(read_record(path), args.epoch, classes, args.criterion, args.iters, args.n_v,
                         seed=args.probe_seed, augment=args.augment, max_per_class=args.max_per_class,
                         data_root=args.data_root, root=args.out, progress=not args.quiet, images=args.images)
    for c, s in result["spectra"].items():
        name = c if c == "average" else f"class {c} ({result['class_names'][int(c)]})"
        print(f"{name}: lambda_min {s['lambda_min']:.4g}, "
              f"lambda_max {s['lambda_max']:.4g}, |min/max| {abs(s['lambda_min'] / s['lambda_max']):.4f}")
    return 0


def config_from_args(a) -> RunConfig:
    optimizer = a.optimizer if a.optimizer is not None else ("sam" if a.sam else "sgd")
    if optimizer not in OPTIMIZERS:
        raise ValueError(f"--optimizer {optimizer!r}: expected one of {', '.join(OPTIMIZERS)}")
    steps = tuple(parse_radii(a.rho_steps, "--rho-steps", 4)) if a.rho_steps is not None else None
    for option, value in (("--rho", a.rho), ("--rho-steps", steps)):
        if value is not None and optimizer not in SAM_LIKE:
            raise ValueError(f"{option} is a setting of SAM-like optimizers ({', '.join(SAM_LIKE)}), but the "
                             f"optimizer is {optimizer!r}: add --sam or --optimizer sam")
    rho = a.rho if a.rho is not None else (0.05 if optimizer in SAM_LIKE and not steps else 0.0)
    return RunConfig.at_scale(a.scale, dataset=a.dataset, imbalance=a.imbalance, profile=a.profile, loss=a.loss,
                              drw=a.drw, optimizer=optimizer, rho=rho, rho_steps=steps, seed=a.seed,
                              epochs=a.epochs, model=a.model, n_max=a.n_max, sam_bn=a.sam_bn,
                              batch_size=a.batch_size, subset_seed=a.subset_seed, val_per_class=a.val_per_class,
                              class_order=a.class_order, precision=resolve_precision(a.precision, a.device))


def resolve_precision(option: str | None, device: str | None) -> str:
    """--precision as a run's precision: 'fast' becomes train.fast_precision's choice, said on stderr."""
    if option != "fast":
        return option or "fp32"
    from .train import fast_precision
    precision, why = fast_precision(device)
    print(f"--precision fast: {why}", file=sys.stderr)
    return precision


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m saddle", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    for add_parser in (_train_parser, _hessian_parser, _grid_parser, _analyse_parser):
        add_parser(sub)
    args = parser.parse_args(argv)
    if getattr(args, "allow_dirty", False):
        os.environ["SADDLE_ALLOW_DIRTY"] = "1"  # also for the worker processes it starts
    from .results import MissingRecordError
    from .runs import RunLockedError
    commands = {"train": _train, "hessian": _hessian, "grid": _grid, "analyse": _analyse}
    try:
        return commands[args.command](args)
    except (ValueError, DataError, FileNotFoundError, PermissionError, MissingRecordError, RunLockedError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # `grid --list | head`: the reader left; say nothing more
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except OSError as exc:
        if exc.errno != errno.ENOSPC:
            raise
        print(f"error: no space left on the device ({exc.filename or 'writing'}); what the run had done is kept in "
              "cache/ (its last.pt): free space and re-run the same command to resume", file=sys.stderr)
        return 2


def _train(args) -> int:
    from .results import record_path
    from .runs import get_or_run

    check_runtime(args)
    config = config_from_args(args)
    if args.threads is not None:
        import torch
        torch.set_num_threads(args.threads)
    from .data import check_subset
    check_subset(config.dataset, config.n_max, config.imbalance, config.profile, config.val_per_class)
    kwargs = dict(data_root=args.data_root, progress=not args.quiet)
    if config.dataset in LARGE_DATASETS:
        split_dir = args.split_dir or args.data_root
        if not split_dir or not os.path.isdir(split_dir):
            raise ValueError(f"--split-dir {split_dir!r}: {config.dataset} reads its split files from a folder "
                             "(--split-dir, or --data-root holding them); none was given or it does not exist")
        if args.compile:
            raise ValueError(f"--compile is not supported for {config.dataset} (the distributed trainer); "
                             "it applies to the CIFAR / Fashion-MNIST trainer")
        kwargs.update(split_dir=args.split_dir, workers=args.workers, ascent=args.ascent,
                      image_size=args.image_size, sync_bn=args.sync_bn, device=args.device)
    else:
        kwargs.update(device=args.device, compile=args.compile)
    try:
        record = get_or_run(config, root=args.out, **kwargs)
    finally:
        if config.dataset in LARGE_DATASETS:
            from .distributed import teardown
            teardown()
    if record is None:
        return 0  # a replica other than rank 0: rank 0 writes and reports
    path = record_path(config, args.out)
    if record["status"] == "diverged":
        print(f"{config.label} diverged (non-finite loss) at epoch {record['diverged_epoch']}; recorded as such")
        print(path)
        return 3
    final, best = record["metrics"]["final"], record["metrics"]["best"]
    groups = " ".join(f"{g} {final[g]:.1f}" for g in ("head", "mid", "tail") if final.get(g) is not None)
    print(f"{config.label} {config.dataset} seed {config.seed}: final acc {final['acc']:.2f} ({groups}); "
          f"best {best['acc']:.2f} at epoch {best['epoch']}; train acc {record['metrics']['train_final']['acc']:.2f}; "
          f"{record['provenance']['wall_time_s']:.0f} s")
    print(path)
    return 0
