"""Run configurations and the scales they come in.

A RunConfig names one training run completely; its hash names the run's record, so a new rho is a new record.
Settings that do not change what is computed (data folder, output folders, device) are not part of it."""
from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass

from .checks import check_choice, check_number
from .data import CLASS_ORDERS, DATASETS, PROFILES
from .losses import DRW_KINDS, LOSSES
from .models import MODELS
from .splits import LARGE_DATASETS

OPTIMIZERS = ("sgd", "sam", "pgd", "lpf", "imbsam", "ccsam")
# The forward passes' arithmetic: fp32 (the official code's) or bf16 autocast (losses, gradients and SAM's norm stay
# fp32). Part of a run's identity: a bf16 run is never served for its fp32 twin.
PRECISIONS = ("fp32", "bf16")
SAM_LIKE = ("sam", "imbsam", "ccsam")  # the optimizers that take a radius rho
# Settings of one optimizer only: left out of other optimizers' records (and hashes), so adding them kept every
# earlier run id.
OPTIMIZER_FIELDS = {"pgd": ("pgd_sigma",), "lpf": ("lpf_radius", "lpf_samples"), "imbsam": ("imbsam_eta",),
                    "ccsam": ("ccsam_gamma", "ccsam_weight")}
# Settings that only some recipes use: left out of a record (and its hash) while at these values, for the same reason.
OMITTED_AT = {"drw_epoch": None, "val_per_class": 0, "class_order": "calibrated", "precision": "fp32"}
LR_SCHEDULES = ("step", "cosine")
SAM_BN = ("update", "freeze")

# Per-scale defaults. `cpu` is calibrated on Fashion-MNIST-LT (the book's appendix "How this book was measured"):
# a small n_max with the imbalance-100 profile and many epochs, so CE+DRW fits every class and the DRW phase is long.
SCALES = {
    "smoke": dict(dataset="fashion-mnist", model="resnet8", width=1, n_max=100, epochs=4, test_limit=500,
                  eval_every=2),
    "cpu": dict(dataset="fashion-mnist", model="resnet8", width=1, n_max=500, epochs=200, test_limit=None,
                eval_every=10),
    # Candidates for a scale in the paper's regime (the tail fitted under SAM at Table 5's radius), both on the cpu
    # scale's Fashion-MNIST-LT: the paper's ResNet-32 at n_max 500, and ResNet-8 at CIFAR-10-LT's counts (n_max
    # 5000, a 50-image tail). grid.REGIME_RULE picks one of them from its pilot runs (book appendix, "A scale in the
    # paper's regime").
    "r32-n500": dict(dataset="fashion-mnist", model="resnet32", width=1, n_max=500, epochs=200, test_limit=None,
                     eval_every=10),
    "r8-n5000": dict(dataset="fashion-mnist", model="resnet8", width=1, n_max=5000, epochs=200, test_limit=None,
                     eval_every=10),
    # The paper's own experiment on the JPEG copy of CIFAR-10 (shared/data/README.md): ResNet-32, imbalance 100, 200
    # epochs (VS 300), batch 128, the official step schedule with DRW at epoch 160, the whole test set evaluated every
    # epoch (the official code's best-test epoch needs it), fp32, the fixed subset 0.
    "cifar10-r32": dict(dataset="cifar10-jpeg", model="resnet32", width=1, n_max=None, epochs=200, test_limit=None,
                        eval_every=1),
    "paper": dict(dataset="cifar10", model="resnet32", width=1, n_max=None, epochs=200, test_limit=None,
                  eval_every=1),
    # ImageNet-LT / iNaturalist 2018 (Tables 3 and 6): ResNet-50, 90 epochs, global batch 256, cosine LR, DRW from
    # epoch 60, LDAM margin 0.3; iNat takes lr 0.1. The data sets' own long tail: imbalance and n_max unused.
    "large": dict(dataset="imagenet-lt", model="resnet50", width=1, n_max=None, epochs=90, test_limit=None,
                  eval_every=1, batch_size=256, lr=0.2, lr_schedule="cosine", weight_decay=2e-4, max_margin=0.3,
                  drw_epoch=60),
}

# The scales that train Fashion-MNIST-LT with a validation split available (the validated protocol's scales).
VALIDATED_SCALES = ("smoke", "cpu", "r32-n500", "r8-n5000")
REGIME_CANDIDATES = ("r32-n500", "r8-n5000")


