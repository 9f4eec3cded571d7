"""The seeds' designs written straightforwardly, run beside ours on the same workload."""
