"""The built-in tasks keep their promises: targets recomputed independently from the trial variables, seeded
reproducibility, parameter refusals, config round trips, and scores that tell right from wrong.

Trials are short and batches small, so the whole file runs in a few seconds on two cores.
"""

from __future__ import annotations

import inspect
import json
import math

import pytest
import torch

import ctrnn
from ctrnn import tasks
from ctrnn.tasks import (TASKS, ContextIntegration, DelayedDiscrimination, FlipFlop, PerceptualDecision, ReadySetGo,
                         SineGenerator, check_task)

#: one instance of each built-in task, at its defaults
DEFAULTS = [FlipFlop(), SineGenerator(), SineGenerator(held_out=True), PerceptualDecision(), ContextIntegration(),
            DelayedDiscrimination(), ReadySetGo()]
IDS = [f"{t.name}{'-held-out' if getattr(t, 'held_out', False) else ''}" for t in DEFAULTS]
B = 16


def draw(task, batch: int = B, seed: int = 0):
    return task.sample(batch, torch.Generator().manual_seed(seed))


def equal_batches(a, b) -> bool:
    same = all(torch.equal(getattr(a, f), getattr(b, f)) for f in ("t", "inputs", "targets", "mask"))
    return same and a.trials.keys() == b.trials.keys() and all(torch.equal(a.trials[k], b.trials[k]) for k in a.trials)


def steps(duration: float, dt: float) -> int:
    """The steps of a period, recomputed: ``round(duration / dt)``, at least 1 (0 for a zero duration)."""
    return 0 if duration == 0 else max(1, round(duration / dt))


# ---- the contract every task keeps ---------------------------------------------------------------------------

def test_registry_and_exports():
    assert set(TASKS) == {"flipflop", "sine", "decision", "context", "romo", "readysetgo"}
    for name in TASKS:
        cls = TASKS[name]
        assert issubclass(cls, tasks.Task) and cls.name == name
        assert getattr(tasks, cls.__name__) is cls and cls.__name__ in tasks.__all__
        assert cls.description and "\n" not in cls.description
        assert cls.loss == "mse"
    assert tasks.__all__ == sorted(tasks.__all__)


@pytest.mark.parametrize("task", DEFAULTS, ids=IDS)
def test_batch_layout(task):
    check_task(task)
    batch = draw(task)
    T = batch.steps
    assert batch.task == task.name and batch.dt == task.dt and batch.batch_size == B
    assert batch.inputs.shape == (T, B, task.input_dim)
    assert batch.targets.shape == batch.mask.shape == (T, B, task.output_dim)
    for x in (batch.t, batch.inputs, batch.targets, batch.mask):
        assert x.dtype == torch.float64 and x.device.type == "cpu"
    # exact: k * dt is one rounding either way
    assert torch.equal(batch.t, torch.tensor([k * task.dt for k in range(T)], dtype=torch.float64))
    assert bool(((batch.mask == 0) | (batch.mask == 1)).all()) and bool(batch.mask.any())
    assert batch.trials and all(v.shape[0] == B for v in batch.trials.values())
    assert bool(torch.isfinite(batch.inputs).all()) and bool((batch.targets.abs() <= 1).all())


@pytest.mark.parametrize("task", DEFAULTS, ids=IDS)
def test_reproducible(task):
    assert equal_batches(draw(task, seed=3), draw(task, seed=3))
    assert not equal_batches(draw(task, seed=3), draw(task, seed=4))


@pytest.mark.parametrize("task", DEFAULTS, ids=IDS)
def test_draws_do_not_depend_on_default_dtype(task):
    expected = draw(task, seed=5)
    torch.set_default_dtype(torch.float32)  # conftest restores float64 afterwards
    assert equal_batches(draw(task, seed=5), expected)


