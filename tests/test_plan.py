"""Planning: the rules, their origins, precedence and advice."""

from __future__ import annotations

from pathlib import Path

import pytest

from fluxgen.errors import ConfigErrors, UserError
from fluxgen.plan import PlanOptions, build_plan
from helpers import make_images


def plan(ref=None, **kw):
    return build_plan(ref, PlanOptions(**kw))


def test_subject_twenty_images_follows_the_card(skull20: Path) -> None:
    p = plan(kind="subject", images=str(skull20), trigger="CSKULL", rank=32, backend="ai-toolkit")
    v = p.values
    assert (v["rank"], v["alpha"], v["steps"], v["save_every"], v["trigger"]) == (32, 32.0, 2000, 250, "CSKULL")
    assert v["images"] == 20 and v["lr"] == 1e-4 and v["batch_size"] == 1 and v["resolution"] == [1024]
    assert v["guidance"] == 1.0 and v["precision"] == "bf16" and v["gradient_checkpointing"] is True
    assert "100 × 20 images" in p.origins["steps"] and "seed:000" in p.origins["steps"]
    assert p.origins["rank"] == "command line --rank"
    assert "alpha = rank" in p.origins["alpha"]
    assert p.origins["save_every"].startswith("rule:") and "seed:000" in p.origins["save_every"]


def test_every_value_has_an_origin(skull20: Path) -> None:
    for backend in ("ai-toolkit", "sd-scripts"):
        p = plan("cyber-skull", images=str(skull20), backend=backend)
        assert set(p.values) == set(p.origins)
        assert all(p.origins[k] for k in p.values)


def test_precedence_rules_kind_preset_user_file_cli(tmp_path: Path, skull20: Path) -> None:
    user = tmp_path / "mine.yaml"
    user.write_text("extends: cyber-skull\ntrain:\n  lr: 2.0e-4\nsave:\n  every: 100\n", encoding="utf-8")
    p = plan(str(user), images=str(skull20), sets=["save.every=50"])
    assert p.values["lr"] == 2e-4 and p.origins["lr"] == f"preset {user}:3"
    assert p.values["save_every"] == 50 and p.origins["save_every"] == "command line --set save.every=50"
    assert p.values["trigger"] == "CSKULL" and p.origins["trigger"].startswith("preset presets/cyber-skull.yaml:")
    assert p.values["caption_mode"] == "captions" and "presets/kinds/subject.yaml" in p.origins["caption_mode"]
    assert p.origins["batch_size"].startswith("rule:")


def test_set_casts_by_schema_and_splits_on_first_equals(skull20: Path) -> None:
    p = plan(kind="subject", images=str(skull20), sets=["train.lr=5e-5", "trigger=a=b", "train.resolution=[512, 768]"])
    assert p.values["lr"] == 5e-5 and isinstance(p.values["lr"], float)
    assert p.values["trigger"] == "a=b"
    assert p.values["resolution"] == [512, 768]


@pytest.mark.parametrize(
    ("item", "message"),
    [
        ("train.rnak=3", r"--set train.rnak: unknown key \(did you mean 'network.rank'\?\)"),
        ("train.lr", r"expected KEY=VALUE"),
        ("train.lr.x=1", r"'lr' is a value, not a section"),
    ],
)
def test_set_errors(item: str, message: str, skull20: Path) -> None:
    with pytest.raises(UserError, match=message):
        plan(kind="subject", images=str(skull20), sets=[item])


