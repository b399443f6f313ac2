"""Local stand-ins of provider APIs and of the POS, for the demo, tests and benchmarks."""
