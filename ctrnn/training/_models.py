"""Networks with a readout: a trained object is still a System (or a DiscreteMap) that every analysis accepts.

``TaskModel(system, n_outputs)`` pairs a flow with ``y = C s(x) + d``; ``TaskMap(dmap, n_outputs)`` pairs a map
with the same readout. ``s(x)`` is the readout's source: the whole state, the network's rates ``phi(x)``, or one
named block of the state (an LSTM's ``h``). The dynamics are exactly the wrapped model's: ``forward``,
``jacobian``, ``jvp`` and the discretization hooks pass through, so fixed points, spectra and Lyapunov exponents of
a TaskModel are those of its network.
"""

from __future__ import annotations

import math
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from .._validation import as_tensor, check_finite, check_positive_int, check_shape
from ..discretize import DiscreteMap
from ..systems import RateRNN, System
from ..systems._base import constructor_arguments
from ..systems._rate import make_generator

#: what a readout may read besides a state block's name
SOURCES = ("state", "rates")


def default_source(model: System | DiscreteMap) -> str:
    """The readout source a network is usually read out from: a rate network's rates (``phi(x)`` of the x-form;
    the r-form's state is its rates), an LSTM's hidden state ``h``, else the whole state."""
    core = model.source_system if isinstance(model, DiscreteMap) else model
    if isinstance(core, RateRNN):
        return "rates"
    if core is not None and "h" in core.state_parts():
        return "h"
    return "state"


def readout_features(model: System | None, source: str, x: torch.Tensor) -> torch.Tensor:
    """``s(x)``, what the readout reads from the state ``x`` ``(*batch, n)``."""
    if source == "state":
        return x
    if source == "rates":
        return model.phi(x) if model.form == "x" else x
    return x[..., model.state_parts()[source]]


def _feature_count(model: System | None, source: str, n: int) -> int:
    """The size of ``s(x)``, checking that ``model`` offers ``source``."""
    if source == "state":
        return n
    if source == "rates":
        if not isinstance(model, RateRNN):
            raise ValueError(f"source='rates' reads phi(x) of a rate network; {type(model).__name__} has none: "
                             f"use source='state'")
        return n
    parts = {} if model is None else model.state_parts()
    if source not in parts:
        choices = ", ".join([*SOURCES, *parts])
        raise ValueError(f"unknown readout source {source!r}; choose one of: {choices}")
    block = parts[source]
    return len(range(*block.indices(n)))


class Readout(nn.Module):
    """``y = C s + d``: ``C`` ``(p, n_s)``, ``d`` ``(p,)``, where ``s`` is the readout's source.

    Arguments:
        n_features: ``n_s``, the size of the source. n_outputs: ``p``.
        source: ``"state"``, ``"rates"`` or a block of the state (for messages and configs).
        C, d: explicit weights; by default ``C ~ N(0, 1 / n_s)`` from ``seed`` and ``d = 0``.
        seed: int or ``torch.Generator``. dtype: of the drawn weights.
    """

    def __init__(self, n_features: int, n_outputs: int, *, source: str = "state", C: Any = None, d: Any = None,
                 seed: int | torch.Generator | None = None, dtype: torch.dtype | None = None):
        super().__init__()
        n_features, n_outputs = check_positive_int(n_features, "n_features"), check_positive_int(n_outputs, "n_outputs")
        gen, self.seed = make_generator(seed)
        target = dtype or torch.get_default_dtype()
        if C is None:
            C = torch.randn(n_outputs, n_features, generator=gen, dtype=torch.float64) / math.sqrt(n_features)
        else:
            C = as_tensor(C, "C")
            check_shape(C, "C", (n_outputs, n_features))
            target = dtype or C.dtype
        d = torch.zeros(n_outputs, dtype=torch.float64) if d is None else as_tensor(d, "d")
        check_shape(d, "d", (n_outputs,))
        self.C = nn.Parameter(C.to(target))
        self.d = nn.Parameter(d.to(target))
        self.source = source

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        return F.linear(features, self.C, self.d)

    @property
    def n_outputs(self) -> int:
        return self.C.shape[0]


