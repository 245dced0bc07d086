"""What agents offer, and what the executor itself needs on top of every task."""

from __future__ import annotations

from dataclasses import dataclass, field

HOST = "host"  # every agent's hostname is also the attribute "host", as in Aurora


@dataclass
class Offer:
    """Resources an agent offers; mutated as tasks are placed on it during a round."""

    offer_id: str
    agent_id: str
    hostname: str
    cpu: float
    ram_mb: float
    disk_mb: float
    gpu: int = 0
    port_ranges: list[tuple[int, int]] = field(default_factory=list)
    attributes: dict[str, str] = field(default_factory=dict)
    used_ports: set[int] = field(default_factory=set)

    def attribute(self, name: str) -> str | None:
        return self.hostname if name == HOST else self.attributes.get(name)

    def free_port_count(self) -> int:
        total = sum(end - begin + 1 for begin, end in self.port_ranges)
        return total - len(self.used_ports)


@dataclass(frozen=True)
class Overhead:
    """What the executor itself needs on top of every task (Aurora: 0.25 CPU, 128 MB)."""

    cpu: float = 0.25
    ram_mb: float = 128.0
    disk_mb: float = 0.0
