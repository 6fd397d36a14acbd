"""No import cycle among the project's modules (the check `.ci/run` runs), and the check finds
cycles made by every kind of import."""

import textwrap
from pathlib import Path

import pytest

from intercom_assets_tests.import_cycles import describe, import_cycles, import_graph


def test_the_project_has_no_import_cycle() -> None:
    graph = import_graph()
    assert "intercom_assets.sandbox.core" in graph.modules  # the whole project was read
    assert "intercom_assets_tests.sandbox.test_search" in graph.modules
    assert "bench.exactness" in graph.modules
    cycles = import_cycles(graph)
    assert not cycles, "\n".join(describe(graph, cycle) for cycle in cycles)


def write_package(root: Path, name: str, modules: dict[str, str]) -> None:
    package = root / name
    package.mkdir()
    (package / "__init__.py").write_text("")
    for module, source in modules.items():
        (package / f"{module}.py").write_text(textwrap.dedent(source))


def test_cycles_through_function_local_and_type_checking_imports_are_found(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_package(
        tmp_path,
        "cyclic_pkg",
        {
            # a -> b at module level, b -> a inside a function: a cycle
            "a": "from cyclic_pkg import b\n",
            "b": """
                def late():
                    from cyclic_pkg.a import x
                    return x
            """,
            # c -> d only for type checking, d -> c at module level: a cycle
            "c": """
                from typing import TYPE_CHECKING
                if TYPE_CHECKING:
                    from cyclic_pkg.d import D
            """,
            "d": "import cyclic_pkg.c\n",
            # e -> f -> g: no cycle
            "e": "from cyclic_pkg import f\n",
            "f": "from cyclic_pkg import g\n",
            "g": "",
        },
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    graph = import_graph(["cyclic_pkg"])
    cycles = import_cycles(graph)
    assert cycles == [
        ("cyclic_pkg.a", "cyclic_pkg.b", "cyclic_pkg.a"),
        ("cyclic_pkg.c", "cyclic_pkg.d", "cyclic_pkg.c"),
    ]
    assert "cyclic_pkg.b:3: from cyclic_pkg.a import x" in describe(graph, cycles[0])
