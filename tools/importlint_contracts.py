"""An import-linter contract type of wfrewrite's: no private name crosses a package boundary.

    [[tool.importlinter.contracts]]
    type = "private_names"
    packages = ["wfrewrite.cli", "wfrewrite.compiler", "wfrewrite.runtime"]

``from wfrewrite.runtime.exec.base import _wait`` in ``wfrewrite/runtime/exec/slurm.py`` is fine
(the same package, ``exec``); the same line in ``wfrewrite/runtime/engines/miniwdl.py`` breaks
the contract: a name that starts with one underscore is its package's own business. Each module
is read with ``ast`` (imports spanning several lines included).
"""

from __future__ import annotations

import ast
import importlib.util

from importlinter import Contract, ContractCheck, fields, output


def _package(module: str, is_package: bool) -> str:
    return module if is_package else module.rpartition(".")[0]


class PrivateNamesContract(Contract):
    type_name = "private_names"

    packages = fields.ListField(subfield=fields.StringField())

    def check(self, graph, verbose: bool) -> ContractCheck:  # type: ignore[no-untyped-def]
        roots = tuple(self.packages)  # type: ignore[arg-type]
        found: list[str] = []
        for module in sorted(graph.modules):
            if not module.startswith(roots):
                continue
            spec = importlib.util.find_spec(module)
            if spec is None or not spec.origin or not spec.origin.endswith(".py"):
                continue
            is_pkg = spec.submodule_search_locations is not None
            here = _package(module, is_pkg)
            with open(spec.origin, encoding="utf-8") as f:
                tree = ast.parse(f.read(), spec.origin)
            for node in ast.walk(tree):
                if not isinstance(node, ast.ImportFrom):
                    continue
                if node.level:
                    base = here.split(".")
                    base = base[: len(base) - node.level + 1]
                    source = ".".join(base + ([node.module] if node.module else []))
                else:
                    source = node.module or ""
                if not source.startswith("wfrewrite."):
                    continue
                src_spec = importlib.util.find_spec(source)
                src_pkg = _package(
                    source, src_spec is not None and src_spec.submodule_search_locations is not None
                )
                for alias in node.names:
                    name = alias.name
                    if name.startswith("_") and not name.startswith("__") and src_pkg != here:
                        found.append(f"{module} (line {node.lineno}) imports {name} from {source}")
        return ContractCheck(kept=not found, warnings=None, metadata={"found": found})

    def render_broken_contract(self, check: ContractCheck) -> None:
        for line in check.metadata["found"]:
            output.print_error(f"- {line}")
        output.new_line()
