"""Benchmarks: speed as ratios against a floor measured in the same run.

Each benchmark registers itself in ``BENCHMARKS``; none exist yet, and this script says so
rather than printing a number it did not measure.
"""

from __future__ import annotations

import sys
from collections.abc import Callable

BENCHMARKS: dict[str, Callable[[], None]] = {}


def main() -> int:
    """Run every registered benchmark."""
    if not BENCHMARKS:
        print("No benchmarks exist yet.")
        return 0
    for name, run in BENCHMARKS.items():
        print(f"== {name}")
        run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
