"""Every experiment's own typed parameters (its config key `params`), in one torch-free module.

They live apart from the experiment code so that composing and checking a configuration (and
answering a bad one) never imports torch or the experiments: `experiments.REGISTRY` names each
experiment's Params and module, and the module is imported only when a run, a table or a figure
needs it. Each experiment module imports its own as `Params`. A choice among named values is an
Enum, so a bad value fails when the config is composed, with the valid choices.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum

from actlab.config import Init


class Choice(str, Enum):
    """A named choice: a str, so it compares, prints and fills a table cell as its value ("lr"),
    while the typed schema refuses any other value when the config is composed."""

    def __str__(self) -> str:
        return self.value


# -------------------- born_dead (experiments/born_dead.py)

class InitScheme(Choice):
    """How the weights are drawn. A str, so it compares, prints and fills a table cell as its value,
    while the typed schema refuses any other value when the config is composed."""

    he = "he"  # He-normal
    rai = "rai"  # randomized asymmetric initialization: one Beta(2, 1) weight per neuron


@dataclass
class BornDeadParams:
    samples: int = 1000  # networks per (depth, width, init)
    depths: list[int] = field(default_factory=lambda: [2, 3, 5, 10, 15, 20, 30, 40, 50])
    widths: list[int] = field(default_factory=lambda: [2, 3, 4, 5, 10])
    inits: list[InitScheme] = field(default_factory=lambda: list(InitScheme))
    R: float = 1.0  # input domain [-R, R]
    grid: int = 201  # input points (odd: includes 0)
    chunk: int = 500  # networks per batched computation (memory bound)


# -------------------- continual (experiments/continual.py)

class TaskSequence(Choice):
    """The task sequence. A str, so it compares, prints and fills a table cell as its value, while
    the typed schema refuses any other value when the config is composed."""

    split = "split"  # disjoint pairs of classes (head: params.heads)
    permuted = "permuted"  # PERMUTED_TASKS tasks of permuted inputs, shared head
    long_permuted = "long_permuted"  # params.n_tasks permuted tasks: loss of plasticity


class Head(Choice):
    """The output head of a split sequence (a permuted one always shares its head)."""

    task = "task"  # logits masked to the current task's classes (task-incremental)
    shared = "shared"  # no mask (class-incremental)


@dataclass
class ContinualParams:
    sequence: TaskSequence = TaskSequence.split
    head: Head = Head.task  # split: the head when `heads` is empty
    heads: list[Head] = field(default_factory=list)  # split: each head in turn ([] = [head])
    # split and permuted: one sequence per learning rate ([] = [trainer.lr]) and per bias shift
    # (added to every hidden bias at initialization); long_permuted: trainer.lr, no shift
    lrs: list[float] = field(default_factory=list)
    bias_shifts: list[float] = field(default_factory=lambda: [0.0])
    # split and permuted: also train the crossed gradient (relu: leaky_below at each of
    # ablation_slopes; leaky_relu: zero_below); other activations have no crossed arm
    ablation: bool = False
    ablation_slopes: list[float] = field(default_factory=lambda: [0.1])
    n_tasks: int = 100  # long_permuted: the sequence length
    steps_per_task: int = 100


# -------------------- dead_relu (experiments/dead_relu.py)

class Cause(Choice):
    """Which setting a run sweeps: a str, so it compares, prints and fills a table cell as its
    value ("lr"), while the typed schema refuses any other value when the config is composed."""

    lr = "lr"  # large learning-rate steps (trainer.lr)
    bias = "bias"  # a negative shift added to hidden biases at initialization (params.bias_shift)
    narrow = "narrow"  # narrow layers (model.width)


@dataclass
class DeadReluParams:
    cause: Cause = Cause.lr  # which setting this run sweeps
    lrs: list[float] = field(default_factory=lambda: [0.01, 0.03, 0.1, 0.2])
    bias_shifts: list[float] = field(default_factory=lambda: [0.0, -2.0, -3.0, -4.0])
    widths: list[int] = field(default_factory=lambda: [2, 3, 4, 8])
    bias_shift: float = 0.0  # added to hidden biases at initialization
    # how many hidden layers, from the input, get the shift (0: all). One: first-layer units die
    # while the layers above keep learning, so "a dead first-layer unit never revives" is tested
    # on a network that trains (shifting every layer by -2 kills the deep layers and the whole
    # net's gradient, while no first-layer unit dies: the old grid had none)
    shift_layers: int = 1


# -------------------- edge_of_chaos (experiments/edge_of_chaos.py)

class Train(Choice):
    """Which runs train the trainability map. A str, so it compares and prints as its value."""

    biased = "biased"  # runs with model.bias_scale > 0 (at sigma_b = 0 xi_c is mostly undefined)
    always = "always"
    never = "never"


@dataclass
class EdgeOfChaosParams:
    # sigma_w as multiples of the run's edge of chaos (its critical sigma_w, or where chi_1 jumps
    # over 1); where there is neither, these are sigma_w themselves
    weight_factors: list[float] = field(
        default_factory=lambda: [0.4, 0.55, 0.7, 0.85, 1.0, 1.2, 1.5, 2.0])
    depths: list[int] = field(default_factory=lambda: [2, 4, 8, 16, 32])  # trained networks
    train: Train = Train.biased
    # the critical line drawn in the figure: the critical sigma_w at each of these sigma_b too
    # (theory only, ~0.1 s each; the claims judge the run's own sigma_b)
    line_bias_scales: list[float] = field(
        default_factory=lambda: [0.0, 0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1.0])
    measure_width: int = 512  # the random networks xi_c is measured in
    measure_depth: int = 40
    pairs: int = 16  # input pairs per starting correlation


# -------------------- gelu_approx (experiments/gelu_approx.py)

@dataclass
class GeluApproxParams:
    z_max: float = 6.0  # the error and the minimum are measured on [-z_max, z_max]
    points: int = 120001  # grid points of that measurement (float64)


# -------------------- gradient_chain (experiments/gradient_chain.py)

@dataclass
class GradientChainParams:
    max_depth: int = 50
    x: float = 0.5  # the chain's input
    w1: float = 1.0  # the first weight, the one differentiated
    train_activations: list[str] = field(default_factory=lambda: ["linear"])
    train_depths: list[int] = field(default_factory=lambda: [2, 4, 8, 16, 24, 32])


# -------------------- gradient_flow (experiments/gradient_flow.py)

@dataclass
class GradientFlowParams:
    """No run parameters of its own: the grid is activation x weight scale x depth."""


# -------------------- jacobian_spectrum (experiments/jacobian_spectrum.py)

@dataclass
class JacobianSpectrumParams:
    depths: list[int] = field(default_factory=lambda: [2, 8, 32, 64])
    inits: list[Init] = field(default_factory=lambda: [Init.gaussian, Init.orthogonal])
    # independent networks per seed and init, each measured at every depth (its prefixes)
    networks: int = 12
    n_inputs: int = 2  # inputs per network
    # sigma_w where there is no critical one (chi_1 never equals 1): null skips the measurement
    weight_scale_fallback: float | None = None
    # the inputs' q_1 where q* is unbounded (relu at sigma_b > 0: chi does not depend on q there)
    input_q_fallback: float = 1.0


# -------------------- linear_collapse (experiments/linear_collapse.py)

@dataclass
class LinearCollapseParams:
    """No run parameters of its own: depth, activation and slope are swept by the config."""


# -------------------- linear_regions (experiments/linear_regions.py)

@dataclass
class LinearRegionsParams:
    R: float = 3.0
    nets: int = 10  # random nets (seeds) per setting
    total_neurons: int = 64
    shape_depths: list[int] = field(default_factory=lambda: [1, 2, 4, 8, 16])
    neuron_depth: int = 3
    neuron_widths: list[int] = field(default_factory=lambda: [8, 16, 32, 64, 128])
    line_dim: int = 8
    tent_depths: list[int] = field(default_factory=lambda: list(range(1, 11)))
    trained_nets: int = 10
    map_grid: int = 120


# -------------------- nonmonotonic (experiments/nonmonotonic.py)

class Target(Choice):
    """The function the neuron fits: a str, so it compares, prints and fills a table cell as its
    value, while the typed schema refuses any other value when the config is composed."""

    dip = "dip"  # 1 - exp(-x^2 / 0.8): symmetric, high at both ends (the original target)
    asymmetric = "asymmetric"  # minimum at x = -1; a steep arm up to 1, a gentle one up to 0.6
    swish_dip = "swish_dip"  # 2 swish(1.5 x - 3.5): one swish neuron represents it exactly
    monotone = "monotone"  # tanh(1.5 x): the control, no dip at all


@dataclass
class NonmonotonicParams:
    target: Target = Target.dip
    noise: float = 0.0  # sd of Gaussian label noise, drawn per seed (0: every seed the same data)
    max_norm: float = 10.0  # the norm bound of mse_bounded, and above which a fit is degenerate
    restarts: int = 16
    steps: int = 2000
    lr: float = 0.05
    n_points: int = 200
    x_range: float = 3.0


# -------------------- output_constraint (experiments/output_constraint.py)

@dataclass
class OutputConstraintParams:
    # targets = relu(teacher - threshold): a sizeable fraction of exact zeros
    threshold: float = 0.3
    scatter_points: int = 150  # (prediction, target) pairs kept per run for the figure


# -------------------- saturation (experiments/saturation.py)

class Design(Choice):
    """How saturation is produced (a str: it prints and fills a table cell as its value)."""

    input_scale = "input_scale"  # inputs x alpha: the first layer saturates
    all_layers = "all_layers"  # every hidden layer pushed (weights x alpha, or biases + shift)
    neuron = "neuron"  # one sigmoid (tanh, relu) neuron, the textbook case


class Push(Choice):
    weight = "weight"  # every hidden W_l multiplied by alpha
    bias = "bias"  # every hidden b_l shifted by + shift


class Loss(Choice):
    half_mse = "half_mse"  # (a - y)^2 / 2
    cross_entropy = "cross_entropy"  # -y ln a - (1 - y) ln(1 - a) (tanh: on p = (1 + a) / 2)


@dataclass
class SaturationParams:
    design: Design = Design.input_scale
    # input_scale: the input scale alpha; all_layers/weight: the multiplier of every hidden W_l
    alphas: list[float] = field(default_factory=lambda: [1.0, 3.0, 10.0, 30.0, 100.0])
    # all_layers: which pushes, and the bias shifts of the `bias` push
    pushes: list[Push] = field(default_factory=lambda: [Push.weight, Push.bias])
    shifts: list[float] = field(default_factory=lambda: [0.0, 2.0, 4.0, 8.0, 16.0])
    # neuron: the costs, the starts (w0[i], b0[i]), the input, the target
    loss: list[Loss] = field(default_factory=lambda: [Loss.half_mse, Loss.cross_entropy])
    w0: list[float] = field(default_factory=lambda: [0.6, 2.0])
    b0: list[float] = field(default_factory=lambda: [0.9, 2.0])
    x: float = 1.0
    y: float = 0.0
    # each seed's start is (w0, b0) + jitter * N(0, I): is the textbook picture specific to its
    # exact numbers? (0: every seed at the textbook start; the claims then have no interval)
    jitter: float = 0.1
    # learning speed: steps until |a - y| <= reach * |a0 - y| (0.5: the error halved)
    reach: float = 0.5


# -------------------- signal_propagation (experiments/signal_propagation.py)

@dataclass
class SignalPropagationParams:
    """No run parameters of its own: the grid is activation x weight/bias scale x width."""


# -------------------- softplus_revival (experiments/softplus_revival.py)

@dataclass
class SoftplusRevivalParams:
    z0s: list[float] = field(default_factory=lambda: [-1.0, -2.0, -3.0, -5.0, -7.0, -10.0, -20.0])
    lr: float = 0.5
    max_steps: int = 60000  # budget; units not back by then are "not revived" (censored)
    n_points: int = 64  # inputs x in [0, 1]
