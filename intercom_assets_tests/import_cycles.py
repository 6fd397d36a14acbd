"""Import cycles among the project's own modules, found with grimp (import-linter's graph).

Every import counts: at module level, inside a function, or under `if TYPE_CHECKING:`.
`python -m intercom_assets_tests.import_cycles` prints each cycle with the lines that make it
and exits 1 when there is one (`.ci/run` runs it); `test_import_cycles.py` runs the same check
under pytest.
"""

import itertools
import sys
from collections.abc import Sequence
from pathlib import Path

import grimp
from grimp import ImportGraph

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("intercom_assets", "intercom_assets_tests", "bench")
"""The project's packages (`bench`, a folder of scripts, is read as a namespace package)."""


def import_graph(packages: Sequence[str] = PACKAGES) -> ImportGraph:
    """The imports among `packages` (importable: the repository root on `sys.path`)."""
    return grimp.build_graph(*packages, cache_dir=None)


def import_cycles(graph: ImportGraph) -> list[tuple[str, ...]]:
    """Each import cycle as `(a, b, ..., a)`: a imports b, ..., which imports a. One cycle per
    set of modules, shortest first."""
    cycles: dict[frozenset[str], tuple[str, ...]] = {}
    for importer in sorted(graph.modules):
        for imported in sorted(graph.find_modules_directly_imported_by(importer)):
            back = graph.find_shortest_chain(importer=imported, imported=importer)
            if back is not None:
                cycles.setdefault(frozenset(back), (importer, *back))
    return sorted(cycles.values(), key=lambda cycle: (len(cycle), cycle))


def describe(graph: ImportGraph, cycle: tuple[str, ...]) -> str:
    """`a -> b -> a`, then each step's import lines (`a:12: from b import x`)."""
    lines = [" -> ".join(cycle)]
    for importer, imported in itertools.pairwise(cycle):
        for detail in graph.get_import_details(importer=importer, imported=imported):
            lines.append(f"  {importer}:{detail['line_number']}: {detail['line_contents']}")
    return "\n".join(lines)


def main() -> int:
    sys.path.insert(0, str(ROOT))
    graph = import_graph()
    cycles = import_cycles(graph)
    for cycle in cycles:
        print(f"import cycle: {describe(graph, cycle)}")
    read = f"{len(graph.modules)} modules of {', '.join(PACKAGES)}"
    print(f"{len(cycles)} import cycles among {read}")
    return 1 if cycles else 0


if __name__ == "__main__":
    sys.exit(main())
