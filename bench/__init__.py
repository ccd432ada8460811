"""Benchmarks of the orchestrator (issue 8): `python -m bench.run_all [--quick] [name ...]`."""
