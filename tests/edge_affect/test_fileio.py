import pytest

from edge_affect.fileio import atomic_directory, sha256_tree, write_text_atomic


def test_atomic_directory_replaces_only_on_success(tmp_path):
    final = tmp_path / "bundle"
    with atomic_directory(final) as tmp:
        (tmp / "a.txt").write_text("first")
    assert (final / "a.txt").read_text() == "first"

    with pytest.raises(RuntimeError):
        with atomic_directory(final) as tmp:
            (tmp / "a.txt").write_text("half-written")
            raise RuntimeError("interrupted")
    assert (final / "a.txt").read_text() == "first"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bundle"]  # no temp left behind

    with atomic_directory(final) as tmp:
        (tmp / "b.txt").write_text("second")
    assert sorted(p.name for p in final.iterdir()) == ["b.txt"]


def test_tree_hash_sees_content_and_names(tmp_path):
    d = tmp_path / "pkg"
    (d / "sub").mkdir(parents=True)
    (d / "sub" / "w.bin").write_bytes(b"\x00\x01")
    first = sha256_tree(d)
    (d / "sub" / "w.bin").write_bytes(b"\x00\x02")
    assert sha256_tree(d) != first
    (d / "sub" / "w.bin").write_bytes(b"\x00\x01")
    assert sha256_tree(d) == first
    (d / "sub" / "w.bin").rename(d / "sub" / "v.bin")
    assert sha256_tree(d) != first


def test_write_text_atomic_leaves_no_temp(tmp_path):
    write_text_atomic(tmp_path / "m.json", "{}")
    assert [p.name for p in tmp_path.iterdir()] == ["m.json"]
