"""The speed benchmark of QUALITY.md: ``make bench`` (``python -m bench.run``)."""
