"""Find exact duplicates, near-duplicates and repeated compositions without comparing every pair.

Near-duplicates use multi-index hashing: split each 64-bit dHash into d+1 bands; two hashes within Hamming
distance d agree exactly on at least one band (pigeonhole), so only hashes sharing a band bucket are compared.
Identical pictures are merged before any comparison, so a thousand copies cost no more than one. Compositions
use random-hyperplane hashing (SimHash) on the thumbnails: vectors that correlate strongly agree on most signs,
so only thumbnails sharing a band of signs are compared.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence

HASH_BITS = 64
NEAR_DISTANCE = 3
# Mean absolute difference (0–255) between 8×8 grayscale thumbnails that still counts as "the same picture";
# keeps two flat images of different colours (both dHash 0) apart while a 10 % brightening stays inside.
THUMB_TOLERANCE = 32
COMPOSITION_CORRELATION = 0.92
COMPOSITION_MIN_GROUP = 3
# A band bucket with more distinct hashes than this compares each one with its WINDOW neighbours in sorted
# order instead of with every other member, so time stays linear when thousands of hashes share one band.
BUCKET_CAP = 64
WINDOW = 24
# SimHash layout: 24 bands of 12 signs. A pair at correlation 0.92 agrees on a sign with p ≈ 0.87, so on a
# whole band with p ≈ 0.19 and on at least one of 24 bands with p > 0.99; unrelated thumbnails share a band
# with p ≈ 24 / 4096.
SIM_BANDS, SIM_BITS = 24, 12


class UnionFind:
    def __init__(self, n: int):
        self.parent = list(range(n))

    def find(self, i: int) -> int:
        while self.parent[i] != i:
            self.parent[i] = self.parent[self.parent[i]]
            i = self.parent[i]
        return i

    def union(self, a: int, b: int) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.parent[max(ra, rb)] = min(ra, rb)

    def groups(self, members: Sequence[int] | None = None) -> list[list[int]]:
        """Sets of two or more, each sorted, ordered by their first member."""
        buckets: dict[int, list[int]] = defaultdict(list)
        for i in members if members is not None else range(len(self.parent)):
            buckets[self.find(i)].append(i)
        return sorted((sorted(g) for g in buckets.values() if len(g) > 1), key=lambda g: g[0])


def band_masks(max_distance: int) -> list[tuple[int, int]]:
    """(shift, mask) for max_distance+1 bands covering all 64 bits as evenly as possible."""
    bands = max_distance + 1
    widths = [HASH_BITS // bands + (1 if i < HASH_BITS % bands else 0) for i in range(bands)]
    out, shift = [], 0
    for width in widths:
        out.append((shift, (1 << width) - 1))
        shift += width
    return out


def candidate_pairs(hashes: Sequence[int | None], max_distance: int = NEAR_DISTANCE) -> set[tuple[int, int]]:
    """Pairs (i < j) whose hashes differ in at most max_distance bits, found through band buckets.

    Exactly the all-pairs answer while no bucket holds more than BUCKET_CAP hashes; pass distinct values.
    """
    pairs: set[tuple[int, int]] = set()
    for shift, mask in band_masks(max_distance):
        buckets: dict[int, list[int]] = defaultdict(list)
        for i, value in enumerate(hashes):
            if value is not None:
                buckets[(value >> shift) & mask].append(i)
        for members in buckets.values():
            reach = len(members)
            if reach > BUCKET_CAP:
                members, reach = sorted(members, key=lambda i: hashes[i]), WINDOW  # type: ignore[arg-type, return-value]
            for pos, a in enumerate(members):
                ha = hashes[a]
                for b in members[pos + 1:pos + 1 + reach]:
                    if (ha ^ hashes[b]).bit_count() <= max_distance:  # type: ignore[operator]
                        pairs.add((min(a, b), max(a, b)))
    return pairs


def look_alike_groups(hashes: Sequence[int | None], thumbs: Sequence[bytes | None]) -> list[list[int]]:
    """Groups of pictures that look alike (close dHash and close thumbnails), exact copies included."""
    import numpy as np

    uf = UnionFind(len(hashes))
    first: dict[tuple[int, bytes], int] = {}
    for i, (value, thumb) in enumerate(zip(hashes, thumbs, strict=True)):
        if value is not None and thumb is not None:
            uf.union(first.setdefault((value, thumb), i), i)
    if not first:
        return []
    arr = np.zeros((len(hashes), len(next(iter(first))[1])), dtype=np.int16)
    for (_, thumb), i in first.items():
        arr[i] = np.frombuffer(thumb, dtype=np.uint8)
    by_hash: dict[int, list[int]] = defaultdict(list)
    for (value, _), i in first.items():
        by_hash[value].append(i)
    for members in by_hash.values():
        _link_close_thumbs(uf, members, arr)
    values = list(by_hash)
    for a, b in candidate_pairs(values):
        _link_close_thumbs(uf, by_hash[values[a]] + by_hash[values[b]], arr)
    return uf.groups()


def _link_close_thumbs(uf: UnionFind, members: list[int], arr) -> None:
    """Join members whose thumbnails are within THUMB_TOLERANCE; sorted by mean brightness (two thumbnails
    whose means differ by more than the tolerance cannot be close), each is compared with WINDOW neighbours."""
    import numpy as np

    if len(members) < 2:
        return
    idx = np.asarray(members)
    order = idx[np.argsort(arr[idx].mean(axis=1), kind="stable")]
    for k in range(1, min(WINDOW, len(order) - 1) + 1):
        a, b = order[:-k], order[k:]
        close = np.abs(arr[a] - arr[b]).mean(axis=1) <= THUMB_TOLERANCE
        for x, y in zip(a[close].tolist(), b[close].tolist(), strict=True):
            uf.union(x, y)


def exact_groups(
    digests: Sequence[str | None],
    sizes: Sequence[tuple[int, int]],
    look_alikes: list[list[int]],
    pixel_digest: Callable[[int], str | None],
) -> list[list[int]]:
    """Same bytes, or same decoded pixels (decoded only for look-alikes of equal size, one per distinct file)."""
    uf = UnionFind(len(digests))
    first: dict[str, int] = {}
    for i, digest in enumerate(digests):
        if digest is not None:
            uf.union(first.setdefault(digest, i), i)
    cache: dict[int, str | None] = {}
    for group in look_alikes:
        by_size: dict[tuple[int, int], list[int]] = defaultdict(list)
        for i in group:
            by_size[sizes[i]].append(i)
        for members in by_size.values():
            distinct: dict[int, int] = {}
            for i in members:
                distinct.setdefault(uf.find(i), i)
            if len(distinct) < 2:
                continue
            by_pixels: dict[str, int] = {}
            for i in distinct.values():
                if i not in cache:
                    cache[i] = pixel_digest(i)
                if cache[i] is not None:
                    uf.union(by_pixels.setdefault(cache[i], i), i)  # type: ignore[arg-type]
    return uf.groups()


def near_groups(look_alikes: list[list[int]], exact: list[list[int]]) -> list[list[int]]:
    """Look-alike groups holding at least two different pictures (not only exact copies of one)."""
    root = {i: g[0] for g in exact for i in g}
    return [g for g in look_alikes if len({root.get(i, i) for i in g}) > 1]


def composition_groups(thumbs: Sequence[bytes | None]) -> list[list[int]]:
    """Groups of 3+ images whose coarse layout (8×8 brightness pattern) correlates strongly.

    Pass None for pictures that should not count on their own (copies of a picture already in the list).
    """
    import numpy as np

    index = [i for i, t in enumerate(thumbs) if t is not None]
    if len(index) < COMPOSITION_MIN_GROUP:
        return []
    data = np.array([np.frombuffer(thumbs[i], dtype=np.uint8) for i in index], dtype=np.float32)  # type: ignore[arg-type]
    data -= data.mean(axis=1, keepdims=True)
    norms = np.linalg.norm(data, axis=1)
    shaped = np.nonzero(norms >= 1e-3)[0]  # a flat image has no layout to compare
    unit = data[shaped] / norms[shaped][:, None]
    uf = UnionFind(len(thumbs))
    for a, b in _correlated_pairs(unit):
        uf.union(index[shaped[a]], index[shaped[b]])
    return [g for g in uf.groups(index) if len(g) >= COMPOSITION_MIN_GROUP]


def _correlated_pairs(unit) -> list[tuple[int, int]]:
    """Row pairs with a dot product ≥ COMPOSITION_CORRELATION, through SimHash band buckets.

    Rows sharing a band are sorted by a further projection, so close rows sit next to each other, and each is
    compared with its WINDOW neighbours: linear in the number of rows, vectorised per band.
    """
    import numpy as np

    if len(unit) < 2:
        return []
    planes = np.random.default_rng(0).standard_normal((unit.shape[1], SIM_BANDS * SIM_BITS + 1)).astype(np.float32)
    projected = unit @ planes
    signs = projected[:, :-1] > 0
    weights = 1 << np.arange(SIM_BITS, dtype=np.int64)
    pairs: list[tuple[int, int]] = []
    for band in range(SIM_BANDS):
        keys = signs[:, band * SIM_BITS:(band + 1) * SIM_BITS] @ weights
        order = np.lexsort((projected[:, -1], keys))
        sorted_keys = keys[order]
        for k in range(1, min(WINDOW, len(order) - 1) + 1):
            same = np.nonzero(sorted_keys[:-k] == sorted_keys[k:])[0]
            if same.size == 0:
                break  # keys are sorted: no run is longer than k
            a, b = order[same], order[same + k]
            hit = np.einsum("ij,ij->i", unit[a], unit[b]) >= COMPOSITION_CORRELATION
            pairs.extend(zip(a[hit].tolist(), b[hit].tolist(), strict=True))
    return pairs