@pytest.mark.parametrize("task", DEFAULTS, ids=IDS)
def test_config_round_trip(task):
    config = json.loads(json.dumps(task.config()))  # JSON-able, and rebuilt from what a file would hold
    rebuilt = type(task)(**config)
    assert rebuilt.config() == task.config()
    assert equal_batches(draw(rebuilt, seed=7), draw(task, seed=7))
    assert repr(task).startswith(type(task).__name__ + "(")


@pytest.mark.parametrize("task", DEFAULTS, ids=IDS)
def test_targets_score_perfectly_and_negated_targets_fail(task):
    batch = draw(task, batch=32)
    perfect, negated, silent = (task.score(y, batch) for y in (batch.targets, -batch.targets,
                                                                torch.zeros_like(batch.targets)))
    if task.score_is_error:
        # sqrt(mean (y - t)^2) / sqrt(mean t^2): 0, 2 and 1, to rounding (1e-12 relative)
        assert perfect == pytest.approx(0.0, abs=1e-12)
        assert negated == pytest.approx(2.0, rel=1e-12)
        assert silent == pytest.approx(1.0, rel=1e-12)
    else:
        assert (perfect, negated, silent) == (1.0, 0.0, 0.0)
    # outputs in float32 (a float32 network's) score the same
    assert task.score(batch.targets.float(), batch.to(torch.float32)) == pytest.approx(perfect, abs=1e-6)
    with pytest.raises(ValueError, match="shape"):
        task.score(batch.targets[:-1], batch)


@pytest.mark.parametrize("task", DEFAULTS, ids=IDS)
def test_sample_refuses_bad_batches(task):
    with pytest.raises(ValueError, match="batch"):
        task.sample(0, torch.Generator())
    with pytest.raises(TypeError, match="generator"):
        task.sample(2, 0)
    with ctrnn.size_limit(100), pytest.raises(ValueError, match="trials"):
        task.sample(4, torch.Generator())


# ---- parameter refusals: every constructor parameter --------------------------------------------------------

