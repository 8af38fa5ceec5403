"""The chaos soak: many requests through seeded faults, with the pass criteria asserted."""
