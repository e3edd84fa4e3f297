"""Many worlds of one scenario: ensembles, exact daily aggregates, executors, memory limits,
survival analysis and per-run metrics."""
