"""Benchmarks: each script compares ctrnn with the alternatives side by side; ``python -m benchmarks`` runs
them all at a small size as one table."""
