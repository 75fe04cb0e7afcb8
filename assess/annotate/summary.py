"""The closing account of an annotation run: requests, cache hits, retries, failures, tokens, cost."""
from __future__ import annotations

from dataclasses import asdict, dataclass

from rich.table import Table

from ..backends import Price
from .store import StoredAnswer, call_spend


@dataclass
class RunSummary:
    """Counts for one run; ``calls`` counts requests actually sent (first asks and repairs)."""

    requests: int = 0
    cache_hits: int = 0
    calls: int = 0
    repairs: int = 0
    retries: int = 0
    answered: int = 0
    failures: int = 0
    #: Batch results that carried a provider error instead of an answer (asked again on the next export).
    unanswered: int = 0
    #: Batch results answering a prompt that is not the pending one (an older attempt, say); ignored.
    stale: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost: float | None = None
    elapsed_s: float = 0.0

    def count_call(self, before: StoredAnswer | None, after: StoredAnswer, price: Price | None) -> None:
        """Account for one answer received: tokens, retries, repairs and cost are the increments."""
        self.calls += 1
        self.repairs += int(before is not None)
        new_prompt, new_completion, cost = call_spend(before, after, price)
        self.prompt_tokens += new_prompt
        self.completion_tokens += new_completion
        self.retries += after.retries - (before.retries if before else 0)
        if cost is not None:
            self.cost = (self.cost or 0.0) + cost

    def count_final(self, answer: StoredAnswer) -> None:
        """Account for a request whose asking is over (answered, or failed with no repairs left)."""
        if answer.status == "ok":
            self.answered += 1
        else:
            self.failures += 1

    def as_dict(self) -> dict[str, object]:
        return asdict(self)

    def table(self) -> Table:
        table = Table(title="annotation run", show_header=False)
        for name, value in self.as_dict().items():
            shown = "n/a (no price set)" if value is None else f"{value:.4f}" if isinstance(value, float) else str(value)
            table.add_row(name.replace("_", " "), shown)
        return table
