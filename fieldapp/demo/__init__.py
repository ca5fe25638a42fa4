"""The deterministic Alto Mayo demo program (also the dataset of tests and benchmarks)."""
