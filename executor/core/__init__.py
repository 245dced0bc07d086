"""What drives one task: the runner and its stages, the dispatcher and the checkpoint
stream it records to, the planner, and the supervisor of the process runs."""
