"""Result files: written atomically, readable as a plain write would be."""


def test_atomic_writes_get_the_permissions_of_a_plain_write(tmp_path):
    import os
    import stat

    from actlab.results import atomic_write_text

    old = os.umask(0o022)
    try:
        atomic_write_text(tmp_path / "a.txt", "x")
        (tmp_path / "b.txt").write_text("x")
        mode = stat.S_IMODE((tmp_path / "a.txt").stat().st_mode)
        assert mode == stat.S_IMODE((tmp_path / "b.txt").stat().st_mode) == 0o644
    finally:
        os.umask(old)
