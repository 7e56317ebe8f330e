"""Universality (Maheswaranathan, Williams, Golub, Ganguli & Sussillo 2019): do networks of different
architectures and seeds, trained on one task, use the same fixed-point topology?"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import torch

from .._results import Result, plot_result
from ._conditions import TaskFixedPoints

if TYPE_CHECKING:
    from matplotlib.figure import Figure

#: the columns of :meth:`TopologyComparison.table`: field, heading
COLUMNS = (("n_stable", "stable"), ("n_saddles", "saddles (1 unstable)"), ("n_other_unstable", "other unstable"),
           ("n_slow", "slow points"), ("n_patterns", "output patterns"), ("pattern_error", "max |y - sign y|"),
           ("n_joining", "saddles joining 2"), ("n_one_flip", "of them 1 output apart"))


@dataclass(frozen=True, eq=False, repr=False)
class TopologyComparison(Result):
    """The fixed-point topology of several trained networks in one condition, side by side.

    For each network: its numbers of stable points, saddles with one unstable direction, other unstable points
    and slow points; its stable points' readouts as *output patterns* (the signs of the outputs: the flip-flop's
    corners, a choice's sides) and how far the readouts lie from them; and its saddle graph: how many
    one-unstable-direction saddles have branches ending on two different stable points, and how many of those
    join two patterns that differ in exactly one output (Sussillo & Barak 2013: a saddle between two memories
    one bit apart).

    Attributes:
        task: the task's name. condition: the condition compared.
        names: ``(R,)`` the networks' names (e.g. ``"gru seed 1"``). groups: each network's group (its
            architecture), for the figure.
        n_stable, n_saddles, n_other_unstable, n_slow, n_patterns, n_joining, n_one_flip: ``(R,)`` int64 counts.
        pattern_error: ``(R,)`` the largest ``|y - sign y|`` over the stable points' outputs (NaN without any).
        scores: ``(R,)`` each network's task score (NaN where not given). score_name: what it measures.
    """

    task: str
    condition: str
    names: list[str]
    groups: list[str]
    n_stable: torch.Tensor
    n_saddles: torch.Tensor
    n_other_unstable: torch.Tensor
    n_slow: torch.Tensor
    n_patterns: torch.Tensor
    pattern_error: torch.Tensor
    n_joining: torch.Tensor
    n_one_flip: torch.Tensor
    scores: torch.Tensor
    score_name: str
    metadata: dict[str, Any] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.names)

    def table(self) -> str:
        """The comparison as a fixed-width text table, one row per network."""
        heads = ["network", *(h for _, h in COLUMNS), self.score_name]
        rows = []
        for i, name in enumerate(self.names):
            cells = [name]
            for key, _ in COLUMNS:
                v = getattr(self, key)[i]
                cells.append(f"{float(v):.3f}" if v.is_floating_point() else str(int(v)))
            cells.append(f"{float(self.scores[i]):.4g}")
            rows.append(cells)
        widths = [max(len(r[j]) for r in [heads, *rows]) for j in range(len(heads))]
        line = lambda cells: "  ".join(c.ljust(w) if j == 0 else c.rjust(w)  # noqa: E731
                                       for j, (c, w) in enumerate(zip(cells, widths)))
        return "\n".join([line(heads), *(line(r) for r in rows)])

    def summary(self) -> str:
        return f"{self.task}, {self.condition}: {len(self)} networks\n{self.table()}"

    def plot(self, *, title: str | None = None) -> Figure:
        """Each network's counts by kind (bars) and its readouts' distance from the output patterns. Returns a
        Figure."""
        return plot_result(self, title=title)


def compare_topologies(results: Mapping[str, TaskFixedPoints], *, condition: str | int = 0,
                       groups: Mapping[str, str] | None = None,
                       scores: Mapping[str, float] | None = None, score_name: str = "score") -> TopologyComparison:
    """Compare the fixed-point topology of several trained networks in one condition of their task.

    Arguments:
        results: ``{network name: its TaskFixedPoints}``, all of one task.
        condition: the condition compared (a name or an index).
        groups: ``{name: group}`` (e.g. the architecture; default: the name's first word).
        scores: ``{name: task score}`` to show beside the topology. score_name: what the score measures.

    Returns:
        :class:`TopologyComparison`.

    Raises:
        ValueError: no results, results of different tasks, or a condition one of them does not have.
        TypeError: a result that is not a :class:`TaskFixedPoints`.
    """
    if not results:
        raise ValueError("results is empty: give {name: TaskFixedPoints} of at least one network")
    for name, r in results.items():
        if not isinstance(r, TaskFixedPoints):
            raise TypeError(f"results[{name!r}] must be a TaskFixedPoints (ctrnn.mechanisms.task_fixed_points), "
                            f"got {type(r).__name__}")
    tasks = {r.task for r in results.values()}
    if len(tasks) > 1:
        raise ValueError(f"the results are of different tasks ({', '.join(sorted(tasks))}): compare one task's")
    first = next(iter(results.values()))
    label = first.conditions[first.index(condition)]
    counts: dict[str, list[float]] = {k: [] for k, _ in COLUMNS}
    for r in results.values():
        c = r.index(label)
        fps, man = r.fixed_points[c], r.manifolds[c]
        stable = fps.stable
        one = fps.n_unstable == 1
        counts["n_stable"].append(int(stable.sum()))
        counts["n_saddles"].append(int(one.sum()))
        counts["n_other_unstable"].append(int((~stable).sum()) - int(one.sum()))
        counts["n_slow"].append(int(fps.slow_points.shape[0]))
        y = r.readouts[c]
        patterns = torch.sign(y)
        stable_y = y[stable]
        counts["n_patterns"].append(len({tuple(p) for p in patterns[stable].int().tolist()}))
        counts["pattern_error"].append(float((stable_y - stable_y.sign()).abs().max()) if stable_y.shape[0]
                                       else float("nan"))
        joining = one_flip = 0
        for ends in man.connections(unstable=1).values():
            if len(ends) == 2 and min(ends) >= 0 and ends[0] != ends[1]:
                joining += 1
                one_flip += int(int((patterns[ends[0]] != patterns[ends[1]]).sum()) == 1)
        counts["n_joining"].append(joining)
        counts["n_one_flip"].append(one_flip)
    names = list(results)
    as_long = lambda v: torch.tensor(v, dtype=torch.long)  # noqa: E731
    return TopologyComparison(
        task=first.task, condition=label, names=names,
        groups=[(groups or {}).get(n, n.split()[0]) for n in names],
        **{k: (torch.tensor(v, dtype=torch.float64) if k == "pattern_error" else as_long(v)) for k, v in counts.items()},
        scores=torch.tensor([float((scores or {}).get(n, float("nan"))) for n in names], dtype=torch.float64),
        score_name=score_name)