class _WithReadout:
    """What TaskModel and TaskMap share: the readout and ``output(x)``."""

    readout: Readout
    source: str

    def _attach(self, core: System | None, n: int, n_outputs: int, source: str | None, C: Any, d: Any,
                seed: Any, dtype: torch.dtype | None) -> None:
        self.source = source if source is not None else ("state" if core is None else default_source(core))
        if not isinstance(self.source, str):
            raise TypeError(f"source must be a name (a str), got {type(self.source).__name__}")
        features = _feature_count(core, self.source, n)
        self.readout = Readout(features, n_outputs, source=self.source, C=C, d=d, seed=seed, dtype=dtype)

    def output(self, x: torch.Tensor) -> torch.Tensor:
        """The readout ``y = C s(x) + d`` of states ``x`` ``(*batch, n)`` -> ``(*batch, p)``."""
        return self.readout(readout_features(self._core(), self.source, x))

    def _core(self) -> System | None:
        raise NotImplementedError

    @property
    def output_dim(self) -> int:
        """``p``, the number of outputs."""
        return self.readout.n_outputs


class TaskModel(_WithReadout, System):
    """A flow with a linear readout: ``dx/dt = f(x, u)`` of ``system``, ``y = C s(x) + d``.

    Arguments:
        system: the network (any :class:`~ctrnn.System`).
        n_outputs: ``p``.
        source: what the readout reads: ``"state"``, ``"rates"`` (a rate network's ``phi(x)``; its r-form state)
            or a block of the state (an LSTM's ``"h"``). Default: ``"rates"`` for a rate network, ``"h"`` where
            the state has such a block, else ``"state"``.
        C, d: explicit readout weights ``(p, n_s)``, ``(p,)``; default ``C ~ N(0, 1/n_s)`` from ``seed``, ``d = 0``.
        seed: for the readout's random weights.

    Attributes:
        system: the network; readout: the :class:`Readout`.

    Raises:
        TypeError: ``system`` not a System. ValueError: a source the network does not offer, or readout weights of
            the wrong shape.
    """

    def __init__(self, system: System, n_outputs: int, *, source: str | None = None, C: Any = None, d: Any = None,
                 seed: int | torch.Generator | None = 0):
        System.__init__(self)
        if not isinstance(system, System) or isinstance(system, TaskModel):
            raise TypeError(f"TaskModel wraps a ctrnn.System (not a TaskModel), got {type(system).__name__}")
        self.system = system
        self.state_dim, self.input_dim = system.state_dim, system.input_dim
        self._attach(system, system.state_dim, n_outputs, source, C, d, seed, system.dtype)

    def _core(self) -> System:
        return self.system

    # the dynamics are the network's
    def forward(self, t: torch.Tensor, x: torch.Tensor, u: torch.Tensor | None = None) -> torch.Tensor:
        return self.system(t, x, u)

    def jacobian(self, x: torch.Tensor, u: torch.Tensor | None = None, t: torch.Tensor | float = 0.0) -> torch.Tensor:
        return self.system.jacobian(x, u, t)

    def jvp(self, x: torch.Tensor, v: torch.Tensor, u: torch.Tensor | None = None,
            t: torch.Tensor | float = 0.0) -> torch.Tensor:
        return self.system.jvp(x, v, u, t)

    def has_hook(self, name: str) -> bool:
        return self.system.has_hook(name)

    def leak(self, x: torch.Tensor, u: torch.Tensor | None = None) -> torch.Tensor | None:
        return self.system.leak(x, u)

    def euler_step(self, x: torch.Tensor, u: torch.Tensor | None, dt: float | torch.Tensor) -> torch.Tensor:
        return self.system.euler_step(x, u, dt)

    def state_parts(self) -> dict[str, slice]:
        return self.system.state_parts()

    def fused_rollout(self, x0: torch.Tensor, inputs: torch.Tensor | None, steps: int, dt: float | torch.Tensor,
                      scheme: str) -> torch.Tensor | None:
        fused = getattr(self.system, "fused_rollout", None)
        return None if fused is None else fused(x0, inputs, steps, dt, scheme)

    @property
    def network(self) -> System:
        """The network without its readout (what connectivity analyses look at)."""
        return self.system

    # persistence: the network's record plus the readout's settings
    def config(self) -> dict[str, Any]:
        return {"system": {"class": type(self.system).__name__, "config": self.system.config()},
                "n_outputs": self.output_dim, "source": self.source}

    @classmethod
    def _system_class(cls, config: dict[str, Any]) -> tuple[type[System], dict[str, Any]]:
        args = constructor_arguments(cls, config)
        record = args["system"]
        if not isinstance(record, dict) or not isinstance(record.get("class"), str) \
                or not isinstance(record.get("config"), dict):
            raise ValueError("a TaskModel config's system must be a JSON object {class: <model class>, config: {...}}")
        name = record["class"]
        classes = {k: v for k, v in System.model_classes.items()
                   if not k.startswith("_") and v.config is not System.config and v is not TaskModel}
        if name not in classes:
            raise ValueError(f"unknown model class {name[:60]!r} in the TaskModel config; choose one of: "
                             f"{', '.join(sorted(classes))}")
        return classes[name], record["config"]

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> TaskModel:
        system_cls, system_config = cls._system_class(config)
        system = system_cls.from_config(system_config)
        args = constructor_arguments(cls, config)
        return cls(system, args["n_outputs"], source=args["source"])

    @classmethod
    def tensor_shapes(cls, config: dict[str, Any]) -> dict[str, tuple[int, ...]] | None:
        system_cls, system_config = cls._system_class(config)
        inner = system_cls.tensor_shapes(system_config)
        if inner is None:
            return None
        if system_cls is not RateRNN:  # only a rate network's readout size follows from its config alone
            return None
        args = constructor_arguments(cls, config)
        p = check_positive_int(args["n_outputs"], "n_outputs")
        n = inner["W"][0]
        return {**{f"system.{k}": v for k, v in inner.items()}, "readout.C": (p, n), "readout.d": (p,)}

    def check_parameters(self) -> None:
        self.system.check_parameters()
        for name, t in self.readout.named_parameters():
            check_finite(t.detach(), f"readout.{name}")

    def describe(self) -> str:
        return f"{self.system.describe()}; readout of {self.source} to {self.output_dim} outputs"


