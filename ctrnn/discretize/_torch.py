"""Exact bridges between continuous models and ``torch.nn`` recurrent modules.

``to_torch(discretize(model, dt=tau))`` gives a ``torch.nn.RNN`` / ``GRU`` / ``LSTM`` holding the same
weights, and ``from_torch(module, tau=...)`` the model whose ``dt = tau`` Euler map equals the module.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from ..systems._gated import GRUODE, LSTMODE
from ..systems._rate import RateRNN
from ._nonlinear import SystemMap

_TORCH_NONLINEARITY = {"tanh", "relu"}


def to_torch(dmap: SystemMap) -> nn.RNN | nn.GRU | nn.LSTM:
    """The ``torch.nn`` module equal to a discrete map, where the correspondence is exact.

    Exact for the Euler map with ``dt = tau`` of an r-form :class:`~ctrnn.RateRNN` (tanh or relu; Dale's
    law allowed: the module holds ``W_eff``) -> ``nn.RNN``, of a :class:`~ctrnn.GRUODE` -> ``nn.GRU``, and
    of a :class:`~ctrnn.LSTMODE` -> ``nn.LSTM`` (state ``[h, c]``). Single layer, time-major
    (``batch_first=False``), same dtype and device. A model without inputs gets ``input_size = 1``
    and zero input weights: feed it zeros.

    Arguments:
        dmap: ``ctrnn.discretize(model, dt=tau, scheme="euler")`` of a rate network, GRU or LSTM.

    Returns:
        the ``nn.RNN``, ``nn.GRU`` or ``nn.LSTM`` with the map's weights.

    Raises:
        ValueError: saying why no exact module exists (another scheme, ``dt != tau``, the x-form, a
            per-unit ``tau``, an activation torch's RNN lacks, another model).
    """
    if not isinstance(dmap, SystemMap):
        raise ValueError(f"to_torch takes the map of ctrnn.discretize(model, dt=tau, scheme='euler'); got "
                         f"{type(dmap).__name__}, which has no torch.nn equivalent")
    system = dmap.system
    if dmap.scheme != "euler":
        raise ValueError(f"only the Euler map equals a torch.nn module; this map uses {dmap.scheme!r}")
    if isinstance(system, RateRNN):
        return _rnn(dmap, system)
    if isinstance(system, (GRUODE, LSTMODE)):
        _check_unit_alpha(dmap.dt, system.tau)
        cls = nn.GRU if isinstance(system, GRUODE) else nn.LSTM
        module = cls(max(system.input_dim, 1), system.hidden, dtype=system.weight_hh.dtype, device=system.weight_hh.device)
        with torch.no_grad():
            _copy_weights(module, system.weight_ih, system.weight_hh, system.bias_ih, system.bias_hh)
        return module
    raise ValueError(f"{type(system).__name__} has no torch.nn counterpart; exact maps exist for the r-form "
                     "RateRNN, GRUODE and LSTMODE")


def _check_unit_alpha(dt: float, tau: float) -> None:
    if not math.isclose(dt, tau, rel_tol=1e-12):
        raise ValueError(f"the Euler map equals a torch.nn module only for dt = tau (here dt = {dt:g}, tau = "
                         f"{tau:g}); with dt < tau it is a leaky RNN, which torch.nn does not implement")


def _rnn(dmap: SystemMap, net: RateRNN) -> nn.RNN:
    if net.form != "r":
        raise ValueError("the x-form's Euler map is not torch.nn.RNN: the RNN's state is phi(x), not x (its "
                         "phi(x_t) equals the RNN's h_t when x_0 = phi^-1(h_0)); use form='r' for an exact module")
    if net.tau.numel() != 1 and not bool((net.tau == net.tau.flatten()[0]).all()):
        raise ValueError("torch.nn.RNN has one time step for all units; this network has a per-unit tau")
    _check_unit_alpha(dmap.dt, float(net.tau.flatten()[0]))
    if net.phi.name not in _TORCH_NONLINEARITY:
        raise ValueError(f"torch.nn.RNN offers tanh and relu; this network uses {net.phi.name!r}")
    W = net.W_eff.detach()
    rnn = nn.RNN(max(net.input_dim, 1), net.state_dim, nonlinearity=net.phi.name, dtype=W.dtype, device=W.device)
    with torch.no_grad():
        _copy_weights(rnn, net.W_in.detach(), W, net.bias.detach(), torch.zeros_like(net.bias))
    return rnn


def _copy_weights(module: nn.RNNBase, w_ih: torch.Tensor, w_hh: torch.Tensor, b_ih: torch.Tensor, b_hh: torch.Tensor) -> None:
    module.weight_hh_l0.copy_(w_hh)
    module.weight_ih_l0.zero_()
    if w_ih.shape[1]:
        module.weight_ih_l0.copy_(w_ih)
    module.bias_ih_l0.copy_(b_ih)
    module.bias_hh_l0.copy_(b_hh)


def _weights(module: nn.Module) -> tuple[torch.Tensor, ...]:
    """``(weight_ih, weight_hh, bias_ih, bias_hh)`` of a cell or a single-layer module (zero biases if none)."""
    if isinstance(module, nn.RNNBase):
        if module.num_layers != 1 or module.bidirectional or getattr(module, "proj_size", 0):
            raise ValueError("from_torch takes a single-layer, unidirectional module without projections")
        suffix = "_l0"
    else:
        suffix = ""
    w_ih, w_hh = getattr(module, "weight_ih" + suffix), getattr(module, "weight_hh" + suffix)
    b_ih = getattr(module, "bias_ih" + suffix, None)
    b_hh = getattr(module, "bias_hh" + suffix, None)
    zero = torch.zeros(w_hh.shape[0], dtype=w_hh.dtype, device=w_hh.device)
    return (w_ih.detach().clone(), w_hh.detach().clone(), zero if b_ih is None else b_ih.detach().clone(),
            zero if b_hh is None else b_hh.detach().clone())


def from_torch(module: nn.Module, *, tau: float = 1.0, form: str = "r") -> RateRNN | GRUODE | LSTMODE:
    """The continuous model whose Euler map with ``dt = tau`` equals ``module``.

    Arguments:
        module: ``nn.RNN`` / ``nn.RNNCell`` (tanh or relu) -> :class:`~ctrnn.RateRNN`; ``nn.GRU`` /
            ``nn.GRUCell`` -> :class:`~ctrnn.GRUODE`; ``nn.LSTM`` / ``nn.LSTMCell`` -> :class:`~ctrnn.LSTMODE`.
        tau: the time constant the module's step stands for.
        form: for RNNs, ``"r"`` (exact: the states are the RNN's) or ``"x"`` (the x-form with the same
            weights: its ``phi(x_t)`` equals the RNN's ``h_t`` when ``x_0 = phi^-1(h_0)``).

    Returns:
        the :class:`~ctrnn.RateRNN`, :class:`~ctrnn.GRUODE` or :class:`~ctrnn.LSTMODE` with copied weights.

    Raises:
        ValueError: a multi-layer or bidirectional module, or a module type without a counterpart.
    """
    if isinstance(module, (nn.RNN, nn.RNNCell)):
        w_ih, w_hh, b_ih, b_hh = _weights(module)
        return RateRNN(w_hh.shape[0], n_inputs=w_ih.shape[1], form=form, activation=module.nonlinearity, tau=tau,
                       W=w_hh, W_in=w_ih, bias=b_ih + b_hh)
    for torch_types, model in (((nn.GRU, nn.GRUCell), GRUODE), ((nn.LSTM, nn.LSTMCell), LSTMODE)):
        if isinstance(module, torch_types):
            w_ih, w_hh, b_ih, b_hh = _weights(module)
            n = w_hh.shape[1]
            return model(n, w_ih.shape[1], tau=tau, weight_ih=w_ih, weight_hh=w_hh, bias_ih=b_ih, bias_hh=b_hh)
    raise ValueError(f"from_torch takes nn.RNN, nn.GRU, nn.LSTM or their cells; got {type(module).__name__}")
