"""Command-line tools installed with the suite."""
