"""Euler maps with dt = tau against torch.nn's recurrent modules, both ways, to 1e-12 (float64)."""

import pytest
import torch
from torch import nn

import ctrnn

T, B, M, N = 12, 3, 2, 5
EXACT = {"rtol": 1e-12, "atol": 1e-12}


def _data(seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(T, B, M, generator=g), 0.5 * torch.randn(B, N, generator=g)


@pytest.mark.parametrize("activation", ["tanh", "relu"])
def test_rate_rnn_r_form_equals_nn_rnn(activation):
    u, h0 = _data()
    h0 = h0.abs() if activation == "relu" else h0
    net = ctrnn.RateRNN(N, n_inputs=M, form="r", activation=activation, tau=2.0, g=1.5, seed=1,
                        bias=0.2 * torch.randn(N, generator=torch.Generator().manual_seed(3)))
    dmap = ctrnn.discretize(net, 2.0)  # dt = tau
    states = dmap.rollout(h0, u)
    rnn = ctrnn.to_torch(dmap)
    assert isinstance(rnn, nn.RNN) and rnn.nonlinearity == activation
    out, h_last = rnn(u, h0[None])
    torch.testing.assert_close(states, out, **EXACT)
    torch.testing.assert_close(states[-1], h_last[0], **EXACT)
    # and back: a torch module (its own random weights, split biases) -> RateRNN -> the same sequence
    torch.manual_seed(0)
    theirs = nn.RNN(M, N, nonlinearity=activation, dtype=torch.float64)
    model = ctrnn.from_torch(theirs, tau=0.5)
    torch.testing.assert_close(ctrnn.discretize(model, 0.5).rollout(h0, u), theirs(u, h0[None])[0], **EXACT)


def test_dale_network_exports_its_effective_weights():
    net = ctrnn.RateRNN(N, n_inputs=M, form="r", dale=0.6, seed=2)
    u, h0 = _data(1)
    rnn = ctrnn.to_torch(ctrnn.discretize(net, 1.0))
    torch.testing.assert_close(rnn.weight_hh_l0, net.W_eff.detach(), rtol=0, atol=0)
    torch.testing.assert_close(ctrnn.discretize(net, 1.0).rollout(h0, u), rnn(u, h0[None])[0], **EXACT)


def test_x_form_tracks_the_rnn_through_phi():
    """x-form with the RNN's weights: phi(x_t) equals the RNN's h_t when x_0 = phi^-1(h_0)."""
    torch.manual_seed(1)
    rnn = nn.RNN(M, N, dtype=torch.float64)
    u, h0 = _data(2)
    h0 = torch.tanh(h0)  # a state the RNN can hold, so that x_0 = atanh(h_0) exists
    net = ctrnn.from_torch(rnn, form="x")
    x = ctrnn.discretize(net, 1.0).rollout(torch.atanh(h0), u)
    torch.testing.assert_close(torch.tanh(x), rnn(u, h0[None])[0], **EXACT)
    with pytest.raises(ValueError, match="x-form's Euler map is not torch.nn.RNN"):
        ctrnn.to_torch(ctrnn.discretize(net, 1.0))


def test_gru_ode_equals_gru_cell_and_gru():
    u, h0 = _data(3)
    model = ctrnn.GRUODE(N, M, tau=0.7, seed=4)
    dmap = ctrnn.discretize(model, 0.7)
    states = dmap.rollout(h0, u)
    cell = nn.GRUCell(M, N, dtype=torch.float64)
    with torch.no_grad():
        for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
            getattr(cell, name).copy_(getattr(model, name))
    h = h0
    for k in range(T):
        h = cell(u[k], h)
        torch.testing.assert_close(states[k], h, **EXACT)
    gru = ctrnn.to_torch(dmap)
    assert isinstance(gru, nn.GRU)
    torch.testing.assert_close(states, gru(u, h0[None])[0], **EXACT)
    back = ctrnn.from_torch(cell, tau=1.0)
    torch.testing.assert_close(ctrnn.discretize(back, 1.0).rollout(h0, u), states, **EXACT)


def test_lstm_ode_staggered_euler_equals_lstm_cell_and_lstm():
    u, h0 = _data(4)
    c0 = torch.randn(B, N, generator=torch.Generator().manual_seed(9))
    model = ctrnn.LSTMODE(N, M, tau=1.5, seed=5)
    dmap = ctrnn.discretize(model, 1.5)
    states = dmap.rollout(torch.cat([h0, c0], -1), u)  # state [h, c]
    lstm = ctrnn.to_torch(dmap)
    assert isinstance(lstm, nn.LSTM)
    out, (h_last, c_last) = lstm(u, (h0[None], c0[None]))
    torch.testing.assert_close(states[..., :N], out, **EXACT)
    torch.testing.assert_close(states[-1, :, N:], c_last[0], **EXACT)
    torch.manual_seed(2)
    cell = nn.LSTMCell(M, N, dtype=torch.float64)
    back = ctrnn.discretize(ctrnn.from_torch(cell, tau=1.0), 1.0).rollout(torch.cat([h0, c0], -1), u)
    h, c = h0, c0
    for k in range(T):
        h, c = cell(u[k], (h, c))
        torch.testing.assert_close(back[k], torch.cat([h, c], -1), **EXACT)


def test_lstm_flow_matches_its_equations_and_staggering_matters():
    model = ctrnn.LSTMODE(3, 1, tau=1.0, seed=0)
    x, u = torch.randn(2, 6), torch.randn(2, 1)
    h, c = x[:, :3], x[:, 3:]
    gates = u @ model.weight_ih.T + model.bias_ih + h @ model.weight_hh.T + model.bias_hh
    i, f, g, o = gates.chunk(4, -1)
    i, f, g, o = torch.sigmoid(i), torch.sigmoid(f), torch.tanh(g), torch.sigmoid(o)
    expected = torch.cat([o * torch.tanh(c) - h, f * c + i * g - c], -1)
    torch.testing.assert_close(model(torch.tensor(0.0), x, u), expected, rtol=1e-15, atol=1e-15)
    # a plain (unstaggered) Euler step differs from the staggered one: the scheme is not x + dt f
    plain = x + model(torch.tensor(0.0), x, u)
    assert float((plain - model.euler_step(x, u, 1.0)).detach().abs().max()) > 1e-3


def test_lstm_flow_euler_in_the_analyses_equals_lstm_cell():
    """The flow-side ``euler`` (the scheme lyapunov_spectrum and gradient_propagation step with) is the same
    staggered step as discretize's: at dt = tau it is torch.nn.LSTMCell, and its tangent is the cell's Jacobian."""
    from ctrnn.analysis._tangent import TangentStepper

    torch.manual_seed(3)
    cell = nn.LSTMCell(M, N, dtype=torch.float64)
    model = ctrnn.from_torch(cell, tau=1.0)
    u, h0 = _data(5)
    c0 = torch.randn(B, N, generator=torch.Generator().manual_seed(6))
    x = torch.cat([h0, c0], -1)
    V = torch.randn(B, 2 * N, 3, generator=torch.Generator().manual_seed(7))
    stepper = TangentStepper(model, False, dt=1.0, method="euler", inputs=u[0], like=x)
    with torch.no_grad():
        x_next, V_next = stepper.step(x, 0, V)
    h, c = cell(u[0], (h0, c0))
    torch.testing.assert_close(x_next, torch.cat([h, c], -1), **EXACT)

    def cell_step(y, b):
        hb, cb = cell(u[0, b:b + 1], (y[None, :N], y[None, N:]))
        return torch.cat([hb, cb], -1)[0]

    for b in range(B):
        J = torch.autograd.functional.jacobian(lambda y: cell_step(y, b), x[b])
        torch.testing.assert_close(V_next[b], J @ V[b], **EXACT)


@pytest.mark.parametrize("make,match", [
    (lambda: ctrnn.discretize(ctrnn.RateRNN(3, form="r", seed=0), 0.5), "only for dt = tau .* leaky RNN"),
    (lambda: ctrnn.discretize(ctrnn.RateRNN(3, form="r", seed=0), 1.0, scheme="rk4"), "only the Euler map"),
    (lambda: ctrnn.discretize(ctrnn.RateRNN(3, form="r", activation="softplus", seed=0), 1.0), "tanh and relu"),
    (lambda: ctrnn.discretize(ctrnn.RateRNN(3, form="r", tau=torch.tensor([1.0, 2.0, 1.0]), seed=0), 1.0), "per-unit tau"),
    (lambda: ctrnn.discretize(ctrnn.systems.Lorenz(), 0.01), "has no torch.nn counterpart"),
    (lambda: ctrnn.discretize(ctrnn.LinearSSM(torch.eye(2), torch.ones(2, 1)), 0.1), "has no torch.nn equivalent"),
])
def test_to_torch_says_why_not(make, match):
    with pytest.raises(ValueError, match=match):
        ctrnn.to_torch(make())


def test_from_torch_refusals():
    with pytest.raises(ValueError, match="single-layer, unidirectional"):
        ctrnn.from_torch(nn.GRU(2, 3, num_layers=2))
    with pytest.raises(ValueError, match="takes nn.RNN, nn.GRU, nn.LSTM"):
        ctrnn.from_torch(nn.Linear(2, 3))


def test_gated_models_simulate_like_dop853():
    """The flows themselves, against scipy (DOP853 at 1e-12), through the solver at 1e-10."""
    import numpy as np
    from conftest import dop853, solver_bound

    model = ctrnn.GRUODE(4, 0, tau=1.0, seed=7)
    x0 = torch.randn(4, generator=torch.Generator().manual_seed(0))
    t = np.linspace(0, 5, 11)
    traj = ctrnn.simulate(model, x0, t, rtol=1e-10, atol=1e-10)
    ref = dop853(lambda s, h: model(torch.tensor(s), torch.tensor(h)).detach().numpy(), x0.numpy(), t)
    np.testing.assert_allclose(traj.x.detach().numpy(), ref, rtol=0, atol=solver_bound(traj))
