"""The small generic state machine every machine of the project is an instance of.

A machine is a table: for each state, the states it may move to (``ALLOWED``); the states
with no way out are its terminal ones (``TERMINAL``). ``transition()`` is the one checked
way to change state: it returns the new state or raises :class:`IllegalTransition`, which
names the subject, the machine and both states in one line.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from typing import Generic, TypeVar

from aurora_provider.errors import AuroraError

S = TypeVar("S", bound=enum.Enum)


# How a refusal reads; a machine whose transitions users ask for words it for them.
INTERNAL = "{machine} {subject}: illegal transition {current} -> {target}"
USER_FACING = "{machine} {subject} is {current}; it cannot become {target}"


class IllegalTransition(AuroraError):
    """A state change that the machine's table does not allow."""

    def __init__(self, machine: str, subject: str, current: enum.Enum,
                 target: enum.Enum, refusal: str = INTERNAL) -> None:
        super().__init__(refusal.format(machine=machine, subject=subject,
                                        current=current.value, target=target.value))
        self.machine = machine
        self.subject = subject
        self.current = current
        self.target = target


class StateMachine(Generic[S]):
    """``ALLOWED`` (state -> the states it may move to) and the checks built on it.

    :param name: what the machine is about ("task", "update"...), used in errors.
    :param allowed: every state of the enum with the states it may move to.
    :param terminal: the terminal states; by default those with no way out.
    :param refusal: how an illegal transition reads (``INTERNAL`` or ``USER_FACING``).
    """

    def __init__(self, name: str, allowed: Mapping[S, Iterable[S]],
                 terminal: Iterable[S] | None = None, refusal: str = INTERNAL) -> None:
        self.name = name
        self._refusal = refusal
        self.ALLOWED: dict[S, frozenset[S]] = {s: frozenset(t) for s, t in allowed.items()}
        states = set(self.ALLOWED)
        for targets in self.ALLOWED.values():
            unknown = targets - states
            if unknown:
                raise ValueError(f"{name}: {sorted(str(s) for s in unknown)} have no row")
        self.TERMINAL: frozenset[S] = (
            frozenset(terminal) if terminal is not None
            else frozenset(s for s, t in self.ALLOWED.items() if not t))
        self.ACTIVE: frozenset[S] = frozenset(states - self.TERMINAL)

    def can(self, current: S, target: S) -> bool:
        return target in self.ALLOWED[current]

    def transition(self, subject: str, current: S, target: S) -> S:
        """``current -> target`` checked against the table: the new state, or raise."""
        if target not in self.ALLOWED[current]:
            raise IllegalTransition(self.name, subject, current, target, self._refusal)
        return target

    def is_terminal(self, state: S) -> bool:
        return state in self.TERMINAL
