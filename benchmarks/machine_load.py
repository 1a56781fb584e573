"""Machine-load reporting shared by the benchmark scripts.

On a small machine shared with other jobs, absolute rates (and multi-threaded
ones most of all) drop; every script records the load average at its start
and end and warns above :data:`HIGH_LOAD`, so a reader knows which numbers to
trust.  Ratios measured in the same run are affected less.
"""

import math
import os

HIGH_LOAD = 1.5  # 1-minute load average above which numbers are flagged


def load_average():
    """(1, 5, 15)-minute load averages, NaN where the platform has none."""
    try:
        return os.getloadavg()
    except OSError:  # pragma: no cover - not on Linux/macOS
        return (math.nan,) * 3


def report_start():
    """Print the load at the start of a run, with a note when it is high; return it."""
    load = load_average()
    print("load average at start (1, 5, 15 min): " + ", ".join(f"{x:.2f}" for x in load))
    if load[0] > HIGH_LOAD:
        print(f"NOTE: 1-min load {load[0]:.2f} > {HIGH_LOAD}: other jobs share the CPU, "
              "the absolute numbers are pessimistic (the ratios less so).")
    return load


def report_end(load_start):
    """Print the load at the end of a run; return ``(load_end, high)``.

    ``high`` is True when the 1-minute load exceeded :data:`HIGH_LOAD` at the
    start or the end.
    """
    load_end = load_average()
    print("load average at end (1, 5, 15 min): " + ", ".join(f"{x:.2f}" for x in load_end))
    high = max(load_start[0], load_end[0]) > HIGH_LOAD
    if high:
        print(f"NOTE: load > {HIGH_LOAD} during the run: absolute rates are pessimistic; compare ratios.")
    return load_end, high
