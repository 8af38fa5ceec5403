"""Resource and cancellation tests: fds, tasks, connections, event loops (issue 7)."""
