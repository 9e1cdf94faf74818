"""Regenerate edge_monitor/default.yaml and the README's config block from the config dataclasses."""

from __future__ import annotations

import re
from pathlib import Path

from edge_monitor.config import Config, dump_yaml

REPO = Path(__file__).resolve().parent.parent


def main() -> None:
    text = dump_yaml(Config())
    (REPO / "edge_monitor" / "default.yaml").write_text(text, encoding="utf-8")
    readme = REPO / "README.md"
    block = f"<!-- config:begin -->\n```yaml\n{text}```\n<!-- config:end -->"
    new = re.sub(
        r"<!-- config:begin -->.*?<!-- config:end -->", lambda _: block, readme.read_text(), flags=re.S
    )
    readme.write_text(new, encoding="utf-8")
    print("updated edge_monitor/default.yaml and README.md")


if __name__ == "__main__":
    main()
