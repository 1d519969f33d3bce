"""The experiments: one module per phenomenon, each building one `actlab.experiment.Experiment`.

A module defines `run(cfg, device)` and optionally `run_seeds(cfg, device, seeds)`,
`summarize(table, params)` (one row per seed per condition) and `claims(summary, params)`, and
ends with its record, `EXPERIMENT`: name, title, summary, the command that reruns its default
grid, those functions, the shared config groups its runs read (`reads`: a key of any other group
has no effect) and its figures as a "module:function" path into `experiments/figures/`, imported
only when figures are drawn. An experiment module never imports its figure module or
`actlab.plotting`. Its run parameters (`Params`, a dataclass: config key `params`) live in
`experiments/params.py`, torch-free, so that a config is composed and checked without importing
the experiment.

REGISTRY lists each experiment's name, Params and module without importing the module
(actlab.experiment.Registered): the core imports one experiment's code when it first needs it.

Adding an experiment: its Params in params.py, one module here ending with its EXPERIMENT, one
figure module `experiments/figures/<name>.py` with `figures(table, params) -> {name: Figure}`,
one line in REGISTRY below and one `configs/experiment/<name>.yaml`.
"""

from actlab.experiment import Registered
from experiments import params as P


def _registered(name: str, params: type) -> Registered:
    return Registered(name=name, params=params, module=f"experiments.{name}")


REGISTRY: dict[str, Registered] = {e.name: e for e in (
    _registered("gradient_flow", P.GradientFlowParams),
    _registered("gradient_chain", P.GradientChainParams),
    _registered("saturation", P.SaturationParams),
    _registered("signal_propagation", P.SignalPropagationParams),
    _registered("dead_relu", P.DeadReluParams),
    _registered("born_dead", P.BornDeadParams),
    _registered("softplus_revival", P.SoftplusRevivalParams),
    _registered("gelu_approx", P.GeluApproxParams),
    _registered("linear_collapse", P.LinearCollapseParams),
    _registered("linear_regions", P.LinearRegionsParams),
    _registered("nonmonotonic", P.NonmonotonicParams),
    _registered("output_constraint", P.OutputConstraintParams),
    _registered("continual", P.ContinualParams),
    _registered("edge_of_chaos", P.EdgeOfChaosParams),
    _registered("jacobian_spectrum", P.JacobianSpectrumParams),
)}
