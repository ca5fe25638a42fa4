"""The docs stay true to the code: the configuration table is the code's, and no link is broken."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from tools import config_table

ROOT = Path(__file__).resolve().parent.parent
#: [text](target) and ![alt](target); the target up to a space, a closing parenthesis or a quote.
LINK = re.compile(r"!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
FENCE = re.compile(r"^(```|~~~).*?^\1", re.M | re.S)


def _documents() -> list[Path]:
    """The README, CHANGES, everything under docs/, and the sync spec wherever it lives."""
    found = [ROOT / "README.md", ROOT / "CHANGES.md", *sorted((ROOT / "docs").rglob("*.md"))]
    return found + [path for path in [ROOT / "sync" / "README.md"] if path.exists()]


def test_the_configuration_page_is_what_the_code_renders() -> None:
    current = config_table.DOC.read_text(encoding="utf-8")
    assert config_table.rendered_document(current) == current, (
        f"docs/operating/configuration.md is stale: run `{config_table.COMMAND}` and commit it")


def test_the_check_command_says_how_to_regenerate(tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    stale = tmp_path / "configuration.md"
    stale.write_text(f"# x\n{config_table.START}\nold\n{config_table.END}\n", encoding="utf-8")
    monkeypatch.setattr(config_table, "DOC", stale)
    assert config_table.main(["--check"]) == 1
    assert config_table.main(["--write"]) == 0
    assert config_table.main(["--check"]) == 0
    assert "`SYNC_MAX_INFLATED`" in stale.read_text(encoding="utf-8")


def test_every_setting_has_a_meaning(tmp_path: Path) -> None:
    source = tmp_path / "settings.py"
    source.write_text("class C:\n    #: documented\n    A = 1\n    B = 2\n\n    C = 3\n",
                      encoding="utf-8")
    with pytest.raises(config_table.MissingMeaning, match="C has no '#:' comment"):
        config_table.rows_of(source, "C")


def test_the_tool_runs_as_documented() -> None:
    result = subprocess.run([sys.executable, "tools/config_table.py", "--check"], cwd=ROOT,
                            capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize("document", _documents(), ids=lambda p: str(p.relative_to(ROOT)))
def test_relative_links_point_at_files_that_exist(document: Path) -> None:
    text = FENCE.sub("", document.read_text(encoding="utf-8"))
    broken = []
    for target in LINK.findall(text):
        if re.match(r"^[a-z][a-z0-9+.-]*:", target, re.I) or target.startswith("#"):
            continue  # a URL (http:, mailto:) or an anchor in the same page
        path = target.split("#", 1)[0]
        if not (document.parent / path).exists():
            broken.append(target)
    assert not broken, f"{document.relative_to(ROOT)}: links to missing files: {broken}"


def test_the_sync_module_table_lists_every_module_of_sync() -> None:
    """sync/README.md's module table is the map of the engine: each module once, none missing."""
    spec = (ROOT / "sync" / "README.md").read_text(encoding="utf-8")
    rows = [line.split("|")[1] for line in spec.splitlines() if line.startswith("| `")]
    listed = {name for cell in rows for name in re.findall(r"`([a-z_/]+\.py)`", cell)}
    modules = {str(path.relative_to(ROOT / "sync")) for path in (ROOT / "sync").rglob("*.py")
               if path.name != "__init__.py"}
    assert listed == modules, (f"missing from the table: {sorted(modules - listed)}; "
                               f"no such module: {sorted(listed - modules)}")
