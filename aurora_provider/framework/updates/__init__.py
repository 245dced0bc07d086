"""Scheduler-side job updates (Aurora's ``JobUpdateController``): planning, per-instance
decisions, the engine that moves active updates every round, and the controller that starts
them and applies the user's actions. Engine and controller share the active updates."""
