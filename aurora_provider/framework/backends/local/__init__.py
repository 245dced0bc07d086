"""The embedded backend: this machine's agents, each task a detached runner process."""
