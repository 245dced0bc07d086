"""airflow-provider-aurora: Aurora's jobs, scheduler, executor and observer for Airflow 3."""

__version__ = "0.1.0"
