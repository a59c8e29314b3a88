"""Python's cyclic garbage collector in ReUp's long-running processes (app instances, job worker).

Measured under bench/load_bench.py (1,000 catalog tabs and 50 buyers on 3 instances, 2 cores,
CPython's default thresholds 700/10/10): an instance held 0.7-1.4 million tracked objects (mostly
the open sessions' states, alive), and collections took 41-45 % of its CPU (66 % for an instance
still holding closed tabs' states), two thirds of it in
full collections: one every ~5 s, each walking every object, a ~0.7-1 s pause of the process.

`tune_collector()`:
- `gc.freeze()`: what exists once the app is built (about 240,000 objects: modules, the compiled
  pages) moves to the permanent generation and is never walked again;
- a full collection at most once per REUP_GC_FULL_EVERY (default 100) middle-generation
  collections instead of 10. CPython also waits until the objects promoted since the last full
  collection exceed 25 % of the long-lived ones, so garbage in the old generation is still
  collected, at most that much later. The young generation keeps CPython's size: a young
  generation of 50,000 was tried and was worse (more objects promoted at once, a 12 s full pause).
"""

from __future__ import annotations

import gc


def tune_collector() -> tuple[int, int, int]:
    """Freeze what is alive now and set the old generation's threshold; returns the thresholds."""
    from reup_app.settings import get_settings

    threshold = get_settings().gc_full_every
    gc.collect()  # what start-up left behind as garbage is not frozen with the rest
    gc.freeze()
    if threshold:
        young, middle, _ = gc.get_threshold()
        gc.set_threshold(young, middle, threshold)
    return gc.get_threshold()
