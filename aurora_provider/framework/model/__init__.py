"""The scheduler's values, shared by every part of it and importing none of them.

``job_config``: a job's configuration, typed, parsed once per stored configuration, with its
one canonical form and its one identity digest.
"""