def test_unknown_keys_all_reported_with_did_you_mean(tmp_path: Path, skull20: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("kind: subject\ntrain:\n  rnak: 3\n  lr: fast\nnetwrk: {}\n", encoding="utf-8")
    with pytest.raises(ConfigErrors) as err:
        plan(str(bad), images=str(skull20))
    text = str(err.value)
    assert f"{bad}: train.rnak: unknown key (did you mean 'network.rank'?)" in text
    assert "netwrk: unknown key (did you mean 'network'?)" in text
    assert "train.lr:" in text
    assert len(err.value.problems) == 3


def test_alias_bomb_is_refused(tmp_path: Path) -> None:
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    for i in range(1, 9):
        prev = f"*a{i - 1}"
        lines.append(f"a{i}: &a{i} [{', '.join([prev] * 10)}]")
    bomb = tmp_path / "bomb.yaml"
    bomb.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(UserError, match="anchors/aliases expand to more than"):
        plan(str(bomb))


def test_extends_loop_is_refused(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text("extends: b.yaml\n", encoding="utf-8")
    (tmp_path / "b.yaml").write_text("extends: a.yaml\n", encoding="utf-8")
    with pytest.raises(UserError, match="loops back on itself"):
        plan(str(tmp_path / "a.yaml"))


def test_no_dataset_and_empty_dataset(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="no dataset: pass --images"):
        plan(kind="subject")
    (tmp_path / "empty").mkdir()
    with pytest.raises(UserError, match="no training images found"):
        plan(kind="subject", images=str(tmp_path / "empty"))


def test_trigger_with_newline_is_refused(skull20: Path) -> None:
    with pytest.raises(ConfigErrors, match="trigger: must be one line"):
        plan(kind="subject", images=str(skull20), trigger="CS\nKULL")


def test_long_run_lowers_lr_and_high_lr_warns(tmp_path: Path) -> None:
    images = make_images(tmp_path / "many", 35, size=256)
    p = plan(kind="subject", images=str(images), trigger="CSKULL")
    assert p.values["steps"] == 3500 and p.values["lr"] == 5e-5 and "3000" in p.origins["lr"]
    p = plan(kind="subject", images=str(images), trigger="CSKULL", sets=["train.lr=1e-4"])
    assert any("long runs want a lower LR" in w.message and w.origin == "seed:000" for w in p.warnings)


def test_advice(tmp_path: Path) -> None:
    few = make_images(tmp_path / "few", 5, size=1024, trigger="style")
    p = plan(kind="style", images=str(few), trigger="style", rank=64, vram=16, backend="ai-toolkit")
    messages = " | ".join(f"{w.message} [{w.origin}]" for w in p.warnings)
    assert "common word" in messages
    assert "rank 64 for a style" in messages and "seed:001" in messages
    assert "16 GB VRAM" in messages and "seed:004" in messages


@pytest.mark.parametrize(("vram", "swap", "optimizer"), [(8, 28, "adamw8bit"), (10, 22, "adamw8bit"),
                                                          (12, 16, "adamw8bit"), (16, None, "adafactor"),
                                                          (24, None, "adamw8bit"), (80, None, "adamw8bit")])
def test_sd_scripts_vram_tiers(vram: int, swap: int | None, optimizer: str, skull20: Path) -> None:
    p = plan(kind="subject", images=str(skull20), backend="sd-scripts", vram=vram)
    assert p.values.get("blocks_to_swap") == swap
    assert p.values["optimizer"] == optimizer
    assert p.values["fp8_base"] is (vram < 48)
    assert "split_mode" not in p.values
    if optimizer == "adafactor":
        assert p.values["optimizer_args"] == {"relative_step": False, "scale_parameter": False, "warmup_init": False}
        assert p.values["lr_scheduler"] == "constant_with_warmup" and p.values["max_grad_norm"] == 0.0


@pytest.mark.parametrize(("vram", "quantize", "low_vram"), [(12, True, True), (24, True, False), (48, False, False)])
def test_ai_toolkit_vram_tiers(vram: int, quantize: bool, low_vram: bool, skull20: Path) -> None:
    p = plan(kind="subject", images=str(skull20), backend="ai-toolkit", vram=vram)
    assert (p.values["quantize"], p.values["low_vram"]) == (quantize, low_vram)


def test_sd_scripts_never_caches_text_encoder_with_dropout(skull20: Path, style12: Path) -> None:
    subject = plan(kind="subject", images=str(skull20), backend="sd-scripts")
    assert subject.values["caption_dropout"] == 0.0 and subject.values["cache_text_embeddings"] is True
    style = plan(kind="style", images=str(style12), trigger="GXSTYLE", backend="kohya")
    assert style.values["caption_dropout"] > 0 and style.values["cache_text_embeddings"] is False
    given = plan(kind="subject", images=str(skull20), backend="sd-scripts", sets=["train.caption_dropout=0.1"])
    assert given.values["cache_text_embeddings"] is False


def test_style_treatment(style12: Path) -> None:
    p = plan(kind="style", images=str(style12), trigger="GXSTYLE")
    assert p.values["caption_mode"] == "trigger" and p.values["content_or_style"] == "style"
    assert p.values["caption_dropout"] > 0.05
    assert all("[trigger] style" in s for s in p.values["sample_prompts"])


def test_subject_samples_are_the_flexibility_tests(skull20: Path) -> None:
    prompts = plan(kind="subject", images=str(skull20), trigger="CSKULL").values["sample_prompts"]
    joined = " ".join(prompts).lower()
    for word in ("watercolor", "pixar", "pencil", "35mm"):
        assert word in joined


def test_unknown_backend_did_you_mean(skull20: Path) -> None:
    with pytest.raises(UserError, match="unknown backend 'ai-tolkit' \\(did you mean 'ai-toolkit'\\?\\)"):
        plan(kind="subject", images=str(skull20), backend="ai-tolkit")


def test_recipes_reproduce_their_guides(skull20: Path) -> None:
    kohya = plan("kohya-style", images=str(skull20)).values
    assert (kohya["rank"], kohya["alpha"], kohya["lr"], kohya["steps"], kohya["save_every"]) == (16, 16.0, 1e-4, 500, 100)
    assert (kohya["lr_scheduler"], kohya["warmup_steps"], kohya["optimizer"]) == ("cosine_with_restarts", 50, "adafactor")
    assert kohya["backend"] == "sd-scripts" and kohya["workers"] == 4
    poc = plan("concept-poc", images=str(skull20), trigger="ZQX").values
    assert (poc["rank"], poc["lr"], poc["steps"]) == (16, 4e-4, 2400)
    ohwx = plan("ohwx-character", images=str(skull20)).values
    assert (ohwx["trigger"], ohwx["steps"], ohwx["lr"], ohwx["rank"]) == ("ohwx woman", 1000, 1e-4, 16)
    skull = plan("cyber-skull", images=str(skull20)).values
    assert (skull["rank"], skull["alpha"], skull["steps"], skull["trigger"]) == (32, 32.0, 2000, "CSKULL")


def test_builtin_maps_what_it_cannot_do_with_a_warning(skull20: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("fluxgen.rules.capabilities.bitsandbytes_available", lambda: False)
    p = plan("kohya-style", images=str(skull20), backend="builtin")
    assert (p.values["optimizer"], p.values["lr_scheduler"]) == ("adamw", "cosine")
    assert any("adafactor" in w.message and w.origin == "builtin trainer" for w in p.warnings)
    skull = plan("cyber-skull", images=str(skull20), backend="builtin")
    # the plan keeps what the user asked for; the trainer falls back at launch and says so
    assert skull.values["optimizer"] == "adamw8bit"
    assert any("trains with adamw" in w.message and w.severity == "info" for w in skull.warnings)
    monkeypatch.setattr("fluxgen.rules.capabilities.bitsandbytes_available", lambda: True)
    assert plan("cyber-skull", images=str(skull20), backend="builtin").hash == skull.hash


def test_caption_extension_reaches_lint_and_fingerprint(tmp_path: Path) -> None:
    images = make_images(tmp_path / "ce", 12, size=256)
    for txt in images.glob("*.txt"):
        txt.rename(txt.with_suffix(".caption"))
    p = plan(kind="subject", images=str(images), trigger="CSKULL", sets=["dataset.caption_ext=.caption"])
    assert not any("caption" in w.message and "no image" in w.message for w in p.warnings)
    before = p.values["fingerprint"]
    (images / "img_000.caption").write_text("CSKULL, changed", encoding="utf-8")
    after = plan(kind="subject", images=str(images), trigger="CSKULL", sets=["dataset.caption_ext=.caption"])
    assert after.values["fingerprint"] != before
