"""Ship the dbt project inside the wheel as `ferry/project/`, so a regular install runs
from any folder. An editable install reads the checkout's own project instead
(`ferry.config.PROJECT_DIR`), so no copy goes into it that could go stale."""

from hatchling.builders.hooks.plugin.interface import BuildHookInterface

DBT_PROJECT = ("dbt_project.yml", "profiles.yml", "models", "macros", "seeds", "data-tests")


class CustomBuildHook(BuildHookInterface):
    def initialize(self, version: str, build_data: dict) -> None:
        if self.target_name == "wheel" and version == "standard":
            build_data["force_include"].update({path: f"ferry/project/{path}" for path in DBT_PROJECT})
