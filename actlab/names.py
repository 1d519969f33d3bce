"""The names the activation and task registries answer to, and the activation keys each name
reads: torch-free, so that a configuration is checked (and a bad one answered) before torch is
imported. actlab.activations and actlab.tasks hold the code under these names;
tests/test_activations.py and tests/test_config_errors.py check that the two agree.
"""

from __future__ import annotations

from actlab.config import Backward

ACTIVATION_NAMES = (
    "identity", "linear", "relu", "leaky_relu", "sigmoid", "tanh", "softplus", "gelu", "swish",
    "elu", "selu", "celu", "mish", "hardswish", "hardsigmoid", "hardtanh", "relu6", "softsign",
    "silu", "logsigmoid", "tanhshrink",
)
CUSTOM = "custom"  # activation=custom activation.target=pkg.module:function
TASK_NAMES = ("teacher", "sine", "xor", "mnist1d", "digits")

# The ActivationConfig keys each activation reads; the others do not change what a run computes,
# so they are left out of its name and its table (a relu run with activation.slope=0.3 is the relu
# run).
USES: dict[str, tuple[str, ...]] = {
    "linear": ("slope",),
    "leaky_relu": ("slope",),
    "softplus": ("beta",),
    "gelu": ("approximate",),
    "swish": ("beta",),
    "elu": ("alpha",),
    "celu": ("alpha",),
    "hardtanh": ("min_val", "max_val"),
    CUSTOM: ("target", "derivative"),
}
ACTIVATION_KEYS = ("slope", "beta", "alpha", "approximate", "min_val", "max_val", "target",
                   "derivative")


def used_keys(name: str, backward: str = "exact") -> tuple[str, ...]:
    """The activation keys a run with this activation and backward mode reads (`backward` itself
    is read by every run)."""
    keys = USES.get(name, ())
    if backward == Backward.leaky_below.value and "slope" not in keys:
        keys = keys + ("slope",)
    return keys
