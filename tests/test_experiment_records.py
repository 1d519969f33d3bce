"""Each experiment module's Experiment record: consistent with its module, its config and its
figure module; its choices are enums the typed schema checks at composition."""

import importlib
import inspect
import re

import pytest
from omegaconf import OmegaConf
from omegaconf.errors import ValidationError

from experiments import REGISTRY
from experiments.params import Cause, Head, InitScheme, TaskSequence
from tests.conftest import ROOT


@pytest.mark.parametrize("name", list(REGISTRY))
def test_record_matches_its_module_config_and_figures(name):
    entry = REGISTRY[name]
    module = importlib.import_module(f"experiments.{name}")
    exp = entry.load()
    assert entry.name == exp.name == name and module.EXPERIMENT is exp
    assert entry.params is exp.params and entry.module == module.__name__
    assert entry.title == exp.title  # any other attribute is the loaded record's
    assert exp.title == inspect.getdoc(module).splitlines()[0]
    assert exp.summary and "\n" not in exp.summary
    header = (ROOT / "configs" / "experiment" / f"{name}.yaml").read_text()
    assert re.search(r"^# Run[^:]*:\s+(actlab .*?)(\s{2,}|$)", header, re.M).group(1) == exp.command
    assert (exp.params, exp.run, exp.summarize, exp.claims) == (
        module.Params, module.run, module.summarize, module.claims)
    assert exp.run_seeds is getattr(module, "run_seeds", None)
    assert exp.figures == f"experiments.figures.{name}:figures"
    assert not hasattr(module, "figures")
    figure_module, _, func = exp.figures.partition(":")
    assert callable(getattr(importlib.import_module(figure_module), func))


@pytest.mark.parametrize("enum, values", [
    (Cause, ["lr", "bias", "narrow"]),
    (TaskSequence, ["split", "permuted", "long_permuted"]),
    (Head, ["task", "shared"]),
    (InitScheme, ["he", "rai"]),
])
def test_choices_print_and_compare_as_their_values(enum, values):
    assert [m.value for m in enum] == values
    for m in enum:
        assert m == m.value and str(m) == m.value and f"{m}" == m.value


@pytest.mark.parametrize("name, key, good, bad", [
    ("dead_relu", "cause", "bias", "width"),
    ("continual", "sequence", "permuted", "rotated"),
    ("continual", "head", "shared", "none"),
    ("born_dead", "inits", ["rai"], ["he", "xavier"]),
])
def test_the_schema_refuses_an_unknown_choice(name, key, good, bad):
    schema = OmegaConf.structured(REGISTRY[name].params)
    assert OmegaConf.merge(schema, {key: good})[key] == good
    with pytest.raises(ValidationError):
        OmegaConf.merge(schema, {key: bad})
