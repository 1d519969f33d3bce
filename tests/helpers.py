from hydra import compose as hydra_compose
from hydra import initialize_config_dir

from actlab.cli import CONFIG_DIR


def compose(overrides: list[str]):
    """The config `actlab` would run with these overrides (single run, no Hydra job context)."""
    with initialize_config_dir(config_dir=CONFIG_DIR, version_base="1.3"):
        return hydra_compose(config_name="config", overrides=overrides)
