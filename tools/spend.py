"""The budget cap: refuse up front when the estimate does not fit, and hold every submit to it.

The cap is on a project's total spend (the ledger's submits minus refunds), the same reading
`reelforge make --budget`, `REELFORGE_BUDGET_USD` and the chat Studio use. Up front, a run whose
estimate exceeds what is left is refused before anything is submitted. At submit time each take
reserves its price under a lock before it is sent, so concurrent takes can never together pass
the cap; a submit that fails releases its reservation, one that succeeds turns it into spend.
"""

from __future__ import annotations

import threading

EPSILON = 1e-9


class BudgetExceeded(RuntimeError):
    """Spending this would pass the budget cap; the message says by how much and what fits."""


def budget_problem(cap: float | None, spent: float, estimate: float) -> str | None:
    """One line explaining why `estimate` on top of `spent` does not fit `cap`, or None."""
    if cap is None or spent + estimate <= cap + EPSILON:
        return None
    left = max(0.0, cap - spent)
    return (
        f"this would spend ${estimate:.2f} on top of ${spent:.2f} already spent, over the budget "
        f"of ${cap:.2f} (${left:.2f} left; --budget or REELFORGE_BUDGET_USD); fewer takes or a "
        "cheaper provider would fit"
    )


def check_budget(cap: float | None, spent: float, estimate: float) -> None:
    """Raise `BudgetExceeded` when `estimate` does not fit what is left of `cap`."""
    problem = budget_problem(cap, spent, estimate)
    if problem is not None:
        raise BudgetExceeded(problem)


class SpendGuard:
    """Reservations against a cap, atomic under a lock (safe across tasks and threads).

    `spent` is what the ledger already holds for the project; `reserved` is what takes in the
    middle of a submit may cost. A submit whose outcome is unknown keeps its reservation: it may
    have been charged.
    """

    def __init__(self, cap: float | None, spent: float = 0.0) -> None:
        self.cap = cap
        self.spent = spent
        self.reserved = 0.0
        self._lock = threading.Lock()

    def reserve(self, amount: float) -> None:
        """Hold `amount` for a submit, or raise `BudgetExceeded` if it would pass the cap."""
        if amount <= 0:
            return
        with self._lock:
            problem = budget_problem(self.cap, self.spent + self.reserved, amount)
            if problem is not None:
                raise BudgetExceeded(f"not submitted: {problem}")
            self.reserved += amount

    def commit(self, amount: float) -> None:
        """The submit went through: the reservation is now spend."""
        if amount <= 0:
            return
        with self._lock:
            self.reserved = max(0.0, self.reserved - amount)
            self.spent += amount

    def release(self, amount: float) -> None:
        """The submit was refused: nothing was charged."""
        if amount <= 0:
            return
        with self._lock:
            self.reserved = max(0.0, self.reserved - amount)

    def add_spent(self, amount: float) -> None:
        """Spend found after the fact (a reconciled submit); it was already charged."""
        with self._lock:
            self.spent += max(0.0, amount)