class TaskMap(_WithReadout, DiscreteMap):
    """A discrete map with a linear readout: ``x_k = F(x_{k-1}, u_k)`` of ``dmap``, ``y_k = C s(x_k) + d``.

    Arguments:
        dmap: any :class:`~ctrnn.DiscreteMap` (a discretized network, or an :class:`~ctrnn.IteratedMap`).
        n_outputs, source, C, d, seed: as :class:`TaskModel` (the source defaults from the network the map
            discretizes; ``"state"`` for a map of one's own).
    """

    def __init__(self, dmap: DiscreteMap, n_outputs: int, *, source: str | None = None, C: Any = None,
                 d: Any = None, seed: int | torch.Generator | None = 0):
        DiscreteMap.__init__(self)
        if not isinstance(dmap, DiscreteMap) or isinstance(dmap, TaskMap):
            raise TypeError(f"TaskMap wraps a ctrnn.DiscreteMap (not a TaskMap), got {type(dmap).__name__}")
        self.map = dmap
        self.state_dim, self.input_dim = dmap.state_dim, dmap.input_dim
        self.scheme = dmap.scheme
        if hasattr(dmap, "dt"):
            self.dt = dmap.dt
        self._attach(dmap.source_system, dmap.state_dim, n_outputs, source, C, d, seed, dmap.dtype)

    def _core(self) -> System | None:
        return self.map.source_system

    def step(self, x: torch.Tensor, u: torch.Tensor | None = None) -> torch.Tensor:
        return self.map.step(x, u)

    def rollout(self, x0: torch.Tensor, inputs: torch.Tensor | None = None, *, steps: int | None = None) -> torch.Tensor:
        return self.map.rollout(x0, inputs, steps=steps)

    def jacobian(self, x: torch.Tensor, u: torch.Tensor | None = None) -> torch.Tensor:
        return self.map.jacobian(x, u)

    def jvp(self, x: torch.Tensor, v: torch.Tensor, u: torch.Tensor | None = None) -> torch.Tensor:
        return self.map.jvp(x, v, u)

    def step_with_tangent(self, x: torch.Tensor, V: torch.Tensor,
                          u: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        return self.map.step_with_tangent(x, V, u)

    @property
    def source_system(self) -> System | None:
        return self.map.source_system

    def describe(self) -> str:
        return f"{self.map.describe()}; readout of {self.source} to {self.output_dim} outputs"