BAD = [
    (FlipFlop, {"n_bits": 0}, "n_bits"),
    (FlipFlop, {"duration": 0.0}, "duration"),
    (FlipFlop, {"duration": math.nan}, "duration"),
    (FlipFlop, {"pulse_probability": 0.0}, "pulse_probability"),
    (FlipFlop, {"pulse_probability": 1.5}, "pulse_probability"),
    (FlipFlop, {"dt": 0.0}, "dt"),
    (SineGenerator, {"min_frequency": 0.0}, "min_frequency"),
    (SineGenerator, {"min_frequency": 0.06}, "max_frequency"),  # min >= max: the max is the one to raise
    (SineGenerator, {"max_frequency": 0.5}, "max_frequency"),  # Nyquist at dt = 1
    (SineGenerator, {"max_frequency": -1.0}, "max_frequency"),
    (SineGenerator, {"n_frequencies": 1}, "n_frequencies"),
    (SineGenerator, {"duration": -5.0}, "duration"),
    (SineGenerator, {"input_offset": math.inf}, "input_offset"),
    (SineGenerator, {"dt": -1.0}, "dt"),
    (SineGenerator, {"dt": 10.0}, "max_frequency"),  # 0.06 cycles per unit is above Nyquist at dt = 10
    *[(cls, kwargs, match) for cls in (PerceptualDecision, ContextIntegration) for kwargs, match in [
        ({"coherences": []}, "coherences"),
        ({"coherences": [0.1, 0.0]}, "coherences"),
        ({"coherences": [0.1, 0.1]}, "coherences"),
        ({"coherences": [math.nan]}, "coherences"),
        ({"coherences": "0.1"}, "coherences"),
        ({"coherences": ["a"]}, "coherences"),
        ({"fixation": 0.0}, "fixation"),
        ({"stimulus": -1.0}, "stimulus"),
        ({"delay": -1.0}, "delay"),
        ({"delay_jitter": -0.2}, "delay_jitter"),
        ({"delay_jitter": math.inf}, "delay_jitter"),
        ({"response": 0.0}, "response"),
        ({"noise": -0.1}, "noise"),
        ({"noise": math.nan}, "noise"),
        ({"dt": math.inf}, "dt"),
    ]],
    (DelayedDiscrimination, {"f1_values": []}, "f1_values"),
    (DelayedDiscrimination, {"f1_values": [10.0, -14.0]}, "f1_values"),
    (DelayedDiscrimination, {"difference": 0.0}, "difference"),
    (DelayedDiscrimination, {"difference": 10.0}, "difference"),  # f2 = 10 - 10 = 0 Hz
    (DelayedDiscrimination, {"fixation": -1.0}, "fixation"),
    (DelayedDiscrimination, {"stimulus": 0.0}, "stimulus"),
    (DelayedDiscrimination, {"delay": 0.0}, "delay"),  # the working-memory period must exist
    (DelayedDiscrimination, {"response_delay": -0.5}, "response_delay"),
    (DelayedDiscrimination, {"response": math.nan}, "response"),
    (DelayedDiscrimination, {"noise": -1.0}, "noise"),
    (DelayedDiscrimination, {"dt": 0.0}, "dt"),
    (ReadySetGo, {"min_interval": 0.0}, "min_interval"),
    (ReadySetGo, {"max_interval": 2.0}, "max_interval"),  # below min_interval = 4.8
    (ReadySetGo, {"max_interval": math.inf}, "max_interval"),
    (ReadySetGo, {"fixation": 0.0}, "fixation"),
    (ReadySetGo, {"pulse_duration": 0.0}, "pulse_duration"),
    (ReadySetGo, {"pulse_duration": 4.8}, "pulse_duration"),  # as long as the shortest interval
    (ReadySetGo, {"response": -2.0}, "response"),
    (ReadySetGo, {"tolerance": 0.0}, "tolerance"),
    (ReadySetGo, {"tolerance": 1.5}, "tolerance"),
    (ReadySetGo, {"threshold": 0.0}, "threshold"),
    (ReadySetGo, {"threshold": 1.0}, "threshold"),
    (ReadySetGo, {"dt": -0.2}, "dt"),
]


@pytest.mark.parametrize("cls, kwargs, match", BAD, ids=[f"{c.name}-{next(iter(k))}-{i}" for i, (c, k, _) in
                                                         enumerate(BAD)])
def test_bad_parameters_are_refused(cls, kwargs, match):
    with pytest.raises(ValueError, match=rf"\b{match}\b"):
        cls(**kwargs)


WRONG_TYPE = [(FlipFlop, {"n_bits": 2.0}), (FlipFlop, {"duration": None}), (SineGenerator, {"held_out": 1}),
              (SineGenerator, {"duration": "300"}), (PerceptualDecision, {"noise": "0.5"}),
              (ContextIntegration, {"delay": None}), (DelayedDiscrimination, {"response_delay": None}),
              (DelayedDiscrimination, {"difference": "8"}), (ReadySetGo, {"fixation": None}),
              *((cls, {"response_only": 1}) for cls in (PerceptualDecision, ContextIntegration, DelayedDiscrimination))]


@pytest.mark.parametrize("cls, kwargs", WRONG_TYPE, ids=[f"{c.name}-{next(iter(k))}" for c, k in WRONG_TYPE])
def test_parameters_of_the_wrong_type_are_refused(cls, kwargs):
    with pytest.raises(TypeError, match=next(iter(kwargs))):
        cls(**kwargs)


@pytest.mark.parametrize("name", list(TASKS))
def test_every_parameter_has_a_refusal(name):
    cls = TASKS[name]
    covered = {key for c, kwargs, _ in BAD if c is cls for key in kwargs}
    covered |= {"held_out"} if cls is SineGenerator else set()  # a bool: refused by type, above
    covered |= {k for c, kwargs in WRONG_TYPE if c is cls for k in kwargs if k == "response_only"}  # a bool
    assert covered == set(inspect.signature(cls).parameters)


