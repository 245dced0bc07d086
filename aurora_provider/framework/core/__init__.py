"""The scheduler's core: the ledger of active tasks (the one way to change them), a task's
lifecycle with its rescheduling, the scheduling round, and the ports features plug into."""
