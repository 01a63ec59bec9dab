"""Fingerprints follow content and names, nothing else."""

from __future__ import annotations

import os
import re
import shutil

import pytest

from fluxgen.dataset.fingerprint import fingerprint_dataset
from fluxgen.errors import UserError


def test_format(clean_set):
    assert re.fullmatch(r"sha256:[0-9a-f]{64}", fingerprint_dataset(clean_set))


def test_same_content_under_another_folder_name(clean_set, tmp_path):
    copy = shutil.copytree(clean_set, tmp_path / "elsewhere" / "renamed")
    assert fingerprint_dataset(copy) == fingerprint_dataset(clean_set)


def test_timestamps_and_trainer_files_do_not_count(clean_set, make):
    before = fingerprint_dataset(clean_set)
    os.utime(clean_set / "img0.jpg", (1_000_000, 1_000_000))
    (clean_set / ".aitk_size.json").write_text("{}")
    make.save(make.picture(9), clean_set / "_latent_cache" / "img0_abc.png")
    (clean_set / "img0_flux.npz").write_bytes(b"\x00" * 10)
    (clean_set / "notes.md").write_text("my notes")
    assert fingerprint_dataset(clean_set) == before


@pytest.mark.parametrize("change", ["byte", "rename", "caption", "image", "remove", "subfolder"])
def test_changes_that_count(clean_set, make, change):
    before = fingerprint_dataset(clean_set)
    if change == "byte":
        data = bytearray((clean_set / "img1.jpg").read_bytes())
        data[-3] ^= 1
        (clean_set / "img1.jpg").write_bytes(bytes(data))
    elif change == "rename":
        (clean_set / "img1.jpg").rename(clean_set / "img1b.jpg")
    elif change == "caption":
        (clean_set / "img1.txt").write_text("ohwx, changed caption")
    elif change == "image":
        make.save(make.picture(50), clean_set / "extra.png")
    elif change == "remove":
        (clean_set / "img5.txt").unlink()
    else:
        (clean_set / "sub").mkdir()
        (clean_set / "img2.jpg").rename(clean_set / "sub" / "img2.jpg")
    assert fingerprint_dataset(clean_set) != before


def test_added_caption_changes_it(tmp_path, make):
    make.save(make.picture(1), tmp_path / "a.jpg")
    before = fingerprint_dataset(tmp_path)
    (tmp_path / "a.txt").write_text("")
    assert fingerprint_dataset(tmp_path) != before


def test_missing_folder(tmp_path):
    with pytest.raises(UserError, match="no such folder"):
        fingerprint_dataset(tmp_path / "missing")
