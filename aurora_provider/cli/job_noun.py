"""``aurora job ...``: the job noun; its verbs come from the modules in ``VERB_MODULES``.

A verb module exposes ``register_verbs(verbs)`` and adds its verbs to the ``job`` noun's
subparsers, each with a ``handler``. Adding verbs is one line here.
"""

from __future__ import annotations

import importlib
from typing import Any

VERB_MODULES: tuple[str, ...] = (
    "aurora_provider.cli.job_inspect",
    "aurora_provider.cli.job_commands",
)


def register(nouns: Any) -> None:
    noun = nouns.add_parser("job", help="inspect and manage jobs")
    verbs = noun.add_subparsers(dest="verb", metavar="VERB", required=True)
    for module in VERB_MODULES:
        importlib.import_module(module).register_verbs(verbs)
