"""Read one tqdm bar state: `desc: 40%|████ | 2/5 [00:00<00:01,  1.89it/s, lr: 1.0e-04 loss: 1.463e+00]`.

Both trainers use tqdm's default layout; only the postfix differs (`lr: … loss: …` for ai-toolkit,
`avr_loss=…` for sd-scripts), so one reader serves both.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

BAR_RE = re.compile(
    r"(?:(?P<desc>[^|]*?): )?\s*(?P<pct>\d{1,3})%\|[^|]*\|\s*(?P<n>\d+)/(?P<total>\d+)\s*"
    r"\[(?P<elapsed>[\d:]+)(?:<(?P<remaining>[\d:?]+))?,\s*(?P<rate>\?|[\d.]+)(?P<scale>[kMGT]?)"
    r"(?P<unit>[A-Za-z]*/[A-Za-z]+)(?:,\s*(?P<postfix>[^\]]*))?\]"
)
_COLON_PAIR_RE = re.compile(r"([\w/.\-]+): (\S+)")
_SCALE = {"": 1.0, "k": 1e3, "M": 1e6, "G": 1e9, "T": 1e12}
LOSS_KEYS = ("loss", "avr_loss", "avg_loss", "loss/loss", "train_loss")
LR_KEYS = ("lr", "learning_rate")


@dataclass(frozen=True)
class Bar:
    desc: str
    n: int
    total: int
    percent: int
    elapsed: float | None  # seconds since the bar started (or was last unpaused)
    remaining: float | None  # tqdm's estimate, seconds; None while unknown ("?")
    rate: float | None  # as displayed, in `unit`
    unit: str  # "it/s" or "s/it"
    postfix: dict[str, str] = field(default_factory=dict)

    @property
    def seconds_per_it(self) -> float | None:
        if not self.rate:
            return None
        return self.rate if self.unit.startswith("s/") else 1.0 / self.rate

    @property
    def loss(self) -> float | None:
        return _number(self.postfix, LOSS_KEYS, suffix="loss")

    @property
    def lr(self) -> float | None:
        return _number(self.postfix, LR_KEYS)


def parse_bar(text: str) -> Bar | None:
    """The bar drawn in `text` (one redraw, escapes already removed), or None if it is not a tqdm bar."""
    if "%|" not in text:
        return None
    m = BAR_RE.fullmatch(text.strip())
    if m is None:
        return None
    rate = None if m["rate"] == "?" else float(m["rate"]) * _SCALE[m["scale"]]
    return Bar(
        desc=(m["desc"] or "").strip(),
        n=int(m["n"]),
        total=int(m["total"]),
        percent=int(m["pct"]),
        elapsed=parse_interval(m["elapsed"]),
        remaining=parse_interval(m["remaining"]) if m["remaining"] else None,
        rate=rate,
        unit=m["unit"],
        postfix=parse_postfix(m["postfix"] or ""),
    )


def parse_postfix(text: str) -> dict[str, str]:
    """`a=1, b=2` (tqdm's set_postfix) or `lr: 1.0e-04 loss: 1.497e+00` (a preformatted string)."""
    text = text.strip()
    if not text:
        return {}
    if "=" in text:
        pairs = (item.split("=", 1) for item in text.split(", ") if "=" in item)
        return {k.strip(): v.strip() for k, v in pairs}
    return dict(_COLON_PAIR_RE.findall(text))


def parse_interval(text: str | None) -> float | None:
    """tqdm's `MM:SS` or `H:MM:SS`; None for `?`."""
    if not text or "?" in text:
        return None
    seconds = 0.0
    for part in text.split(":"):
        if not part.isdigit():
            return None
        seconds = seconds * 60 + int(part)
    return seconds


def _number(postfix: dict[str, str], keys: tuple[str, ...], suffix: str | None = None) -> float | None:
    for key in keys:
        if key in postfix:
            return _to_float(postfix[key])
    if suffix:
        for key, value in postfix.items():
            if key.endswith(suffix) and not key.startswith("val"):
                return _to_float(value)
    return None


def _to_float(value: str) -> float | None:
    try:
        return float(value)
    except ValueError:
        return None