# Every numeric field: (lowest, highest, type); None (where a field may be None) is checked by the field's meaning.
NUMERIC_RANGES = {
    "imbalance": (1.0, 1e6, float), "rho": (0.0, 100.0, float), "seed": (0, 2**31 - 1, int),
    "epochs": (1, 100_000, int), "width": (1, 64, int), "n_max": (1, 10**7, int), "test_limit": (1, 10**7, int),
    "eval_every": (1, 100_000, int), "batch_size": (1, 10**6, int), "lr": (1e-12, 1e12, float),
    "momentum": (0.0, 1.0, float), "weight_decay": (0.0, 1.0, float), "drw_beta": (0.0, 1.0, float),
    "max_margin": (0.0, 100.0, float), "vs_gamma": (0.0, 100.0, float), "vs_tau": (0.0, 100.0, float),
    "pgd_sigma": (0.0, 100.0, float), "lpf_radius": (0.0, 100.0, float), "lpf_samples": (1, 4096, int),
    "subset_seed": (0, 2**32 - 1, int), "val_per_class": (0, 10**6, int), "imbsam_eta": (1, 10**7, int),
    "ccsam_gamma": (0.0, 4.0, float), "ccsam_weight": (0.0, 1.0, float),
}
# Every field of named values: the values it accepts (checked in this order).
CHOICES = {"dataset": DATASETS + tuple(LARGE_DATASETS), "profile": PROFILES, "loss": LOSSES, "optimizer": OPTIMIZERS,
           "scale": tuple(SCALES), "model": MODELS, "lr_schedule": LR_SCHEDULES, "drw_kind": DRW_KINDS,
           "sam_bn": SAM_BN, "class_order": CLASS_ORDERS, "precision": PRECISIONS}


def check_field(name: str, value, label: str | None = None) -> None:
    """`value` within field `name`'s NUMERIC_RANGES, the error naming it `label` (a CLI option, a chapter
    parameter): configs, the CLI and the chapters accept the same numbers."""
    low, high, kind = NUMERIC_RANGES[name]
    check_number(label or name, value, low, high, kind)


