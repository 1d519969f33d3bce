"""The experiments: one module per phenomenon, each building one `actlab.experiment.Experiment`.

A module defines its run parameters (`Params`, a dataclass: config key `params`; a choice among
named values is an Enum, so a bad value fails when the config is composed), `run(cfg, device)`
and optionally `run_seeds(cfg, device, seeds)`, `summarize(table, params)` (one row per seed per
condition) and `claims(summary, params)`, and ends with its record, `EXPERIMENT`: name, title,
summary, the command that reruns its default grid, those functions, the shared config groups its
runs read (`reads`: a key of any other group has no effect) and its figures as a
"module:function" path into `experiments/figures/`, imported only when figures are drawn. An
experiment module never imports its figure module or `actlab.plotting`.

Adding an experiment: one module here ending with its EXPERIMENT, one figure module
`experiments/figures/<name>.py` with `figures(table, params) -> {name: Figure}`, one line in
REGISTRY below and one `configs/experiment/<name>.yaml`.
"""

from actlab.experiment import Experiment
from experiments import (
    born_dead,
    continual,
    dead_relu,
    edge_of_chaos,
    gelu_approx,
    gradient_chain,
    gradient_flow,
    jacobian_spectrum,
    linear_collapse,
    linear_regions,
    nonmonotonic,
    output_constraint,
    saturation,
    signal_propagation,
    softplus_revival,
)

REGISTRY: dict[str, Experiment] = {e.name: e for e in (
    gradient_flow.EXPERIMENT,
    gradient_chain.EXPERIMENT,
    saturation.EXPERIMENT,
    signal_propagation.EXPERIMENT,
    dead_relu.EXPERIMENT,
    born_dead.EXPERIMENT,
    softplus_revival.EXPERIMENT,
    gelu_approx.EXPERIMENT,
    linear_collapse.EXPERIMENT,
    linear_regions.EXPERIMENT,
    nonmonotonic.EXPERIMENT,
    output_constraint.EXPERIMENT,
    continual.EXPERIMENT,
    edge_of_chaos.EXPERIMENT,
    jacobian_spectrum.EXPERIMENT,
)}
