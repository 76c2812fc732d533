"""The README is a newcomer's first stop: its configuration table must name every setting."""

from models.settings import Settings
from tests.conftest import REPO


def test_readme_lists_every_setting_with_its_default():
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    missing = [f"MDESK_{name.upper()}" for name in Settings.model_fields if f"`MDESK_{name.upper()}`" not in readme]
    assert missing == []


def test_readme_starts_with_the_two_commands():
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    commands = [line for line in readme.splitlines() if line.startswith("python3 -m venv")]
    assert "main.py run" in commands[0]
    assert "pytest" in commands[1]
