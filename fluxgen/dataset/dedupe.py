"""Find exact duplicates, near-duplicates and repeated compositions without comparing every pair.

Near-duplicates use multi-index hashing: split each 64-bit dHash into d+1 bands; two hashes within Hamming
distance d agree exactly on at least one band (pigeonhole), so only images sharing a band bucket are compared.
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
    """Every pair (i < j) whose hashes differ in at most max_distance bits, found through band buckets."""
    pairs: set[tuple[int, int]] = set()
    for shift, mask in band_masks(max_distance):
        buckets: dict[int, list[int]] = defaultdict(list)
        for i, value in enumerate(hashes):
            if value is not None:
                buckets[(value >> shift) & mask].append(i)
        for members in buckets.values():
            for a_pos, a in enumerate(members):
                ha = hashes[a]
                for b in members[a_pos + 1:]:
                    if (a, b) not in pairs and (ha ^ hashes[b]).bit_count() <= max_distance:  # type: ignore[operator]
                        pairs.add((a, b))
    return pairs


def thumbs_close(a: bytes | None, b: bytes | None, tolerance: int = THUMB_TOLERANCE) -> bool:
    if a is None or b is None or len(a) != len(b):
        return False
    return sum(abs(x - y) for x, y in zip(a, b, strict=True)) / len(a) <= tolerance


def near_pairs(hashes: Sequence[int | None], thumbs: Sequence[bytes | None]) -> set[tuple[int, int]]:
    """Pairs that look alike: close dHash and close thumbnails."""
    return {(a, b) for a, b in candidate_pairs(hashes) if thumbs_close(thumbs[a], thumbs[b])}


def exact_groups(
    digests: Sequence[str | None],
    sizes: Sequence[tuple[int, int]],
    pairs: set[tuple[int, int]],
    pixel_digest: Callable[[int], str | None],
) -> list[list[int]]:
    """Same bytes, or same decoded pixels (checked only for look-alike pairs of equal size)."""
    uf = UnionFind(len(digests))
    first: dict[str, int] = {}
    for i, digest in enumerate(digests):
        if digest is not None:
            uf.union(first.setdefault(digest, i), i)
    cache: dict[int, str | None] = {}
    for a, b in sorted(pairs):
        if sizes[a] != sizes[b] or uf.find(a) == uf.find(b):
            continue
        for i in (a, b):
            if i not in cache:
                cache[i] = pixel_digest(i)
        if cache[a] is not None and cache[a] == cache[b]:
            uf.union(a, b)
    return uf.groups()


def near_groups(pairs: set[tuple[int, int]], n: int, exact: list[list[int]]) -> list[list[int]]:
    """Look-alike groups, leaving out groups that are nothing but exact copies of one picture."""
    uf = UnionFind(n)
    exact_root = {i: g[0] for g in exact for i in g}
    for a, b in pairs:
        if exact_root.get(a, a) != exact_root.get(b, b):
            uf.union(a, b)
    return uf.groups()


def composition_groups(thumbs: Sequence[bytes | None], skip: set[tuple[int, int]]) -> list[list[int]]:
    """Groups of 3+ images whose coarse layout (8×8 brightness pattern) correlates strongly."""
    import numpy as np

    index = [i for i, t in enumerate(thumbs) if t is not None]
    if len(index) < COMPOSITION_MIN_GROUP:
        return []
    data = np.array([np.frombuffer(thumbs[i], dtype=np.uint8) for i in index], dtype=np.float32)
    data -= data.mean(axis=1, keepdims=True)
    norms = np.linalg.norm(data, axis=1)
    flat = norms < 1e-3  # a flat image has no layout to compare
    data /= np.where(flat, 1.0, norms)[:, None]
    uf = UnionFind(len(thumbs))
    for start in range(0, len(index), 512):
        sims = data[start:start + 512] @ data.T
        rows, cols = np.nonzero(sims >= COMPOSITION_CORRELATION)
        for r, c in zip(rows.tolist(), cols.tolist(), strict=True):
            a, b = index[start + r], index[c]
            if a < b and not flat[start + r] and not flat[c] and (a, b) not in skip:
                uf.union(a, b)
    return [g for g in uf.groups(index) if len(g) >= COMPOSITION_MIN_GROUP]
