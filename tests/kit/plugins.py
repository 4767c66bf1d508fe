"""Installing the demo plug-in package (tests/plugins/demo_strategies) into a folder for sys.path.

Writes the module and a ``.dist-info`` with its entry points, as pip would, so that
``importlib.metadata`` finds the strategies in a test process or a worker (``PYTHONPATH``).
"""

from __future__ import annotations

import tomllib
from pathlib import Path

from r3edge_streams.strategies.registry import ENTRY_POINT_GROUP

PLUGIN = Path(__file__).resolve().parents[1] / "plugins" / "demo_strategies"


def install_demo_plugin(target: Path) -> Path:
    """Install the demo package into ``target``; returns ``target``."""
    project = tomllib.loads((PLUGIN / "pyproject.toml").read_text())["project"]
    points = project["entry-points"][ENTRY_POINT_GROUP]
    target.mkdir(parents=True, exist_ok=True)
    (target / "demo_strategies.py").write_text((PLUGIN / "demo_strategies.py").read_text())
    info = target / f"demo_strategies-{project['version']}.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {project['name']}\nVersion: {project['version']}\n")
    (info / "entry_points.txt").write_text(
        f"[{ENTRY_POINT_GROUP}]\n" + "".join(f"{k} = {v}\n" for k, v in points.items())
    )
    return target
