"""The per-agent observer service (``aurora-observer``): this host's Aurora tasks over HTTP.

It reads the executor's checkpoints through ``executor.api`` only and never imports Airflow:
it runs on Mesos agents. ``main`` is the command line, ``app`` the FastAPI app, ``service``
what the routes ask for, ``index`` the cached task views, ``resources`` the sampler thread,
``sandbox`` the path guard, ``files`` byte ranges and listings, ``pages`` the HTML.
"""
