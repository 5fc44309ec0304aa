"""Benchmarks of the server: each measures one thing and writes its own section
of docs/benchmarks.md. Run them with ``make bench`` (``python -m bench``)."""
