"""Fault scenarios (`make faults`): each asserts counts of lost and duplicated events."""