@pytest.mark.parametrize("cls", [PerceptualDecision, ContextIntegration, DelayedDiscrimination])
def test_response_only_counts_just_the_response_period(cls):
    both = [cls(response_only=flag).sample(8, torch.Generator().manual_seed(0)) for flag in (False, True)]
    plain, late = both
    assert torch.equal(plain.inputs, late.inputs) and torch.equal(plain.targets, late.targets)
    assert bool((plain.mask == 1).all())
    counted = late.mask[:, 0, 0].nonzero().flatten()
    response = plain.targets[:, 0, 0].ne(0).nonzero().flatten()  # the steps whose target is the choice
    assert torch.equal(counted, response) and bool((late.mask[:, :, 0] == late.mask[:, :1, 0]).all())


@pytest.mark.parametrize("cls", [PerceptualDecision, ContextIntegration])
def test_a_jittered_delay_moves_each_trials_response(cls):
    task = cls(delay=2.0, delay_jitter=3.0, response=1.0, dt=0.2, response_only=True)
    batch = task.sample(256, torch.Generator().manual_seed(1))
    fixed = cls(delay=2.0, response=1.0, dt=0.2).steps
    assert batch.inputs.shape[0] == task.steps == fixed + 15  # as long as the longest delay: 3 / 0.2 more steps
    counted = batch.mask[:, :, 0]
    starts = counted.argmax(0)  # response_only: the first counted step is where the response starts
    # every delay from 2 to 5 in steps of dt: 16 starts, each trial's 5 response steps counted, nothing after
    assert set((starts - starts.min()).tolist()) == set(range(16)) and int(starts.min()) == fixed - 5
    assert bool((counted.sum(0) == 5).all())
    for b in range(8):
        k = int(starts[b])
        assert bool((batch.targets[k:k + 5, b, 0].abs() == 1).all()) and bool((batch.targets[k + 5:, b] == 0).all())
        if cls is PerceptualDecision:  # the fixation input goes off at the trial's own go
            assert bool((batch.inputs[:k, b, 0] == 1).all()) and bool((batch.inputs[k:, b, 0] == 0).all())
    assert task.score(batch.targets, batch) == 1.0


# ---- flip-flop -----------------------------------------------------------------------------------------------

@pytest.mark.parametrize("probability", [0.04, 0.002])  # 0.002: most channels get only the guaranteed pulse
def test_flipflop_targets_hold_the_last_pulse(probability):
    task = FlipFlop(n_bits=3, duration=60.0, pulse_probability=probability)
    batch = draw(task)
    pulses = batch.trials["pulses"]
    assert pulses.shape == (B, 60, 3)
    assert torch.equal(batch.inputs, pulses.transpose(0, 1))
    for b in range(B):
        for bit in range(3):
            column = [float(pulses[b, k, bit]) for k in range(60)]
            assert set(column) <= {-1.0, 0.0, 1.0} and any(column), "every channel gets at least one pulse"
            last = 0.0
            for k, p in enumerate(column):
                if p != 0:
                    last = p
                assert float(batch.targets[k, b, bit]) == last
                assert float(batch.mask[k, b, bit]) == (1.0 if last != 0 else 0.0)


def test_flipflop_pulse_rate():
    task = FlipFlop(n_bits=3, duration=200.0, pulse_probability=0.04)
    rate = float((draw(task, batch=64).trials["pulses"] != 0).double().mean())
    # 38,400 Bernoulli(0.04) draws: standard error 0.001; 0.005 is five of them (plus the rare forced pulse)
    assert rate == pytest.approx(0.04, abs=0.005)


