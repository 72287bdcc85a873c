"""saddle: the thin library behind the saddle-point book (Rangwani et al., NeurIPS 2022, reproduced)."""
from .config import RunConfig, SCALES
from .results import load_records
from .runs import get_or_run

__all__ = ["RunConfig", "SCALES", "get_or_run", "load_records"]
