"""The example's stand-in weights leave the host's mlx random generator alone, and are still the
weights ``mx.random.seed(0)`` gave (the example's manifests, locks and digests are made from them).

A host that seeded mlx for its own reasons must get the same next draw whether or not it called
tinyrel in between; the stand-in draws from an explicit key instead of reseeding the global one.
"""

from __future__ import annotations

from pathlib import Path

import tinyrel
from tinyrel.scaffold.standin import TINY_CONFIG, qwen3_shapes, write_standin


def _snapshot(ws: Path) -> Path:
    return next((ws / "hf-cache").rglob("snapshots/*"))


def test_init_example_leaves_the_hosts_mlx_generator_where_the_host_left_it(tmp_path):
    import mlx.core as mx

    mx.random.seed(1234)
    mx.random.normal((4,))  # the host has drawn once already
    expected = mx.random.normal((8,))

    mx.random.seed(1234)
    mx.random.normal((4,))
    assert tinyrel.init_example(tmp_path / "demo").ok
    after = mx.random.normal((8,))

    assert mx.array_equal(after, expected).item(), "init_example moved (or reseeded) the host's mlx generator"


def test_write_standin_leaves_the_global_key_unchanged(tmp_path):
    import mlx.core as mx

    mx.random.seed(99)
    mx.random.uniform(shape=(3,))
    before = mx.array(mx.random.state[0])
    write_standin(tmp_path / "model", seed=5)
    assert mx.array_equal(mx.random.state[0], before).item()


def _seeded_reference(seed: int) -> dict:
    """The stand-in as mlx's global generator gives it after ``mx.random.seed(seed)``: the values the
    shipped example has always had (the test, as the host here, reseeds its own generator)."""
    import mlx.core as mx

    mx.random.seed(seed)
    weights = {}
    for name, shape in sorted(qwen3_shapes(TINY_CONFIG).items()):
        if len(shape) == 1:
            weights[name] = mx.ones(shape, dtype=mx.bfloat16)
        else:
            weights[name] = (mx.random.normal(shape) * 0.02).astype(mx.bfloat16)
    return weights


def test_the_example_standin_keeps_the_weights_seed_zero_gave(tmp_path):
    import mlx.core as mx

    assert tinyrel.init_example(tmp_path / "demo").ok
    written = mx.load(str(_snapshot(tmp_path / "demo") / "model.safetensors"))
    reference = _seeded_reference(0)
    assert sorted(written) == sorted(reference)
    for name, value in reference.items():
        assert written[name].dtype == value.dtype and mx.array_equal(written[name], value).item(), name


def test_other_seeds_keep_their_weights_too(tmp_path):
    import mlx.core as mx

    for seed in (1, 7):
        written = mx.load(str(write_standin(tmp_path / str(seed), seed) / "model.safetensors"))
        for name, value in _seeded_reference(seed).items():
            assert mx.array_equal(written[name], value).item(), (seed, name)
