"""The demo county: a deterministic, report-sized ledger for demos, tests and benchmarks."""
