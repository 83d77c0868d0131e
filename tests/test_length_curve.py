"""scripts/length_curve.py: the tables it reads and the trend it fits."""

import importlib.util
from pathlib import Path

import pytest

from srcore.errors import UserError

REPO = Path(__file__).resolve().parents[1]
spec = importlib.util.spec_from_file_location("length_curve", REPO / "scripts/length_curve.py")
length_curve = importlib.util.module_from_spec(spec)
spec.loader.exec_module(length_curve)

COLUMNS = ["real.psnr_y_gain", "real.Set5.psnr_y_gain", "real.Set14.psnr_y_gain", "train.steps"]


def table(path: Path, rows: list[tuple[str, int, float]]) -> Path:
    """A `dvc exp show --md`-like table: name, steps and one gain shared by the three sets."""
    lines = ["| Experiment | " + " | ".join(COLUMNS) + " |", "|---" * (len(COLUMNS) + 1) + "|"]
    lines.append("| main | - | - | - | 1500 |")
    for name, steps, gain in rows:
        lines.append(f"| ├── abc1234 [{name}] | {gain} | {gain} | {gain} | {steps} |")
    path.write_text("# title\n\n" + "\n".join(lines) + "\n")
    return path


def test_points_and_the_gain_per_doubling_between_lengths(tmp_path):
    # knob-sun* and clean-sun* rows of both tables, by steps; other rows are ignored.
    a = table(tmp_path / "a.md", [("knob-sun", 1000, 0.3), ("clean-sun", 1000, 0.2)])
    b = table(tmp_path / "b.md", [("knob-sun-8000", 8000, 0.6), ("knob-sun-2000", 2000, 0.5)])
    c = table(tmp_path / "c.md", [("knob-sun-lr2e-3", 9, 9.0), ("knob-sun-seed145", 1000, 5.0)])
    found = length_curve.points([a, b, c])
    assert found["knob"]["Set5"] == [(1000, 0.3), (2000, 0.5), (8000, 0.6)]
    assert found["clean"]["Set14"] == [(1000, 0.2)]
    steps = length_curve.per_doubling(found["knob"]["Set5"])
    assert [(d["from"], d["to"]) for d in steps] == [(1000, 2000), (2000, 8000)]
    assert [d["db_per_doubling"] for d in steps] == pytest.approx([0.2, 0.05])


def test_tables_without_the_columns_or_rows_are_refused(tmp_path):
    (tmp_path / "none.md").write_text("no table here\n")
    with pytest.raises(UserError, match="no markdown table"):
        length_curve.read_rows(tmp_path / "none.md")
    with pytest.raises(UserError, match="fewer than two"):
        length_curve.points([table(tmp_path / "one.md", [("knob-sun", 1000, 0.3)])])
