"""Variables under tf.distribute.MirroredStrategy on 2 logical CPUs (in a subprocess: the
logical device configuration must be set before TensorFlow initializes its devices)."""

import json
import os
import subprocess
import sys
from pathlib import Path

SCRIPT = r"""
import json, os
os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
import numpy as np, tensorflow as tf, keras
cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
from autograder.tracker import snapshot
strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
with strategy.scope():
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2, name="frozen_layer"),
                              keras.layers.Dense(1, name="head")])
    model.get_layer("frozen_layer").trainable = False
    model.compile(keras.optimizers.SGD(0.1), "mse")
raw = model.get_layer("head").kernel.value
snap = snapshot(model)
x = np.random.default_rng(0).normal(size=(8, 4)).astype("float32")
model.fit(x, x[:, :1], epochs=1, batch_size=8, verbose=0)
report = snap.compare()
report.expect(updated="head/*", frozen="frozen_layer/*", others="frozen")
print(json.dumps({"replicas": strategy.num_replicas_in_sync, "variable_type": type(raw).__name__,
                  "verdicts": {c["name"]: c["verdict"] for c in report.to_dict()["variables"]}}))
"""


def test_mirrored_strategy_on_two_logical_cpus():
    root = Path(__file__).resolve().parents[2]
    env = dict(os.environ, PYTHONPATH=str(root), TF_CPP_MIN_LOG_LEVEL="3")
    done = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["replicas"] == 2 and result["variable_type"] == "MirroredVariable"
    assert result["verdicts"] == {
        "sequential/frozen_layer/kernel": "frozen", "sequential/frozen_layer/bias": "frozen",
        "sequential/head/kernel": "updated", "sequential/head/bias": "updated",
        "loss/total": "updated", "loss/count": "updated"}  # the compiled loss tracker's (synced) variables
