"""``python -m outcomes`` is the ``outcomes`` command."""

from outcomes.cli import main

main()
