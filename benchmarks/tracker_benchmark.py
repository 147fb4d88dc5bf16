"""Benchmark the variable-change tracker on a >= 25M-parameter model (prints figures; not a test).

Compares, around one training step that updates only some variables (the head) and one
that updates all of them:

* tracker: ``snapshot(model)`` before, ``compare()`` after (plus the extra cost its held
  buffers add to the step, because TensorFlow copies a variable on write when the old
  buffer is still referenced);
* naive: ``[v.numpy() for v in model.weights]`` before and after + ``np.array_equal``;
* floor: one plain memory copy of all weights (``np.copy`` of each buffer).

Memory is measured as the process RSS delta (psutil), in MiB, because the tracker's
extra memory lives in TensorFlow's allocator, which tracemalloc cannot see.

Run: PYTHONPATH=. python benchmarks/tracker_benchmark.py
"""

import gc
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402
import psutil  # noqa: E402
import tensorflow as tf  # noqa: E402
import keras  # noqa: E402

from autograder.tracker import snapshot  # noqa: E402
from autograder.tracker.verdicts import host_array  # noqa: E402

PROCESS = psutil.Process()
MIB = 1 << 20


def rss():
    gc.collect()
    return PROCESS.memory_info().rss


def build(width=2048, depth=6):
    layers = [keras.Input((width,))]
    layers += [keras.layers.Dense(width, name=f"body_{i}") for i in range(depth)]
    layers += [keras.layers.Dense(width, name="head")]
    model = keras.Sequential(layers)
    x = tf.random.normal((8, width))
    y = tf.random.normal((8, width))
    return model, x, y


def make_step(model, x, y, variables):
    optimizer = keras.optimizers.SGD(0.01)
    optimizer.build(variables)

    @tf.function
    def step():
        with tf.GradientTape() as tape:
            loss = tf.reduce_mean(tf.square(model(x) - y))
        optimizer.apply_gradients(zip(tape.gradient(loss, variables), variables))

    step()  # trace once
    return step


def timed(fn):
    start = time.perf_counter()
    out = fn()
    return time.perf_counter() - start, out


def measure(model, step, repeats=3):
    weights = model.weights
    results = {}
    best = lambda values: min(values)  # noqa: E731 - least noisy of the repeats
    # Plain step (no tracking): the reference for the tracker's copy-on-write cost.
    plain = best([timed(step)[0] for _ in range(repeats)])

    floor_t, floor_m = [], []
    for _ in range(repeats):
        base = rss()
        t, copies = timed(lambda: [np.copy(host_array(v.value.read_value())) for v in weights])
        floor_t.append(t); floor_m.append(rss() - base)
        del copies
    results["floor (one copy)"] = (best(floor_t), best(floor_m))

    naive_t, naive_m = [], []
    for _ in range(repeats):
        base = rss()
        t1, before = timed(lambda: [v.numpy() for v in weights])
        s = timed(step)[0]
        t2, _ = timed(lambda: [np.array_equal(b, v.numpy()) for b, v in zip(before, weights)])
        naive_m.append(rss() - base)
        naive_t.append(t1 + t2 + max(0.0, s - plain))
        del before
    results["naive (.numpy() x2)"] = (best(naive_t), best(naive_m))

    tr_t, tr_m, verdicts, parts = [], [], None, []
    for _ in range(repeats):
        base = rss()
        t1, snap = timed(lambda: snapshot(model))
        s = timed(step)[0]
        t2, report = timed(snap.compare)
        tr_m.append(rss() - base)
        tr_t.append(t1 + t2 + max(0.0, s - plain))
        parts.append((t1, max(0.0, s - plain), t2))
        # Exact accounting: bytes the snapshot holds that are no longer any variable's buffer.
        held = sum(host_array(snap._values[r.key]).nbytes for r in snap.records
                   if report[r.name].verdict != "frozen")
        verdicts = report.counts()
        del snap, report
    results["tracker"] = (best(tr_t), best(tr_m))
    return results, verdicts, plain, min(parts, key=sum), held


def main():
    tf.config.threading.set_intra_op_parallelism_threads(2)
    model, x, y = build()
    params = model.count_params()
    weight_bytes = sum(int(np.prod(v.shape)) * 4 for v in model.weights)
    print(f"model: {params / 1e6:.1f}M parameters, weights {weight_bytes / MIB:.0f} MiB, {len(model.weights)} variables")
    print("memory: process RSS delta (psutil), MiB; time: best of 3, seconds; tracker/naive time includes the "
          "extra time their held buffers add to the step")
    head = [v for v in model.trainable_weights if v.path.startswith("sequential/head/")]
    for label, variables in (("step updates the head only", head),
                             ("step updates every variable", model.trainable_weights)):
        step = make_step(model, x, y, variables)
        results, verdicts, plain, parts, held = measure(model, step)
        print(f"\n== {label}: {verdicts['updated']} updated, {verdicts['frozen']} frozen "
              f"(plain step {plain:.3f}s)")
        floor_t, floor_m = results["floor (one copy)"]
        for name, (t, m) in results.items():
            print(f"{name:22s} time {t:7.3f}s  ({t / floor_t:5.2f}x floor)   extra memory {m / MIB:7.1f} MiB "
                  f"({m / weight_bytes:5.2f}x weights)")
        tracker_t, naive_t = results["tracker"][0], results["naive (.numpy() x2)"][0]
        print(f"tracker / naive time: {tracker_t / naive_t:.2f}   tracker / floor time: {tracker_t / floor_t:.2f}")
        print(f"tracker breakdown: snapshot {parts[0]:.4f}s, extra step time (copy-on-write) {parts[1]:.4f}s, "
              f"compare {parts[2]:.4f}s; buffers held by the snapshot (exact): {held / MIB:.1f} MiB "
              f"({held / weight_bytes:.2f}x weights)")


if __name__ == "__main__":
    main()