def test_flipflop_score_counts_masked_bits():
    task = FlipFlop(n_bits=2, duration=40.0, pulse_probability=0.1)
    batch = draw(task, batch=8)
    outputs = batch.targets.clone()
    counted = batch.mask > 0
    flip = torch.zeros_like(counted)
    flip[:, :4] = counted[:, :4]  # every counted output of the first 4 trials gets the wrong sign
    outputs[flip] *= -1
    outputs[~counted] = 123.0  # uncounted steps do not matter
    expected = 1 - int(flip.sum()) / int(counted.sum())
    assert task.score(outputs, batch) == pytest.approx(expected, abs=1e-12)


# ---- sine generator ------------------------------------------------------------------------------------------

def test_sine_targets_and_inputs():
    task = SineGenerator(min_frequency=0.02, max_frequency=0.1, n_frequencies=5, duration=30.0, input_offset=0.3)
    batch = draw(task)
    training = [0.02 + i * 0.02 for i in range(5)]
    for b in range(B):
        f = float(batch.trials["frequency"][b])
        assert min(abs(f - g) for g in training) < 1e-15  # a training frequency (to rounding)
        for k in range(30):
            # the target belongs to the end of step k: t = (k + 1) dt; 1e-12 covers float64 rounding of sin
            assert float(batch.targets[k, b, 0]) == pytest.approx(math.sin(2 * math.pi * f * (k + 1)), abs=1e-12)
            assert float(batch.inputs[k, b, 0]) == pytest.approx(f / 0.1 + 0.3, abs=1e-15)
    assert bool((batch.mask == 1).all())


def test_sine_held_out_frequencies_lie_strictly_between_training_ones():
    training = SineGenerator(n_frequencies=11)
    held = SineGenerator(n_frequencies=11, held_out=True)
    grid = sorted(float(f) for f in training.training_frequencies)
    drawn_train = {float(f) for f in draw(training, batch=200).trials["frequency"]}
    drawn_held = {float(f) for f in draw(held, batch=200).trials["frequency"]}
    assert len(drawn_train) == 11 and len(drawn_held) == 10  # 200 draws reach every one of them
    for f in drawn_train:
        assert min(abs(f - g) for g in grid) < 1e-15
    for f in drawn_held:
        # strictly inside one gap between neighbours, at least a quarter of the 0.005 spacing from both ends
        gaps = [(a, c) for a, c in zip(grid, grid[1:]) if a < f < c]
        assert len(gaps) == 1 and min(f - gaps[0][0], gaps[0][1] - f) > 0.00125


def test_sine_score_is_the_normalised_rms_error():
    task = SineGenerator(duration=50.0)
    batch = draw(task)
    outputs = 0.5 * batch.targets
    assert task.score(outputs, batch) == pytest.approx(0.5, rel=1e-12)  # |0.5 t - t| / |t|


# ---- timed choices -------------------------------------------------------------------------------------------

def periods(durations: list[float], dt: float) -> list[slice]:
    out, start = [], 0
    for d in durations:
        out.append(slice(start, start + steps(d, dt)))
        start += steps(d, dt)
    return out


def check_choice_targets(batch, sign: torch.Tensor, response: slice) -> None:
    """Targets hold 0 before the response period and ``sign`` ``(B,)`` during it; every step counts."""
    T = batch.steps
    assert response.stop == T
    for b in range(batch.batch_size):
        for k in range(T):
            want = float(sign[b]) if k >= response.start else 0.0
            assert float(batch.targets[k, b, 0]) == want
    assert bool((batch.mask == 1).all())


def test_decision_targets_follow_the_coherence():
    task = PerceptualDecision(coherences=[0.1, 0.3], fixation=0.4, stimulus=1.0, delay=0.0, response=0.6, noise=0.0)
    batch = draw(task, batch=64)
    coherence = batch.trials["coherence"]
    assert {round(abs(float(c)), 12) for c in coherence} == {0.1, 0.3}
    assert bool((coherence > 0).any() and (coherence < 0).any())
    fixation, stimulus, response = periods([0.4, 1.0, 0.6], 0.2)
    check_choice_targets(batch, torch.tensor([1.0 if c > 0 else -1.0 for c in coherence.tolist()]), response)
    # noiseless evidence is the coherence during the stimulus, 0 elsewhere; fixation is on until the response
    for k in range(batch.steps):
        want = coherence if stimulus.start <= k < stimulus.stop else torch.zeros(64, dtype=torch.float64)
        assert torch.equal(batch.inputs[k, :, 1], want)
        assert bool((batch.inputs[k, :, 0] == (0.0 if k >= response.start else 1.0)).all())


