"""A run's record: read from the store, or trained (resuming) and written. It sits above the store and the
trainers. A run trains under a flock (cache/locks/<run id>), so no two processes train it, and the kernel drops
a dead process's lock."""
from __future__ import annotations

import contextlib
import fcntl
import os
import shlex
from pathlib import Path

from .config import SAM_LIKE, RunConfig
from .results import (MissingRecordError, cache_dir, check_clean_or_allowed, check_writable, checkpoint_dir,
                      find_record, keep_diff, log, record_path, refuse_if_read_only, write_record)
from .splits import LARGE_DATASETS


class RunLockedError(RuntimeError):
    """Another process is training this run right now."""


@contextlib.contextmanager
def run_lock(run_id: str, wait: bool = False):
    """Hold cache/locks/<run_id> for the block (RunLockedError if held and not `wait`). The file stays behind:
    removing a flock'd file would let two processes lock two files."""
    locks = cache_dir() / "locks"
    locks.mkdir(parents=True, exist_ok=True)
    fd = os.open(locks / run_id, os.O_CREAT | os.O_RDWR, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
        except BlockingIOError:
            raise RunLockedError(f"run {run_id} is being trained by another process (lock {locks / run_id})") from None
        os.ftruncate(fd, 0)
        os.write(fd, str(os.getpid()).encode())
        yield
    finally:
        os.close(fd)  # closing drops the lock


# The fields `python -m saddle train` sets from its options (cli.config_from_args), beyond the scale; the
# DEFAULTED ones appear in its command line only where they differ from the scale's default.
DEFAULTED = ("subset_seed", "val_per_class", "class_order", "epochs", "n_max", "model", "batch_size", "sam_bn",
             "precision")
COMMAND_FIELDS = ("dataset", "loss", "drw", "optimizer", "rho", "rho_steps", "imbalance", "profile", "seed") + DEFAULTED


def require_record(config: RunConfig, root: Path | None = None) -> dict:
    """A run's record, or MissingRecordError naming the command that trains it."""
    record = find_record(config, root)
    if record is None:
        raise MissingRecordError(f"no record of {config.run_id} (results/{config.scale}/); train it with: "
                                 f"{train_command(config)}")
    return record


def train_command(config: RunConfig, threads: int | None = None, out=None, data_root=None) -> str:
    """The command line that creates `config`'s record, or a Python call where no command line expresses it."""
    expressible = RunConfig.at_scale(config.scale, **{f: getattr(config, f) for f in COMMAND_FIELDS})
    if expressible != config:
        return f"saddle.runs.get_or_run(saddle.RunConfig.from_dict({config.to_dict()!r}))"
    defaults = RunConfig.at_scale(config.scale, loss=config.loss)
    args = ["python -m saddle train", f"--scale {config.scale}"]
    if config.dataset != defaults.dataset:
        args.append(f"--dataset {config.dataset}")
    args += [f"--loss {config.loss}"] + (["--drw"] if config.drw else []) + [f"--optimizer {config.optimizer}"]
    if config.optimizer in SAM_LIKE:
        args.append(f"--rho-steps {','.join(map(str, config.rho_steps))}" if config.rho_steps
                    else f"--rho {config.rho:g}")
    args += [f"--imbalance {config.imbalance:g}", f"--profile {config.profile}", f"--seed {config.seed}"]
    for name in DEFAULTED:
        if getattr(config, name) != getattr(defaults, name):
            args.append(f"--{name.replace('_', '-')} {shlex.quote(str(getattr(config, name)))}")
    for option, value in (("--threads", threads), ("--out", out), ("--data-root", data_root)):
        if value is not None:
            args.append(f"{option} {shlex.quote(str(value))}")
    return " ".join(args)


def analyse_command(plan: str, scale: str | None = None, **options) -> str:
    """The `python -m saddle analyse` line of a plan with these options (lists comma-separated)."""
    words = [f"python -m saddle analyse {plan}"] + ([f"--scale {scale}"] if scale is not None else [])
    for name, value in options.items():
        if isinstance(value, (list, tuple)):
            value = ",".join(f"{v:g}" if isinstance(v, float) else str(v) for v in value)
        words.append(f"--{name.replace('_', '-')} {shlex.quote(str(value))}")
    return " ".join(words)


def torchrun_command(config: RunConfig, gpus: int = 8, data_root=None) -> str:
    """The torchrun line of a large-scale run: train_command's options on `gpus` processes of one machine."""
    return train_command(config, data_root=data_root).replace(
        "python -m saddle train", f"torchrun --nproc_per_node={gpus} -m saddle train", 1)


def _trainer(config: RunConfig):
    if config.dataset in LARGE_DATASETS:
        from .distributed import run  # ImageNet-LT, iNaturalist: only rank 0 gets (and writes) the record
    else:
        from .train import run
    return run


def get_or_run(config: RunConfig, *, root: Path | None = None, cache: Path | None = None, **run_kwargs) -> dict:
    """The record of `config`, read, or trained under its lock and written before the resumable checkpoint is
    removed. SADDLE_READ_ONLY=1 refuses to train; SADDLE_RUN_LOG=FILE logs 'read <id>' or 'trained <id>'."""
    return read_or_train(config, root=root, cache=cache, **run_kwargs)[0]


def read_or_train(config: RunConfig, *, root: Path | None = None, cache: Path | None = None, **run_kwargs
           ) -> tuple[dict | None, str]:
    """get_or_run, also saying 'read' or 'trained'."""
    record = find_record(config, root)
    if record is not None:
        log("read", config.run_id)
        return record, "read"
    path = record_path(config, root)
    refuse_if_read_only(path, train_command(config))
    diff = check_clean_or_allowed("pass --allow-dirty (SADDLE_ALLOW_DIRTY=1)")
    check_writable(path.parent)
    folder = checkpoint_dir(config, cache)
    # a torchrun job: every replica trains, rank 0 alone holds the lock (and writes the record)
    replica = config.dataset in LARGE_DATASETS and int(os.environ.get("RANK", "0")) != 0
    with contextlib.nullcontext() if replica else run_lock(config.run_id):
        record = find_record(config, root)  # another process may have finished it while we waited for the lock
        if record is None:
            record = _trainer(config)(config, checkpoint_dir=folder, **run_kwargs)
            if record is None:
                return None, "trained"  # a replica other than rank 0
            keep_diff(record, path, diff)
            write_record(record, path)
            from .checkpoints import remove_checkpoint
            remove_checkpoint(folder / "last.pt")
            log("trained", config.run_id)
            return record, "trained"
    log("read", config.run_id)
    return record, "read"


def get_or_run_many(configs: list[RunConfig], *, root: Path | None = None, cache: Path | None = None,
                    **run_kwargs) -> list[dict]:
    """get_or_run for runs differing in seed and rho only: the missing ones train together (saddle.stacked)."""
    from .stacked import run_many

    missing = [c for c in configs if find_record(c, root) is None]
    diff = check_clean_or_allowed("pass --allow-dirty (SADDLE_ALLOW_DIRTY=1)") if missing else ""
    for c in missing:
        refuse_if_read_only(record_path(c, root), train_command(c))
        check_writable(record_path(c, root).parent)
    if missing:
        with contextlib.ExitStack() as locks:
            for c in missing:
                locks.enter_context(run_lock(c.run_id))
            records = run_many(missing, checkpoint_dirs=[checkpoint_dir(c, cache) for c in missing], **run_kwargs)
            for c, record in zip(missing, records):
                keep_diff(record, record_path(c, root), diff)
                write_record(record, record_path(c, root))
    for c in configs:
        log("trained" if c in missing else "read", c.run_id)
    return [find_record(c, root) for c in configs]
