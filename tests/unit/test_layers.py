"""The folders are the layers (README "Layout"): each layer of ``kinship`` imports only from the
layers below it, the readers, the store and the report do not import one another, and nothing in
``kinship`` imports prefect (orchestration lives in ``flows/``)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

KINSHIP = Path(__file__).resolve().parents[2] / "kinship"

#: Layer of each subpackage, bottom (0) to top. ``errors`` and the package root are shared.
LAYERS = {
    "errors": 0,
    "i18n": 0,
    "genetics": 1,
    "likelihood": 2,
    "matching": 3,
    "io": 4,
    "store": 4,
    "report": 4,
    "app": 5,
}


def _modules():
    return sorted(p for p in KINSHIP.rglob("*.py") if "__pycache__" not in p.parts)


def _layer_of(path: Path) -> str:
    rel = path.relative_to(KINSHIP)
    return "root" if len(rel.parts) == 1 and rel.name == "__init__.py" else rel.parts[0].removesuffix(".py")


def _imports(path: Path) -> list[str]:
    """Every module named by an import statement anywhere in the file (also inside functions)."""
    out = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            out += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            out.append(node.module)
            if node.module == "kinship":
                out += [f"kinship.{a.name}" for a in node.names]
    return out


def test_every_module_belongs_to_a_known_layer():
    unknown = {_layer_of(p) for p in _modules()} - set(LAYERS) - {"root", "data"}
    assert not unknown, f"add these folders to LAYERS (and to the README's layout table): {unknown}"


@pytest.mark.parametrize("path", _modules(), ids=lambda p: str(p.relative_to(KINSHIP)))
def test_a_module_imports_only_from_layers_below_it(path):
    own = _layer_of(path)
    if own in ("root", "data"):
        return
    for name in _imports(path):
        parts = name.split(".")
        assert parts[0] != "prefect", f"{path.name} imports prefect; kinship never does"
        if parts[0] != "kinship" or len(parts) == 1:
            continue
        other = parts[1]
        if other == own:
            continue
        if other not in LAYERS:  # the package root: kinship.__version__ / code_version
            assert LAYERS[own] == max(LAYERS.values()), f"{path}: only the application layer reads {name}"
            continue
        assert LAYERS[other] < LAYERS[own], f"{path} ({own}) imports {name} ({other}): a layer imports only from below"
