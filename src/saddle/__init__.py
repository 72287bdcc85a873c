"""saddle: the thin library behind the saddle-point book (Rangwani et al., NeurIPS 2022, reproduced)."""
from .config import RunConfig, SCALES
from .results import get_or_run, load_records

__all__ = ["RunConfig", "SCALES", "get_or_run", "load_records"]