@dataclass(frozen=True)
class RunConfig:
    dataset: str = "fashion-mnist"
    imbalance: float = 100.0
    profile: str = "exp"
    loss: str = "ce"
    drw: bool = False
    optimizer: str = "sgd"
    rho: float = 0.0
    seed: int = 0
    scale: str = "cpu"
    epochs: int = 200
    model: str = "resnet8"
    width: int = 1
    n_max: int | None = 500  # images in the largest class; None = all the data set has
    test_limit: int | None = None  # a balanced prefix of the test set (smoke runs only)
    eval_every: int = 10  # test-set evaluation every k epochs (and always at the last)
    batch_size: int = 128
    lr: float = 0.1
    lr_schedule: str = "step"
    momentum: float = 0.9
    weight_decay: float = 2e-4
    drw_kind: str = "effective"
    drw_beta: float = 0.9999
    max_margin: float = 0.5
    vs_gamma: float = 0.05
    vs_tau: float = 0.75
    sam_normalized: bool = True
    sam_adaptive: bool = False
    sam_bn: str = "update"  # official: BatchNorm statistics also move on SAM's second pass
    rho_steps: tuple | None = None
    pgd_sigma: float = 1e-4  # PGD: std of the Gaussian noise added to each gradient (paper, App. C)
    lpf_radius: float = 1e-3  # LPF-SGD: filter radius gamma, relative to each filter's norm
    lpf_samples: int = 8  # LPF-SGD: Monte-Carlo samples M per batch
    imbsam_eta: int = 20  # ImbSAM: classes with fewer training images than this are its tail (official default)
    ccsam_gamma: float = 0.25  # CC-SAM: radius of class c = rho (n_max / n_c)^gamma
    ccsam_weight: float = 0.3  # CC-SAM: weight of the class-conditional term (the official flat_ratio)
    subset_seed: int = 0  # the official `rand_number`: which images form the long-tailed subset
    drw_epoch: int | None = None  # 0-based epoch DRW starts; None: with the first LR drop (160 of 200)
    val_per_class: int = 0  # a balanced validation split of this many unused training images per class (0: none)
    class_order: str = "calibrated"  # Fashion-MNIST's long-tail class order (data.CLASS_ORDERS)
    precision: str = "fp32"  # PRECISIONS

    def __post_init__(self):
        for name, accepted in CHOICES.items():
            check_choice(name, getattr(self, name), accepted)
        if self.class_order != "calibrated" and self.dataset != "fashion-mnist":
            raise ValueError(f"class_order {self.class_order!r} applies to fashion-mnist only, not {self.dataset}")
        for name in NUMERIC_RANGES:
            check_field(name, getattr(self, name))
        for value in self.rho_steps or ():
            check_field("rho", value, "rho_steps entry")
        if self.optimizer not in SAM_LIKE and (self.rho or self.rho_steps):
            raise ValueError(f"rho={self.rho} is a SAM setting but optimizer is {self.optimizer!r}; "
                             "use optimizer='sam' (--sam)")
        if self.drw_epoch is not None and not 0 <= self.drw_epoch < self.epochs:
            raise ValueError(f"drw_epoch must be in 0..{self.epochs - 1} (epochs {self.epochs}), got {self.drw_epoch}")

    @classmethod
    def at_scale(cls, scale: str = "cpu", **overrides) -> "RunConfig":
        """The scale's defaults, then the overrides. VS trains 1.5x longer, as in the paper (300 of 200 epochs)."""
        check_choice("scale", scale, tuple(SCALES))
        settings = dict(SCALES[scale], scale=scale)
        if scale == "large" and overrides.get("dataset") == "inat2018":  # the iNat recipe: lr 0.1, LDAM wd 1e-4
            settings.update(lr=0.1, **({"weight_decay": 1e-4} if overrides.get("loss") == "ldam" else {}))
        if overrides.get("loss") == "vs" and overrides.get("epochs") is None:
            settings["epochs"] = round(settings["epochs"] * 1.5)
        unknown = set(overrides) - {f.name for f in dataclasses.fields(cls)}
        if unknown:
            raise ValueError(f"unknown config field(s) {sorted(unknown)}; accepted: "
                             f"{', '.join(f.name for f in dataclasses.fields(cls))}")
        if settings.get("drw_epoch") and overrides.get("epochs") and "drw_epoch" not in overrides:
            settings["drw_epoch"] = round(settings["drw_epoch"] * overrides["epochs"] / settings["epochs"])
        settings.update({k: v for k, v in overrides.items() if v is not None})
        if settings.get("rho_steps") is not None:
            settings["rho_steps"] = tuple(settings["rho_steps"])
        return cls(**settings)

    def to_dict(self) -> dict:
        d = dataclasses.asdict(self)
        for optimizer, fields in OPTIMIZER_FIELDS.items():
            if optimizer != self.optimizer:
                for name in fields:
                    del d[name]
        for name, value in OMITTED_AT.items():
            if d[name] == value:
                del d[name]
        d["rho_steps"] = list(self.rho_steps) if self.rho_steps else None
        return d

    @classmethod
    def from_dict(cls, d: dict) -> "RunConfig":
        d = dict(d)
        if d.get("rho_steps"):
            d["rho_steps"] = tuple(d["rho_steps"])
        return cls(**d)

    @property
    def run_id(self) -> str:
        """A readable name plus a hash of every field (equal configs give equal ids)."""
        digest = hashlib.sha1(json.dumps(self.to_dict(), sort_keys=True).encode()).hexdigest()[:10]
        bf16 = "-bf16" if self.precision == "bf16" else ""
        return f"{self.dataset}-{self.label.replace('+', '-').lower()}-s{self.seed}{bf16}-{digest}"

    def with_precision(self, precision: str) -> "RunConfig":
        """The same run in another precision (fp32 keeps this run's id; bf16 is a run of its own)."""
        return dataclasses.replace(self, precision=precision)

    @property
    def radius(self) -> float:
        """SAM's rho, 0 for a run without SAM (rho 0 is SGD on the paper's Fig. 4 axis)."""
        return self.rho if self.optimizer == "sam" else 0.0

    @property
    def label(self) -> str:
        """The method as the paper writes it, e.g. 'LDAM+DRW+SAM'."""
        optimizer = {"sgd": [], "lpf": ["LPF-SGD"], "imbsam": ["ImbSAM"], "ccsam": ["CC-SAM"]}.get(
            self.optimizer, [self.optimizer.upper()])
        parts = [self.loss.upper()] + (["DRW"] if self.drw else []) + optimizer
        return "+".join(parts)
