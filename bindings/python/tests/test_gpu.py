"""The binding on a CUDA runtime, checked against the CPU.

Every test here is skipped unless the library was built with CUDA
(seqcore.has_cuda()) and a CUDA device is present
(seqcore.cuda_device_count() > 0)."""

from __future__ import annotations

import numpy as np
import pytest

import seqcore
from seqcore import DType

pytestmark = pytest.mark.skipif(
    not seqcore.has_cuda() or seqcore.cuda_device_count() == 0,
    reason="needs a CUDA device (has_cuda=%s, cuda_device_count=%d)"
           % (seqcore.has_cuda(), seqcore.cuda_device_count()))

TEXT = b"In the beginning God created the heaven and the earth."
STEPS = 20


def within(cpu: np.ndarray, other: np.ndarray, rel: float) -> None:
    """max |a - b| <= rel * max(1, max |a|), with a the CPU result."""
    assert cpu.shape == other.shape
    assert np.all(np.isfinite(other))
    err = float(np.abs(cpu - other).max())
    bound = rel * max(1.0, float(np.abs(cpu).max()))
    assert err <= bound, f"max |cpu - gpu| = {err:g} exceeds {bound:g}"


@pytest.fixture(scope="module")
def cuda_runtime():
    with seqcore.Runtime(device=seqcore.Device.CUDA, device_index=0) as rt:
        assert rt.device == seqcore.Device.CUDA
        yield rt


@pytest.fixture(scope="module")
def gpu_model(cuda_runtime, token_model_path):
    with seqcore.Model.load(token_model_path, cuda_runtime) as m:
        yield m


def test_step_matches_cpu(token_model, gpu_model):
    assert gpu_model.weight_dtype == DType.F32
    cpu, gpu = token_model.stream(), gpu_model.stream()
    for tok in TEXT[:STEPS]:
        within(cpu.step_token(tok), gpu.step_token(tok), 1e-4)
    assert gpu.position == STEPS


def test_snapshot_on_gpu_restores_on_cpu(token_model, gpu_model):
    gpu = gpu_model.stream()
    gpu.forward_tokens(TEXT[:STEPS], output="none")
    cpu = token_model.stream()
    cpu.restore(gpu.snapshot())
    assert cpu.position == gpu.position == STEPS
    for tok in TEXT[STEPS:2 * STEPS]:
        within(cpu.step_token(tok), gpu.step_token(tok), 1e-4)
    # and back: a CPU snapshot restores on the GPU
    back = gpu_model.stream()
    back.restore(cpu.snapshot())
    for tok in TEXT[2 * STEPS:2 * STEPS + 5]:
        within(cpu.step_token(tok), back.step_token(tok), 1e-4)


def test_bf16_weights_close_to_f32_cpu(token_model, cuda_runtime, token_model_path):
    with seqcore.Model.load(token_model_path, cuda_runtime, weight_dtype="bf16") as m:
        assert m.weight_dtype == DType.BF16
        cpu, gpu = token_model.stream(), m.stream()
        for tok in TEXT[:STEPS]:
            within(cpu.step_token(tok), gpu.step_token(tok), 2e-2)


def test_generate_many_equals_solo_generate_on_gpu(token_model, gpu_model):
    prompts = (b"In the beginning", b"And God said", b"Let there be light")

    def prefilled(model):
        streams = []
        for p in prompts:
            s = model.stream()
            s.forward_tokens(p[:-1], output="none")
            streams.append(s)
        return streams

    many = prefilled(gpu_model)  # greedy
    solo = [s.fork() for s in many]
    cpu = prefilled(token_model)
    last_many = np.array([p[-1] for p in prompts], dtype=np.int32)
    last_solo = list(last_many)
    last_cpu = last_many.copy()
    agree = [True] * 3  # greedy may part on a near-tie: only count the agreement
    agreed_steps = [0] * 3
    for _ in range(16):
        last_many = seqcore.generate_many(many, last_many)
        last_solo = [next(s.generate([t], 1)) for s, t in zip(solo, last_solo)]
        assert list(last_many) == last_solo  # the same backend: exact
        last_cpu = seqcore.generate_many(cpu, last_cpu)
        for i in range(3):
            agree[i] = agree[i] and last_cpu[i] == last_many[i]
            agreed_steps[i] += agree[i]
    print(f"GPU greedy tokens agree with the CPU for {agreed_steps} steps of 16")

    # per-stream sampling settings and seeds, including > 64 candidates
    settings = [(0.0, 0, 1.0), (0.8, 40, 0.95), (1.0, 0, 1.0)]
    many = prefilled(gpu_model)
    for i, (s, (t, k, p)) in enumerate(zip(many, settings)):
        s.set_sampling(t, k, p)
        s.seed(7 + i)
    solo = [s.fork() for s in many]
    last_many = np.array([p[-1] for p in prompts], dtype=np.int32)
    last_solo = list(last_many)
    for _ in range(16):
        last_many = seqcore.generate_many(many, last_many)
        last_solo = [next(s.generate([t], 1)) for s, t in zip(solo, last_solo)]
        assert list(last_many) == last_solo