def test_decision_noise_is_white_noise_of_the_given_intensity():
    task = PerceptualDecision(noise=0.5, dt=0.2)
    batch = draw(task, batch=256)
    fixation, stimulus, delay, response = periods([1.0, 5.0, 2.0, 2.0], 0.2)
    noise = batch.inputs[stimulus, :, 1] - batch.trials["coherence"]
    # 6,400 samples: the std's relative standard error is 1/sqrt(2 n) < 1%; 5% is five of them
    assert float(noise.std()) == pytest.approx(0.5 / math.sqrt(0.2), rel=0.05)
    assert float(noise.mean()) == pytest.approx(0.0, abs=0.05 * 0.5 / math.sqrt(0.2))
    assert bool((batch.inputs[fixation, :, 1] == 0).all() and (batch.inputs[delay, :, 1] == 0).all())


def test_context_targets_follow_the_cued_stream():
    task = ContextIntegration(coherences=[0.05, 0.5], fixation=0.4, stimulus=1.0, delay=0.4, response=0.6,
                              noise=0.0)
    batch = draw(task, batch=64)
    motion, colour = batch.trials["motion_coherence"], batch.trials["colour_coherence"]
    context = batch.trials["context"]
    assert set(context.tolist()) == {0, 1}
    cued = [float(m) if c == 0 else float(k) for m, k, c in zip(motion, colour, context.tolist())]
    sign = torch.tensor([1.0 if c > 0 else -1.0 for c in cued])
    fixation, stimulus, delay, response = periods([0.4, 1.0, 0.4, 0.6], 0.2)
    check_choice_targets(batch, sign, response)
    # the test can tell the streams apart: in some trials the uncued stream points the other way
    uncued = [float(k) if c == 0 else float(m) for m, k, c in zip(motion, colour, context.tolist())]
    assert any((u > 0) != (s > 0) for u, s in zip(uncued, sign.tolist()))
    for k in range(batch.steps):
        on = stimulus.start <= k < stimulus.stop
        assert torch.equal(batch.inputs[k, :, 0], motion if on else torch.zeros(64, dtype=torch.float64))
        assert torch.equal(batch.inputs[k, :, 1], colour if on else torch.zeros(64, dtype=torch.float64))
        assert batch.inputs[k, :, 2].tolist() == [1.0 if c == 0 else 0.0 for c in context.tolist()]
        assert batch.inputs[k, :, 3].tolist() == [1.0 if c == 1 else 0.0 for c in context.tolist()]


def test_romo_targets_follow_f1_greater_than_f2():
    task = DelayedDiscrimination(fixation=0.4, stimulus=1.0, delay=2.0, response_delay=0.4, response=0.6,
                                 noise=0.0)
    batch = draw(task, batch=64)
    f1, f2 = batch.trials["f1"], batch.trials["f2"]
    assert set(f1.tolist()) <= {10.0, 14.0, 18.0, 22.0, 26.0, 30.0, 34.0}
    assert all(abs(a - b) == 8.0 for a, b in zip(f1.tolist(), f2.tolist()))  # exact: whole numbers of Hz
    assert bool((f1 > f2).any() and (f1 < f2).any())
    fixation, first, delay, second, wait, response = periods([0.4, 1.0, 2.0, 1.0, 0.4, 0.6], 0.2)
    check_choice_targets(batch, torch.tensor([1.0 if a > b else -1.0 for a, b in zip(f1.tolist(), f2.tolist())]),
                         response)
    # the input level is f / (34 + 8 Hz) during each stimulus; 1e-15 for the division's rounding
    for k in range(batch.steps):
        f = f1 if first.start <= k < first.stop else f2 if second.start <= k < second.stop else None
        want = torch.zeros(64, dtype=torch.float64) if f is None else f / 42.0
        torch.testing.assert_close(batch.inputs[k, :, 1], want, rtol=0, atol=1e-15)
        assert bool((batch.inputs[k, :, 0] == (0.0 if k >= response.start else 1.0)).all())


