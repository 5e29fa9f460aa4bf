"""The package reads top-down: each module imports only from its own layer or the layers below it,
and there is no import cycle. Imports inside functions count too."""

from __future__ import annotations

import ast
from pathlib import Path

import tutorial_utils

PACKAGE = Path(tutorial_utils.__file__).parent

#: Bottom to top. A module belongs to the first entry that is its dotted name or a package above it.
LAYERS = [
    ["config"],
    ["data"],
    ["features", "augment", "layers", "losses", "init", "optim", "ctc", "wer", "dtw", "surfaces", "plots"],
    ["front_end", "models"],
    ["evaluation"],
    ["training"],
    ["book"],
    ["compression"],
    ["cli"],
    ["train", "asr_train", "predict", "transcribe", "benchmark", "distributed", "export", "enrol"],  # `python -m` entries
]


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def layer_of(name: str) -> int:
    for index, members in enumerate(LAYERS):
        if any(name == m or name.startswith(m + ".") for m in members):
            return index
    raise AssertionError(f"tutorial_utils.{name} is in no layer: add it to LAYERS")


def imports_of(path: Path) -> set[str]:
    """The package modules ``path`` imports (relative or absolute), at any depth of the file."""
    here = module_name(path).split(".")
    package = here if path.name == "__init__.py" else here[:-1]
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - node.level + 1] if node.level > 1 else package
                target = [*base, *(node.module.split(".") if node.module else [])]
            elif node.module and node.module.startswith("tutorial_utils"):
                target = node.module.split(".")[1:]
            else:
                continue
            for alias in node.names:  # `from . import features` imports a module
                candidate = [*target, alias.name]
                is_module = (PACKAGE.joinpath(*candidate).with_suffix(".py").exists()
                             or (PACKAGE.joinpath(*candidate) / "__init__.py").exists())
                found.add(".".join(candidate if is_module else target))
        elif isinstance(node, ast.Import):
            found |= {a.name.split(".", 1)[1] for a in node.names if a.name.startswith("tutorial_utils.")}
    return {name for name in found if name}


GRAPH = {module_name(p): imports_of(p) for p in PACKAGE.rglob("*.py")}


def test_every_module_has_a_layer():
    for name in GRAPH:
        if name:
            layer_of(name)


def test_no_module_imports_a_layer_above_its_own():
    upward = [
        f"tutorial_utils.{name} (layer {layer_of(name)}) imports tutorial_utils.{imported} (layer {layer_of(imported)})"
        for name, imported_names in GRAPH.items() if name
        for imported in imported_names
        if layer_of(imported) > layer_of(name)
    ]
    assert not upward, "\n".join(upward)


def test_there_is_no_import_cycle():
    state: dict[str, str] = {}

    def visit(name: str, path: list[str]) -> None:
        state[name] = "open"
        for child in sorted(GRAPH.get(name, ())):
            if state.get(child) == "open":
                raise AssertionError("import cycle: " + " -> ".join([*path, name, child]))
            if child not in state:
                visit(child, [*path, name])
        state[name] = "done"

    for name in sorted(GRAPH):
        if name not in state:
            visit(name, [])


def test_the_checker_sees_an_upward_import(tmp_path):
    """The test above can fail: an import from a higher layer is caught."""
    assert layer_of("data.fsdd") < layer_of("training.loop")
    assert "training.loop" in imports_of(PACKAGE / "training" / "spotter.py")
    assert "config" in imports_of(PACKAGE / "data" / "fsdd.py")
