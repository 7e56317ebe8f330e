"""Selective (Mamba-style) SSM: the functional scan, the map, and exactness of ZOH."""

import pytest
import torch
import torch.nn.functional as F
from conftest import solver_bound

import ctrnn
from ctrnn.inputs import PiecewiseConstant


def reference_loop(u, delta, A, B, C, D, scheme):
    """Mamba's recurrence written out element by element (batch b, time l, channel i, state n)."""
    batch, L, d = u.shape
    N = A.shape[1]
    y = torch.zeros(batch, L, d, dtype=torch.float64)
    for b in range(batch):
        x = torch.zeros(d, N, dtype=A.dtype)
        for l in range(L):
            for i in range(d):
                for n in range(N):
                    dA = torch.exp(delta[b, l, i] * A[i, n])
                    Bn = B[b, l, n] if B.ndim == 3 else B[i, n]
                    gain = delta[b, l, i] if scheme == "mamba" else (dA - 1) / A[i, n]
                    x[i, n] = dA * x[i, n] + gain * Bn * u[b, l, i]
            Cn = C[b, l] if C.ndim == 3 else C
            y[b, l] = (x * Cn).sum(-1).real + D * u[b, l]
    return y


@pytest.mark.parametrize("scheme", ["mamba", "zoh"])
@pytest.mark.parametrize("kind", ["selective-real", "invariant-complex"])
def test_selective_scan_matches_the_recurrence(scheme, kind):
    g = torch.Generator().manual_seed(0)
    batch, L, d, N = 2, 9, 3, 4
    u = torch.randn(batch, L, d, generator=g)
    delta = F.softplus(torch.randn(batch, L, d, generator=g))
    if kind == "selective-real":
        A = -torch.rand(d, N, generator=g) - 0.1
        B, C = torch.randn(batch, L, N, generator=g), torch.randn(batch, L, N, generator=g)
    else:
        A = torch.complex(-torch.rand(d, N, generator=g) - 0.1, torch.randn(d, N, generator=g))
        B = torch.randn(d, N, generator=g).to(A.dtype)
        C = torch.randn(d, N, generator=g).to(A.dtype)
    D = torch.randn(d, generator=g)
    ref = reference_loop(u, delta, A, B, C, D, scheme)
    for parallel in (True, False):
        y = ctrnn.selective_scan(u, delta, A, B, C, D, scheme=scheme, parallel=parallel)
        torch.testing.assert_close(y, ref, rtol=1e-12, atol=1e-12)


def test_the_chunked_scan_differentiates_as_the_loop_does():
    """Gradients through the chunked scan (its states copied in where a graph is recorded) against the
    sequential loop's, for every argument; same terms, other order: float64 rounding."""
    g = torch.Generator().manual_seed(0)
    b, L, d, N = 2, 50, 3, 4  # 50 = 7 chunks of 7, and one step more
    u = torch.randn(b, L, d, generator=g, dtype=torch.float64, requires_grad=True)
    delta = (torch.rand(b, L, d, generator=g, dtype=torch.float64) + 0.1).requires_grad_()
    A = (-torch.rand(d, N, generator=g, dtype=torch.float64) - 0.1).requires_grad_()
    B = torch.randn(b, L, N, generator=g, dtype=torch.float64, requires_grad=True)
    C = torch.randn(b, L, N, generator=g, dtype=torch.float64)
    x0 = torch.randn(b, d, N, generator=g, dtype=torch.float64, requires_grad=True)
    grads = []
    for parallel in (True, False):
        y = ctrnn.selective_scan(u, delta, A, B, C, None, x0=x0, parallel=parallel)
        grads.append(torch.autograd.grad(y.square().sum(), [u, delta, A, B, x0]))
    for chunked, loop in zip(*grads):
        torch.testing.assert_close(chunked, loop, rtol=1e-10, atol=1e-12)


def test_selective_map_scan_equals_rollout_long():
    ssm = ctrnn.SelectiveSSM(4, 8, seed=1)
    dmap = ctrnn.discretize(ssm, 1.0, scheme="mamba")
    u = torch.randn(16384, 2, 4, generator=torch.Generator().manual_seed(2))
    x0 = torch.randn(2, 32, generator=torch.Generator().manual_seed(3))
    with torch.no_grad():
        torch.testing.assert_close(dmap.scan(x0, u), dmap.rollout(x0, u), rtol=1e-12, atol=1e-12)


