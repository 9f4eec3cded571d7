"""Benchmarks of the suite against the seeds' design, and fault scenarios.

`make bench` runs every benchmark module (`python -m bench`); `make faults` runs the
fault scenarios under bench/faults with pytest.
"""
