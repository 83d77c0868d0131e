"""studies/real_length/length_curve.py: the tables it reads, the gain per doubling, its refusals
and outputs."""

import importlib.util
import json
import sys
from pathlib import Path

import pytest

from srcore.common.errors import UserError

REPO = Path(__file__).resolve().parents[1]
SCRIPT = REPO / "studies/real_length/length_curve.py"
spec = importlib.util.spec_from_file_location("length_curve", SCRIPT)
length_curve = importlib.util.module_from_spec(spec)
spec.loader.exec_module(length_curve)

COLUMNS = ["real.psnr_y_gain", "real.Set5.psnr_y_gain", "real.Set14.psnr_y_gain", "train.steps"]


def table(path: Path, rows: list[tuple], columns: list[str] = COLUMNS) -> Path:
    """A `dvc exp show --md`-like table; a row is (name, steps, gain): the validation images get
    the gain, Set5 twice it, Set14 three times it."""
    lines = ["| Experiment | " + " | ".join(columns) + " |", "|---" * (len(columns) + 1) + "|"]
    lines.append("| main " + "| - " * (len(columns) - 1) + "| 1500 |")
    for name, steps, gain in rows:
        g = [gain if isinstance(gain, str) else round(gain * k, 6) for k in (1, 2, 3)]
        cells = [*g, steps][-len(columns) :]
        lines.append(f"| ├── abc1234 [{name}] | " + " | ".join(map(str, cells)) + " |")
    path.write_text("# title\n\n" + "\n".join(lines) + "\n")
    return path


def test_points_and_the_gain_per_doubling_between_lengths(tmp_path):
    # knob-sun* and clean-sun* rows of all tables, by steps, each set its own column; other rows
    # (another learning rate or seed) are left out.
    a = table(tmp_path / "a.md", [("knob-sun", 1000, 0.3), ("clean-sun", 1000, 0.2)])
    b = table(tmp_path / "b.md", [("knob-sun-8000", 8000, 0.6), ("knob-sun-2000", 2000, 0.5)])
    c = table(tmp_path / "c.md", [("knob-sun-lr2e-3", 9, 9.0), ("knob-sun-seed145", 1000, 5.0)])
    found = length_curve.points([a, b, c])
    assert found["knob"]["validation images"] == [(1000, 0.3), (2000, 0.5), (8000, 0.6)]
    assert found["knob"]["Set5"] == [(1000, 0.6), (2000, 1.0), (8000, 1.2)]
    assert found["clean"]["Set14"] == [(1000, pytest.approx(0.6))]
    steps = length_curve.per_doubling(found["knob"]["validation images"])
    assert [(d["from"], d["to"]) for d in steps] == [(1000, 2000), (2000, 8000)]
    assert [d["db_per_doubling"] for d in steps] == pytest.approx([0.2, 0.05])


def test_bad_tables_are_refused_in_one_line(tmp_path):
    (tmp_path / "none.md").write_text("no table here\n")
    with pytest.raises(UserError, match="no markdown table"):
        length_curve.read_rows(tmp_path / "none.md")
    with pytest.raises(UserError, match="fewer than two"):
        length_curve.points([table(tmp_path / "one.md", [("knob-sun", 1000, 0.3)])])
    twice = table(tmp_path / "twice.md", [("knob-sun", 1000, 0.3), ("knob-sun-2000", 2000, 0.4)])
    with pytest.raises(UserError, match="same train.steps"):
        length_curve.points([twice, twice])
    failed = table(tmp_path / "failed.md", [("knob-sun", 1000, 0.3), ("knob-sun-2000", 2000, "-")])
    with pytest.raises(UserError, match="knob-sun-2000: real.psnr_y_gain is '-', not a number"):
        length_curve.points([failed])
    rows = [("knob-sun", 1000, 0.3), ("knob-sun-2000", 2000, 0.4)]
    short = table(tmp_path / "short.md", rows, COLUMNS[1:])
    with pytest.raises(UserError, match="no real.psnr_y_gain column"):
        length_curve.points([short])


def test_main_writes_the_json_and_the_stamped_figure(tmp_path, monkeypatch):
    rows = [("knob-sun", 3000, 0.3), ("knob-sun-6000", 6000, 0.4), ("clean-sun", 3000, 0.1)]
    src, out, js = table(tmp_path / "t.md", rows), tmp_path / "c.png", tmp_path / "c.json"
    argv = ["length_curve.py", "--table", str(src), "--out", str(out), "--json", str(js)]
    monkeypatch.setattr(sys, "argv", argv)
    length_curve.main()
    written = json.loads(js.read_text())
    assert written["knob_per_doubling"]["Set14"] == [
        {"from": 3000, "to": 6000, "db_per_doubling": pytest.approx(0.3)}
    ]
    assert written["points"]["clean"]["Set5"] == [[3000, 0.2]] and written["target"] == 1.0
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
