"""The boundaries between the packages hold: checked by import-linter and by reading the sources.

The contracts themselves are in ``pyproject.toml`` (``[tool.importlinter]``): ``forensics_core``
never imports Qt, pyqtgraph or ``app`` (except the imports listed in the contract's
``ignore_imports``: the CLI's ``gui`` command and the batch report's PDF rendering, each inside
the function that needs it), and detectors never import the forgery factory ``forensics_core.synth``.
"""

from __future__ import annotations

import ast
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
GUI_PACKAGES = ("app", "PySide6", "pyqtgraph")


def test_import_contracts_hold():
    """``lint-imports`` (import-linter) finds every contract of pyproject.toml kept."""
    lint_imports = Path(sys.executable).with_name("lint-imports")
    assert lint_imports.exists(), "import-linter is missing: install the test extras (pip install -e '.[test]')"
    completed = subprocess.run([str(lint_imports), "--no-cache"], cwd=ROOT, capture_output=True, text=True,
                               timeout=300)
    assert completed.returncode == 0, completed.stdout + completed.stderr
    assert "0 broken" in completed.stdout


def test_lint_imports_reports_a_broken_contract(tmp_path):
    """The same tool on a two-package toy whose core imports its GUI: the contract is reported broken."""
    for package, body in (("toycore", "from toygui import window\n"), ("toygui", "")):
        (tmp_path / package).mkdir()
        (tmp_path / package / "__init__.py").write_text(body)
    (tmp_path / "toygui" / "window.py").write_text("")
    (tmp_path / ".importlinter").write_text(
        "[importlinter]\nroot_packages =\n    toycore\n    toygui\n\n"
        "[importlinter:contract:core-without-gui]\nname = core never imports the GUI\ntype = forbidden\n"
        "source_modules =\n    toycore\nforbidden_modules =\n    toygui\n")
    lint_imports = Path(sys.executable).with_name("lint-imports")
    completed = subprocess.run([str(lint_imports), "--no-cache"], cwd=tmp_path, capture_output=True, text=True,
                               timeout=300, env={"PYTHONPATH": str(tmp_path), "PATH": "/usr/bin:/bin"})
    assert completed.returncode == 1 and "BROKEN" in completed.stdout, completed.stdout + completed.stderr


def _gui_imports(path: Path) -> list[tuple[str, bool]]:
    """(imported module, whether the import is inside a function) for each GUI import of ``path``."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = []

    def visit(node: ast.AST, in_function: bool) -> None:
        for child in ast.iter_child_nodes(node):
            names = []
            if isinstance(child, ast.Import):
                names = [alias.name for alias in child.names]
            elif isinstance(child, ast.ImportFrom) and child.level == 0 and child.module:
                names = [child.module]
            found.extend((name, in_function) for name in names if name.split(".")[0] in GUI_PACKAGES)
            visit(child, in_function or isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)))

    visit(tree, False)
    return found


def test_gui_imports_are_found_and_told_lazy_or_not(tmp_path):
    source = tmp_path / "module.py"
    source.write_text("import PySide6.QtCore\nimport numpy\n\n"
                      "def start():\n    from app.main import run_gui\n    return run_gui\n")
    assert _gui_imports(source) == [("PySide6.QtCore", False), ("app.main", True)]


def test_the_only_gui_imports_of_forensics_core_are_the_allowed_lazy_ones():
    """Each GUI import in forensics_core is listed in the contract's ``ignore_imports`` and sits inside
    a function, so that importing forensics_core (or running the CLI without 'gui') never loads Qt."""
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["importlinter"]
    allowed = {tuple(part.strip() for part in rule.split("->"))
               for contract in config["contracts"] if "app" in contract.get("forbidden_modules", [])
               for rule in contract.get("ignore_imports", [])}
    for path in sorted((ROOT / "forensics_core").rglob("*.py")):
        module = ".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")
        for imported, lazy in _gui_imports(path):
            assert (module, imported) in allowed, f"{module} imports {imported}; forensics_core must not"
            assert lazy, f"{module} imports {imported} at module level; it must happen inside the function using it"


def test_the_cli_starts_without_qt():
    """Importing the CLI (what every command does) loads neither Qt nor the app package."""
    code = ("import sys, forensics_core.cli, forensics_core.detectors as d; d.list_detectors(); "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('app', 'PySide6', 'pyqtgraph')))")
    completed = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert completed.returncode == 0, completed.stderr
    assert completed.stdout.strip() == "[]"


def test_every_detector_states_its_limitations():
    """Each registered detector declares what it cannot see, one sentence each (GUI and report show them)."""
    from forensics_core.detectors import list_detectors

    for detector in list_detectors():
        assert detector.limitations, f"{detector.id} declares no limitations"
        for sentence in detector.limitations:
            assert isinstance(sentence, str) and sentence[:1].isupper() and sentence.rstrip().endswith("."), (
                f"{detector.id}: limitation {sentence!r} is not one sentence")


#: Pieces of text that point at files shipped neither with the code nor with its documentation.
OUTSIDE_REFERENCES = ("shared/" + "notes", "seed-" + "facts")


@pytest.mark.parametrize("folder", ["forensics_core", "app", "benchmarks", "scripts", "docs", "tests"])
def test_sources_cite_papers_and_project_docs_not_outside_files(folder):
    offenders = [f"{path.relative_to(ROOT)}: {needle}"
                 for path in sorted((ROOT / folder).rglob("*")) if path.suffix in (".py", ".md", ".sh")
                 for needle in OUTSIDE_REFERENCES if needle in path.read_text(encoding="utf-8", errors="replace")]
    assert not offenders, "sources cite files outside the repository:\n" + "\n".join(offenders)
