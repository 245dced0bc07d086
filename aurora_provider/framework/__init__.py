"""The Aurora scheduler: a Mesos-framework daemon with an embedded local backend.

This package never imports airflow.
"""
