"""One module per phenomenon. Each module defines:

  Params             a dataclass of the experiment's own typed parameters (config key `params`)
  run(cfg, device)   -> actlab.trainer.TrainResult: the tidy rows of one configured run
  run_seeds(cfg, device, seeds) (optional) -> {seed: TrainResult}: several seeds trained
                     together (actlab.batched); a folded seed sweep uses it when it exists
  summarize(df, params) -> DataFrame: one row per seed (the unit of replication) per condition,
                     from the collected table and the Params its runs used
  claims(summary, params) -> list[actlab.claims.Claim], judged by actlab.claims' rules from the
                     summary alone (intervals over seeds; math claims against a reference
                     computed another way than the code under test)
  figures(df, params) -> dict[name, matplotlib Figure], drawn from the table (and its summary)

Adding an experiment is one module here, one entry below and one `configs/experiment/*.yaml`.
"""

from experiments import (
    born_dead,
    continual,
    dead_relu,
    gelu_approx,
    gradient_chain,
    gradient_flow,
    linear_collapse,
    linear_regions,
    nonmonotonic,
    output_constraint,
    saturation,
    signal_propagation,
    softplus_revival,
)

EXPERIMENTS = {
    "gradient_flow": gradient_flow,
    "gradient_chain": gradient_chain,
    "saturation": saturation,
    "signal_propagation": signal_propagation,
    "dead_relu": dead_relu,
    "born_dead": born_dead,
    "softplus_revival": softplus_revival,
    "gelu_approx": gelu_approx,
    "linear_collapse": linear_collapse,
    "linear_regions": linear_regions,
    "nonmonotonic": nonmonotonic,
    "output_constraint": output_constraint,
    "continual": continual,
}
