import os
import stat

import numpy as np
import pytest

from srcore.common.atomic import atomic_write, write_json, write_text
from srcore.common.images import write_image


@pytest.fixture
def umask():
    """Set the process umask for one test and restore the previous one afterwards."""
    old = os.umask(0o022)
    yield os.umask
    os.umask(old)


def mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


@pytest.mark.parametrize("mask, expected", [(0o022, 0o644), (0o002, 0o664)])
def test_written_files_get_the_users_umask(tmp_path, umask, mask, expected):
    umask(mask)
    write_text(tmp_path / "a.txt", "hello\n")
    write_json(tmp_path / "sub" / "m.json", {"x": 1})
    write_image(tmp_path / "img.png", np.zeros((4, 5, 3), dtype=np.uint8))
    assert mode(tmp_path / "a.txt") == expected
    assert mode(tmp_path / "sub" / "m.json") == expected
    assert mode(tmp_path / "img.png") == expected
    write_text(tmp_path / "a.txt", "again\n")  # replacing a file gives the same mode
    assert mode(tmp_path / "a.txt") == expected and (tmp_path / "a.txt").read_text() == "again\n"


def test_an_error_keeps_the_previous_file_and_leaves_no_temp_file(tmp_path):
    dst = tmp_path / "model.pt"
    write_text(dst, "old")
    with pytest.raises(RuntimeError, match="killed"):
        with atomic_write(dst) as tmp:
            assert tmp.parent == tmp_path and tmp != dst  # the temp file is beside the destination
            tmp.write_text("half of the new")
            raise RuntimeError("killed mid-write")
    assert dst.read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.pt"]
