"""The environment a local runner starts with: an allow-list of the scheduler's, never its
secrets.

A runner and its processes run as the scheduler's user on this backend, so whatever the
scheduler's environment holds (tokens, database passwords, Airflow connections) would be
theirs. Only what a runner needs to start Python and what a process expects of a login
(paths, locale, time zone, temporary directory) is passed on; a name that looks like a
secret is dropped even when it is on the list. The executor then gives each process
Thermos's own environment (HOME is the sandbox, USER, LOGNAME, PATH).
"""

from __future__ import annotations

import re
from collections.abc import Mapping

# What a runner needs: PATH and the Python it is started with (PYTHONPATH when the project
# runs from a source tree, VIRTUAL_ENV for tools that look at it), locale and time zone,
# where temporary files go, and the terminal type for tools that print.
ALLOWED = frozenset({
    "PATH", "LANG", "LANGUAGE", "TZ", "TMPDIR", "TERM",
    "PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV", "PYTHONDONTWRITEBYTECODE",
})
ALLOWED_PREFIXES = ("LC_",)
# Dropped even when allowed: names that say they hold a secret, the scheduler's own
# variables (AURORA_TOKEN, AURORA_HOME: where the token file is) and Airflow's connections.
SECRET = re.compile(r"TOKEN|SECRET|PASSWORD|PASSWD|CREDENTIAL|API_?KEY|PRIVATE|AUTH"
                    r"|^AURORA_|^AIRFLOW_|^AWS_|^GOOGLE_|^AZURE_|^MESOS_", re.IGNORECASE)


def runner_environment(environ: Mapping[str, str]) -> dict[str, str]:
    """The part of ``environ`` a runner may see."""
    return {name: value for name, value in environ.items()
            if (name in ALLOWED or name.startswith(ALLOWED_PREFIXES))
            and not SECRET.search(name)}
