"""``python -m outcomes`` is the ``outcomes`` command."""

from outcomes.cli.main import main

main()
