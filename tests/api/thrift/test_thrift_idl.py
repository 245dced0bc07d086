"""Our ``api.thrift`` is Aurora 0.22's wire format: every struct, union, enum and service
method, field by field (id, name, type, requiredness, default), against a table of those
facts taken from Aurora's own IDL (``aurora_0_22_wire_facts.json``, made with
``wire_facts.py`` from apache/aurora rel/0.22.0's api.thrift)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from aurora_provider.framework.thrift.idl import api
from tests.api.thrift.wire_facts import wire_facts

pytestmark = pytest.mark.unit

AURORA = json.loads(Path(__file__).with_name("aurora_0_22_wire_facts.json").read_text())


@pytest.mark.parametrize("kind", ["structs", "enums", "services"])
def test_our_idl_has_aurora_022s_wire_facts(kind: str) -> None:
    ours = wire_facts(api())[kind]
    assert sorted(ours) == sorted(AURORA[kind])
    different = {name: (ours[name], AURORA[kind][name]) for name in ours
                 if ours[name] != AURORA[kind][name]}
    assert different == {}


def test_the_facts_see_a_changed_field() -> None:
    facts = wire_facts(api())
    facts["structs"]["TaskConfig"]["25"][0] = "executorConfigs"
    assert facts["structs"] != AURORA["structs"]