def test_selective_map_agrees_with_the_functional_form():
    ssm = ctrnn.SelectiveSSM(3, 5, seed=4)
    u = torch.randn(20, 2, 3, generator=torch.Generator().manual_seed(5))
    with torch.no_grad():
        states = ctrnn.discretize(ssm, 1.0, scheme="zoh").rollout(torch.zeros(2, 15), u)
        y_map = ssm.output(states, u)
        delta, B, C, _ = ssm.selection(u, u.shape[:-1])
        y = ctrnn.selective_scan(u.transpose(0, 1), delta.transpose(0, 1), ssm.A, B.transpose(0, 1),
                                 C.transpose(0, 1), ssm.D, scheme="zoh")
    torch.testing.assert_close(y_map, y.transpose(0, 1), rtol=1e-12, atol=1e-12)


def test_zoh_is_exact_for_held_inputs():
    """While a token's input is held, Delta, B and C are constant: the flow is linear and ZOH exact."""
    ssm = ctrnn.SelectiveSSM(3, 4, seed=6)
    L = 25
    u = torch.randn(L + 1, 2, 3, generator=torch.Generator().manual_seed(7))
    t = torch.arange(L + 1, dtype=torch.float64)
    x0 = torch.randn(2, 12, generator=torch.Generator().manual_seed(8))
    cont = ctrnn.simulate(ssm, x0, t, inputs=PiecewiseConstant(t, u), rtol=1e-11, atol=1e-11)
    with torch.no_grad():
        zoh = ctrnn.discretize(ssm, 1.0, scheme="zoh").rollout(x0, u[:-1])
        mamba = ctrnn.discretize(ssm, 1.0, scheme="mamba").rollout(x0, u[:-1])
    torch.testing.assert_close(zoh, cont.x[1:].detach(), rtol=0, atol=solver_bound(cont))
    assert float((mamba - cont.x[1:].detach()).abs().max()) > 100 * solver_bound(cont)  # Euler for B is not exact


def test_selective_refusals():
    ssm = ctrnn.SelectiveSSM(2, 2, seed=0)
    with pytest.raises(ValueError, match="does not apply to SelectiveSSM: .* choose one of: euler, exp_euler, mamba, rk4, zoh"):
        ctrnn.discretize(ssm, 1.0, scheme="bilinear")
    with pytest.raises(ValueError, match="unknown selective scheme 'foh'"):
        ctrnn.selective_scan(torch.zeros(1, 2, 2), torch.ones(1, 2, 2), -torch.ones(2, 2), torch.zeros(1, 2, 2),
                             torch.zeros(1, 2, 2), scheme="foh")
    with pytest.raises(ValueError, match=r"A must have shape \(d, N\)"):
        ctrnn.selective_scan(torch.zeros(1, 2, 2), torch.ones(1, 2, 2), -torch.ones(3, 2), torch.zeros(1, 2, 2),
                             torch.zeros(1, 2, 2))


def test_selective_inputs_are_not_mistaken_for_time_invariant_ones():
    """B and C of shape (batch, L, N) with L == d, and a map batch equal to d, must still be read as
    per-token (selective), not as the (d, N) time-invariant layout."""
    g = torch.Generator().manual_seed(3)
    batch, d, N = 2, 3, 4
    L = d  # the ambiguous case
    u = torch.randn(batch, L, d, generator=g)
    delta = F.softplus(torch.randn(batch, L, d, generator=g))
    A = -torch.rand(d, N, generator=g) - 0.1
    B, C = torch.randn(batch, L, N, generator=g), torch.randn(batch, L, N, generator=g)
    D = torch.randn(d, generator=g)
    ref = reference_loop(u, delta, A, B, C, D, "mamba")
    torch.testing.assert_close(ctrnn.selective_scan(u, delta, A, B, C, D), ref, rtol=1e-12, atol=1e-12)
    ssm = ctrnn.SelectiveSSM(d, N, seed=0)
    dmap = ctrnn.discretize(ssm, 1.0, scheme="zoh")
    x = torch.randn(d, d * N, generator=g)  # batch of d states
    v = torch.randn(d, d, generator=g)
    with torch.no_grad():
        stepped = dmap.step(x, v)
        one_by_one = torch.stack([dmap.step(x[i:i + 1], v[i:i + 1])[0] for i in range(d)])
    torch.testing.assert_close(stepped, one_by_one, rtol=1e-12, atol=1e-12)
