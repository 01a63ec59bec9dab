"""Duplicates, near-duplicates and repeated compositions; the band search finds what brute force finds."""

from __future__ import annotations

import random

from PIL import Image, ImageDraw, ImageEnhance

from fluxgen.dataset import dedupe
from fluxgen.dataset.lint import lint_dataset


def groups(report, fid: str) -> list[list[str]]:
    return [f.paths for f in report.findings if f.id == fid]


def lint(root, **kw):
    return lint_dataset(root, resolution=64, caption_mode="none", **kw)


def test_exact_duplicates_across_names_and_formats(tmp_path, make):
    make.save(make.picture(1), tmp_path / "a.jpg", quality=90)
    decoded = Image.open(tmp_path / "a.jpg")
    make.save(decoded, tmp_path / "same-pixels.png")
    make.save(decoded, tmp_path / "same-pixels.bmp")
    (tmp_path / "renamed.jpg").write_bytes((tmp_path / "a.jpg").read_bytes())
    make.save(make.picture(2), tmp_path / "other.jpg")
    report = lint(tmp_path, backend="sd-scripts")
    assert groups(report, "duplicate") == [["a.jpg", "renamed.jpg", "same-pixels.bmp", "same-pixels.png"]]
    assert groups(report, "near-duplicate") == []
    finding = next(f for f in report.findings if f.id == "duplicate")
    assert finding.path == "a.jpg" and "4 copies" in finding.message


def test_near_duplicates_brightened_and_reencoded(tmp_path, make):
    base = make.picture(5, (160, 120))
    make.save(base, tmp_path / "orig.png")
    make.save(ImageEnhance.Brightness(base).enhance(1.1), tmp_path / "brighter.jpg", quality=90)
    make.save(base, tmp_path / "recompressed.jpg", quality=60)
    make.save(make.picture(6, (160, 120)), tmp_path / "different.png")
    report = lint(tmp_path)
    assert groups(report, "near-duplicate") == [["brighter.jpg", "orig.png", "recompressed.jpg"]]
    assert groups(report, "duplicate") == []


def test_distinct_images_are_not_grouped(tmp_path, make):
    for i in range(20):
        make.save(make.picture(200 + i), tmp_path / f"{i:02}.jpg")
    report = lint(tmp_path)
    assert not {"duplicate", "near-duplicate", "same-composition"} & {f.id for f in report.findings}


def test_flat_images_of_different_colours_are_not_near_duplicates(tmp_path, make):
    make.save(Image.new("RGB", (96, 96), (10, 10, 10)), tmp_path / "black.png")
    make.save(Image.new("RGB", (96, 96), (250, 250, 250)), tmp_path / "white.png")
    assert groups(lint(tmp_path), "near-duplicate") == []


def _layout(seed: int) -> Image.Image:
    """Same composition (plain ground, bright disc in the centre), with grounds too far apart to be copies."""
    rng = random.Random(seed)
    level = 45 * seed
    im = Image.new("RGB", (128, 128), (level, level + rng.randrange(10), level))
    draw = ImageDraw.Draw(im)
    draw.ellipse((34, 34, 94, 94), fill=(255, 230 + rng.randrange(25), 200 + rng.randrange(55)))
    for _ in range(6):
        x, y = rng.randrange(40, 84), rng.randrange(40, 84)
        draw.rectangle((x, y, x + 4, y + 4), fill=(rng.randrange(255), 0, rng.randrange(255)))
    return im


def test_same_composition_repeated(tmp_path, make):
    for i in range(4):
        make.save(_layout(i), tmp_path / f"centred{i}.png")
    for i in range(4):
        make.save(make.picture(300 + i, (128, 128)), tmp_path / f"varied{i}.png")
    report = lint(tmp_path)
    found = [f for f in report.findings if f.id == "same-composition"]
    assert [f.paths for f in found] == [[f"centred{i}.png" for i in range(4)]]
    assert found[0].severity == "warning" and "seed:001" in found[0].message