@pytest.mark.parametrize("task", [PerceptualDecision(), ContextIntegration(), DelayedDiscrimination()],
                         ids=["decision", "context", "romo"])
def test_choice_score_reads_the_response_mean(task):
    batch = draw(task, batch=8)
    outputs = batch.targets.clone()
    response = batch.targets != 0
    # the first 3 trials: right at the start of the response, wrong for longer, so the mean is wrong
    for b in range(3):
        k = response[:, b, 0].nonzero()[:, 0]
        outputs[k[: len(k) // 3], b, 0] *= 2.0
        outputs[k[len(k) // 3:], b, 0] *= -1.0
    outputs[~response] = 5.0  # what is output before the response period does not decide the choice
    assert task.score(outputs, batch) == pytest.approx(5 / 8, abs=1e-12)


# ---- ready-set-go --------------------------------------------------------------------------------------------

def test_readysetgo_go_is_set_plus_interval():
    task = ReadySetGo(min_interval=1.0, max_interval=2.0, fixation=0.6, pulse_duration=0.4, response=1.0)
    batch = draw(task, batch=64)
    ready, set_, go, interval = (batch.trials[k] for k in ("ready", "set", "go", "interval"))
    dt = 0.2
    assert batch.steps == steps(0.6, dt) + 2 * steps(2.0, dt) + steps(1.0, dt)
    # times are whole steps, each a product k * dt: 1e-12 covers their rounding
    torch.testing.assert_close(ready, torch.full((64,), 0.6, dtype=torch.float64), rtol=0, atol=1e-12)
    torch.testing.assert_close(set_, ready + interval, rtol=0, atol=1e-12)
    torch.testing.assert_close(go, set_ + interval, rtol=0, atol=1e-12)
    assert {round(i / dt) for i in interval.tolist()} == {5, 6, 7, 8, 9, 10}  # 1.0 to 2.0, every step reached
    for b in range(64):
        r, s, g = (round(float(x[b]) / dt) for x in (ready, set_, go))
        for k in range(batch.steps):
            pulse = 1.0 if (r <= k < r + 2) or (s <= k < s + 2) else 0.0  # 0.4 = 2 steps
            assert float(batch.inputs[k, b, 0]) == pulse
            assert float(batch.targets[k, b, 0]) == (1.0 if k >= g else 0.0)
    assert bool((batch.mask == 1).all())


def test_readysetgo_score_uses_the_tolerance():
    task = ReadySetGo(min_interval=4.0, max_interval=4.0, tolerance=0.15)  # I = 4: 0.6 tolerated = 3 steps
    batch = draw(task, batch=4)
    go_step = round(float(batch.trials["go"][0]) / 0.2)

    def shifted(shift: int) -> torch.Tensor:
        y = torch.zeros_like(batch.targets)
        y[go_step + shift:] = 0.8  # above the threshold 0.5 from step go + shift
        return y
    for shift, correct in [(0, 1.0), (3, 1.0), (-3, 1.0), (4, 0.0), (-4, 0.0)]:
        assert task.score(shifted(shift), batch) == correct, shift
    torch.testing.assert_close(task.produced_go(shifted(2), batch), batch.trials["go"] + 0.4, rtol=0, atol=1e-12)
    early = torch.ones_like(batch.targets)  # above threshold from the start: goes at set, an interval too early
    assert task.score(early, batch) == 0.0
