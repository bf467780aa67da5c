"""The public benches: the registry of their pinned upstream files, fetching and verified download."""
