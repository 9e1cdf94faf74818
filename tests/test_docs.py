"""The README's reference sections say what the code does."""

import re

from edge_monitor import errors
from edge_monitor.config import default_config_text
from tests.conftest import REPO

README = (REPO / "README.md").read_text(encoding="utf-8")


def section(name: str) -> str:
    m = re.search(rf"<!-- {name}:begin -->\n(.*?)<!-- {name}:end -->", README, re.S)
    assert m, f"README lacks the {name} section"
    return m.group(1)


def test_config_reference_is_the_packaged_default():
    block = section("config")
    assert block.startswith("```yaml\n") and block.rstrip().endswith("```")
    assert block.removeprefix("```yaml\n").rstrip().removesuffix("```") == default_config_text()


def test_exit_code_table_lists_every_error_class():
    documented = dict(re.findall(r"^\| (\d+) \| (\w+) \|", section("exit-codes"), re.M))
    classes = {
        cls.__name__: cls.exit_code
        for cls in vars(errors).values()
        if isinstance(cls, type)
        and issubclass(cls, errors.EdgeMonitorError)
        and cls is not errors.EdgeMonitorError
    }
    documented.pop("2", None)  # argparse usage errors, not an EdgeMonitorError
    assert {name: int(code) for code, name in documented.items()} == classes


def test_readme_names_the_two_commands_and_ci_runs_the_test_one():
    assert "make demo" in README and "make test" in README
    assert "make test" in (REPO / ".ci" / "run").read_text()


def test_emotion_model_section_is_generated_from_the_committed_evaluation():
    import importlib.util

    spec = importlib.util.spec_from_file_location("sync_docs", REPO / "scripts" / "sync_docs.py")
    sync_docs = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(sync_docs)
    block = section("model")
    assert block.strip() == sync_docs.model_block().strip()
    assert "shipped int8" in block and "MODEL_CARD.md" in block
