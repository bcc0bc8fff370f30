"""The package's layers import downward only, and no two packages import each other: read from every module's
imports (those inside functions too), without importing anything."""

import ast
from collections import defaultdict
from pathlib import Path

import stedi_assets

PACKAGE = Path(stedi_assets.__file__).parent

# From the top down; a module may import from its own layer or any layer below it (docs/architecture.md).
LAYERS = (
    ("cli", "materialize", "remote", "definitions"),  # entry points
    ("assets", "expected_counts", "resources", "sensors", "jobs", "run_targets"),  # Dagster's side
    ("instance", "asset_metadata", "partitions", "kept_versions"),
    ("instance_storage",),  # the Dagster instance class `dagster.yaml` names
    ("zones",),  # one module per table
    ("builds",),  # what every table's build shares
    ("deliveries", "query", "sample"),
    ("lake", "transforms", "spark_config", "spark_start", "warm_spark"),
    ("landing_files", "jvm_classes", "run_log", "pseudonym_key"),
    ("schemas", "options", "failures", "atomic_files", "profiles"),
)
LAYER = {part: depth for depth, parts in enumerate(LAYERS) for part in parts}


def part_of(module: str) -> str:
    """The top-level module or package under `stedi_assets` that `module` (dotted, in the package) is in."""
    return module.split(".")[1]


def imports(package: Path = PACKAGE) -> dict[str, set[str]]:
    """Per module of the package (dotted; the package's own `__init__` aside), the package's modules it imports:
    `import stedi_assets.x`, `from stedi_assets.x import y` and `from stedi_assets import x` alike."""
    found = defaultdict(set)
    for path in package.rglob("*.py"):
        if path.parent == package and path.stem == "__init__":
            continue
        module = ".".join(path.relative_to(package.parent).with_suffix("").parts).removesuffix(".__init__")
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom):
                assert node.level == 0, f"{module}: a relative import; name the module in full"
                names = [f"{node.module}.{alias.name}" for alias in node.names] if node.module == "stedi_assets" else []
                names += [node.module] if node.module != "stedi_assets" else []
            else:
                names = [alias.name for alias in node.names] if isinstance(node, ast.Import) else []
            found[module].update(name for name in names if name and name.startswith("stedi_assets."))
    return found


def cycles(edges: set[tuple[str, str]]) -> list[list[str]]:
    """Every cycle of the directed graph `edges`, each once, starting from its smallest node."""
    graph = defaultdict(set)
    for a, b in edges:
        graph[a].add(b)
    found = []

    def walk(path: list[str]) -> None:
        for nxt in sorted(graph[path[-1]]):
            if nxt == path[0]:
                found.append(list(path))
            elif nxt > path[0] and nxt not in path:
                walk([*path, nxt])

    for start in sorted(graph):
        walk([start])
    return found


def test_every_module_has_a_layer():
    parts = {part_of(module) for module in imports()} | {path.stem for path in PACKAGE.glob("*.py")} - {"__init__"}
    assert parts <= set(LAYER), f"give these a layer: {sorted(parts - set(LAYER))}"


def upward(found: dict[str, set[str]]) -> list[str]:
    return sorted(
        f"{module} imports {imported}"
        for module, imported_modules in found.items()
        for imported in imported_modules
        if LAYER[part_of(imported)] < LAYER[part_of(module)]
    )


def test_imports_run_downward_only():
    assert upward(imports()) == []


def test_no_packages_import_each_other_in_a_circle():
    edges = {
        (part_of(module), part_of(imported))
        for module, imported_modules in imports().items()
        for imported in imported_modules
        if part_of(module) != part_of(imported)
    }
    assert cycles(edges) == []


def test_no_modules_import_each_other_in_a_circle():
    edges = {(module, imported) for module, imported_modules in imports().items() for imported in imported_modules}
    assert cycles({(a, b) for a, b in edges if a != b}) == []


# The instance and storage classes Dagster's API reference documents under "Internals", for instances that bring
# their own storage: only the module that extends them imports them.
DAGSTER_INTERNALS = {PACKAGE / "instance_storage.py"}


def test_only_dagsters_public_api_is_imported():
    private = [
        f"{path.relative_to(PACKAGE.parent)}: {line.strip()}"
        for path in PACKAGE.rglob("*.py")
        if path not in DAGSTER_INTERNALS
        for line in path.read_text().splitlines()
        if "dagster._" in line and line.strip().startswith(("import ", "from "))
    ]
    assert private == []


def test_the_layering_test_sees_an_upward_import_inside_a_function(tmp_path):
    """A lake module importing a table's module is caught: the test can fail."""
    package = tmp_path / "stedi_assets"
    (package / "lake").mkdir(parents=True)
    (package / "lake" / "bad.py").write_text("def f():\n    from stedi_assets import zones\n")
    found = imports(package)
    assert found == {"stedi_assets.lake.bad": {"stedi_assets.zones"}}
    assert upward(found) == ["stedi_assets.lake.bad imports stedi_assets.zones"]


def test_the_circle_test_sees_a_circle_of_three():
    assert cycles({("lake", "spark_config"), ("spark_config", "spark_start"), ("spark_start", "lake")}) == [
        ["lake", "spark_config", "spark_start"]
    ]
    assert cycles({("a", "b"), ("b", "c")}) == []
