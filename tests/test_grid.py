"""actlab.grid: an experiment's grid run in one process. Its fast composition (compose once per
set of group choices, then set values on the typed config) must equal Hydra's full composition,
and a bad value anywhere stops the grid before anything is written."""

import pytest
from omegaconf import OmegaConf

from actlab.config import ConfigError
from actlab.grid import _plain_compose, grid_jobs, job_config, run_grid
from actlab.registry import experiments


@pytest.mark.parametrize("name", sorted(experiments()))
def test_fast_composition_equals_hydra(name):
    jobs = grid_jobs(name, ["scale=default"])
    for job in jobs[:: max(1, len(jobs) // 4)]:
        assert OmegaConf.to_yaml(job_config(job)) == OmegaConf.to_yaml(_plain_compose(job)), job


def test_values_are_type_checked():
    with pytest.raises(Exception, match="depth"):
        job_config(["experiment=gradient_flow", "model.depth=abc"])


def test_grid_folds_seeds_and_command_line_wins():
    jobs = grid_jobs("gradient_flow", ["activation=tanh", "model.depth=3", "seed=0,1,2"])
    assert all("activation=tanh" in j and "seeds=[0,1,2]" in j for j in jobs)
    assert all("model.depth=3" in j for j in jobs)
    assert len(jobs) == 3  # the config's three weight scales, depth fixed by the command line


def test_bad_value_stops_the_grid_before_any_run(tmp_path):
    exp = experiments()["gradient_flow"]
    with pytest.raises(ConfigError, match="model.depth=-1"):
        run_grid(exp, ["scale=smoke", f"out_dir={tmp_path}", "model.depth=3,-1"])
    assert not (tmp_path / "runs").exists()


@pytest.mark.parametrize("name", ["dead_relu", "gradient_flow", "continual"])
def test_a_shared_scratch_config_equals_a_fresh_one_for_every_job(name):
    """run_grid reuses one config object per set of group choices; each job must still see
    exactly the config a fresh composition gives (no value left over from the job before)."""
    jobs = grid_jobs(name, ["scale=default", "seed=0,1"])
    fresh = [OmegaConf.to_yaml(job_config(job)) for job in jobs]
    for changed_only in (False, True):  # every value set anew / only those that changed
        scratch: dict = {}
        shared = [OmegaConf.to_yaml(job_config(job, scratch, changed_only)) for job in jobs]
        assert shared == fresh, changed_only
        assert len(set(shared)) == len(jobs) > 2  # the jobs do differ
        assert len(scratch) < len(jobs)  # and did share objects


def test_changed_only_sets_every_value_when_keys_overlap():
    """`params={...}` merges into the node `params.lrs=` also sets: the order of the two matters,
    so a value unchanged since the job before must still be set again after the other."""
    jobs = [["experiment=dead_relu", f"params={{lrs: [{a}]}}", f"params.lrs=[{b}]"]
            for a, b in [(0.1, 0.2), (0.1, 0.2), (0.3, 0.2), (0.3, 0.4)]]
    scratch: dict = {}
    for job in jobs:
        assert list(job_config(job, scratch, changed_only=True).params.lrs) == \
            list(_plain_compose(job).params.lrs) == [float(job[2][-4:-1])]


def test_a_sweep_over_dict_values_gives_each_job_its_own_merge():
    """`params={lrs: [0.7]},{cause: bias}` sweeps two dicts; each merges into the experiment's
    params, never into what the job before left there."""
    jobs = grid_jobs("dead_relu", ["activation=relu", "seed=0", "activation.slope=0.01",
                                   "params={lrs: [0.7]},{cause: bias}"])
    assert len(jobs) == 2 * 3  # (times the experiment's own three params.cause)
    for changed_only in (False, True):
        scratch: dict = {}
        for job in jobs:
            assert OmegaConf.to_yaml(job_config(job, scratch, changed_only)) == \
                OmegaConf.to_yaml(_plain_compose(job)), job
    assert list(job_config(jobs[-1], {}).params.lrs) != [0.7]


def test_a_dict_value_merges_into_its_node_as_hydra_does():
    job = ["experiment=dead_relu", "params={lrs: [0.1]}", "seed=0"]
    fast, hydra = job_config(job), _plain_compose(job)
    assert OmegaConf.to_yaml(fast) == OmegaConf.to_yaml(hydra)
    assert list(fast.params.lrs) == [0.1] and "widths" in fast.params  # the rest is kept