def test_band_search_matches_brute_force():
    rng = random.Random(42)
    hashes: list[int | None] = [rng.getrandbits(64) for _ in range(300)]
    for i in range(0, 120, 2):  # plant pairs at distance 0..5
        flips = rng.sample(range(64), i % 6)
        hashes[i + 1] = hashes[i] ^ sum(1 << b for b in flips)
    hashes[7] = None
    brute = {
        (a, b)
        for a in range(len(hashes))
        for b in range(a + 1, len(hashes))
        if hashes[a] is not None and hashes[b] is not None and (hashes[a] ^ hashes[b]).bit_count() <= 3
    }
    assert dedupe.candidate_pairs(hashes, 3) == brute
    assert len(brute) >= 30


def test_band_masks_cover_all_bits():
    for distance in (3, 7, 10):
        covered = 0
        for shift, mask in dedupe.band_masks(distance):
            covered |= mask << shift
        assert covered == (1 << 64) - 1 and len(dedupe.band_masks(distance)) == distance + 1


def test_5000_identical_pictures_are_one_group_without_comparing_them(monkeypatch):
    """Copies of one picture are joined by their (hash, thumbnail) key: no thumbnail comparison at all."""
    from fluxgen.dataset.advice import duplicate_findings
    from fluxgen.dataset.images import ImageFacts

    compared: list[int] = []
    link = dedupe._link_close_thumbs
    monkeypatch.setattr(dedupe, "_link_close_thumbs", lambda uf, members, arr: (compared.append(len(members)),
                                                                               link(uf, members, arr)))
    thumb = bytes(range(0, 256, 4))
    facts = [ImageFacts(rel=f"{i:05}.jpg", width=64, height=64, digest="same", dhash=0x0F0F_3C3C_5A5A_9999,
                        thumb=thumb) for i in range(5000)]
    groups = dedupe.look_alike_groups([f.dhash for f in facts], [f.thumb for f in facts])
    findings, copies = duplicate_findings(facts, lambda i: "pixels")
    assert groups == [list(range(5000))]
    assert [(f.id, len(f.paths)) for f in findings] == [("duplicate", 5000)] and len(copies[0]) == 5000
    assert sum(compared) <= 2, compared


class _CountingHash(int):
    """A hash that counts how often it is compared (XORed) with another."""

    calls = 0

    def __xor__(self, other: int) -> int:
        _CountingHash.calls += 1
        return int(self) ^ int(other)


def test_crowded_band_is_not_searched_all_pairs():
    """5000 different hashes that all share one 16-bit band: each is compared with a window of neighbours, not
    with all 4999 others, and the planted pair is still found."""
    rng = random.Random(7)
    hashes = [(rng.getrandbits(48) << 16) for _ in range(5000)]
    hashes[10] = hashes[11] ^ (1 << 40)
    _CountingHash.calls = 0
    pairs = dedupe.candidate_pairs([_CountingHash(h) for h in hashes])
    assert (10, 11) in pairs
    bands = len(dedupe.band_masks(dedupe.NEAR_DISTANCE))
    assert _CountingHash.calls <= bands * 5000 * max(dedupe.WINDOW, dedupe.BUCKET_CAP) < 5000 * 4999 // 2
    thumbs = [bytes([rng.randrange(256)] * 64) for _ in range(5000)]
    thumbs[10] = thumbs[11]
    assert [10, 11] in dedupe.look_alike_groups(hashes, thumbs)


def test_composition_search_is_not_all_pairs(monkeypatch):
    """20000 thumbnails: planted layouts are grouped, and the search does not build a 20000² matrix."""
    import numpy as np

    rng = np.random.default_rng(3)
    thumbs = [bytes(rng.integers(0, 256, 64, dtype=np.uint8)) for _ in range(20000)]
    base = rng.integers(40, 200, 64)
    for k, i in enumerate((5, 900, 17000)):
        thumbs[i] = bytes(np.clip(base + rng.integers(-6, 7, 64) + 10 * k, 0, 255).astype(np.uint8))
    rows: list[int] = []
    einsum = np.einsum
    monkeypatch.setattr(np, "einsum", lambda spec, a, b: (rows.append(len(a)), einsum(spec, a, b))[1])
    found = dedupe.composition_groups(thumbs)
    assert found == [[5, 900, 17000]]
    assert sum(rows) <= dedupe.SIM_BANDS * dedupe.WINDOW * 20000 < 20000 * 19999 // 2
