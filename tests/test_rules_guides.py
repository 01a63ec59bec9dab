"""Rules that must agree with the guides and with each other; each test names the seed it follows."""

from __future__ import annotations

from pathlib import Path

import pytest

from fluxgen.plan import PlanOptions, build_plan


def plan(ref=None, **kw):
    return build_plan(ref, PlanOptions(**kw))


def _messages(p, severity: str | None = None) -> str:
    return "\n".join(w.message for w in p.warnings if severity is None or w.severity == severity)


@pytest.mark.parametrize("vram", [4, 6])
def test_below_8_gb_says_plainly_it_is_not_expected_to_fit(skull20: Path, vram: int) -> None:
    """seed:004: 24 GB minimum; the documented sd-scripts floor is 8 GB with block swap (ref:sd-scripts §7)."""
    p = plan(kind="subject", images=str(skull20), vram=vram, backend="sd-scripts")
    text = _messages(p, "warning")
    assert f"{vram} GB VRAM: FLUX LoRA training is not expected to fit" in text
    assert "24 GB at least (seed:004)" in text and "sd-scripts at 8 GB with block swapping" in text


def test_fp16_is_warned_about(skull20: Path) -> None:
    """seed:001: `--mixed_precision "bf16"  # BF16 required`."""
    p = plan(kind="subject", images=str(skull20), sets=["train.precision=fp16"])
    assert any("fp16 on FLUX" in w.message and w.origin == "seed:001" for w in p.warnings)
    assert not any("fp16 on FLUX" in w.message for w in plan(kind="subject", images=str(skull20)).warnings)


@pytest.mark.parametrize("backend", ["ai-toolkit", "sd-scripts", "builtin"])
def test_steps_count_image_views_with_the_batch_size(skull20: Path, backend: str) -> None:
    """seed:000's ~100 steps per image are image views: batch 4 shows 4 images a step, so a quarter of the steps."""
    one = plan(kind="subject", images=str(skull20), backend=backend)
    four = plan(kind="subject", images=str(skull20), backend=backend, sets=["train.batch_size=4"])
    assert (one.values["steps"], four.values["steps"]) == (2000, 500)
    assert "2000 image views ÷ batch 4" in four.origins["steps"] and "seed:000" in four.origins["steps"]
    assert "steps count image views" in four.origins["steps"]


@pytest.mark.parametrize("backend", ["ai-toolkit", "sd-scripts"])
def test_80_gb_tier_uses_the_memory_and_says_what_and_why(skull20: Path, backend: str) -> None:
    """Not the 48 GB settings again: batch 2 with the same image views (seed:000: a batch of 2 or 4 could speed
    things up), nothing quantized, and an info line saying so."""
    p48 = plan(kind="subject", images=str(skull20), vram=48, backend=backend)
    p80 = plan(kind="subject", images=str(skull20), vram=80, backend=backend)
    assert (p48.values["batch_size"], p80.values["batch_size"]) == (1, 2)
    assert p80.values["steps"] * 2 == p48.values["steps"]
    info = _messages(p80, "info")
    assert "80 GB: the plan uses the memory" in info and "image views stay the same" in info
    assert p80.values.get("quantize", False) is False and p80.values.get("fp8_base", False) is False
    kept = plan(kind="subject", images=str(skull20), vram=80, backend=backend, sets=["train.batch_size=1"])
    assert kept.values["steps"] == 2000
    assert f"80 GB, {backend}: the text encoders stay on the GPU" in info  # not the 48 GB settings again


def test_16_gb_adafactor_warms_up(skull20: Path) -> None:
    """sd-scripts' 16 GB Adafactor recipe uses constant_with_warmup (ref:sd-scripts §7); with 0 warm-up steps it
    would be a constant schedule, so the plan warms up like seed:001's recipe (50 steps, at most a tenth)."""
    p = plan(kind="subject", images=str(skull20), vram=16, backend="sd-scripts")
    assert (p.values["optimizer"], p.values["lr_scheduler"], p.values["warmup_steps"]) == (
        "adafactor", "constant_with_warmup", 50)
    assert "seed:001" in p.origins["warmup_steps"]
    given = plan(kind="subject", images=str(skull20), vram=16, backend="sd-scripts", sets=["train.warmup_steps=0"])
    assert given.values["warmup_steps"] == 0


def test_character_steps_show_both_guides(tmp_path: Path) -> None:
    """seed:003: 800–1200 steps for faces; seed:004: 1000–3000 for characters; the kind counts 100 × images."""
    from helpers import make_images

    faces = make_images(tmp_path / "faces", 10, trigger="ohwx")
    p = plan(kind="character", images=str(faces), trigger="ohwx")
    assert p.values["steps"] == 1000
    assert "800–1200 in seed:003" in p.origins["steps"] and "1000–3000 in seed:004" in p.origins["steps"]
    many = make_images(tmp_path / "many", 40, trigger="ohwx", size=256)
    far = plan(kind="character", images=str(many), trigger="ohwx", lint=False)
    assert any("outside what the guides use" in w.message for w in far.warnings)


def test_style_steps_show_all_three_guides(style12: Path) -> None:
    """seed:000 (100/image, 3000 for ~50), seed:001 (500 for 15–30), seed:004 (2000–5000)."""
    p = plan(kind="style", images=str(style12), trigger="GXSTYLE")
    origin = p.origins["steps"]
    assert "500 in seed:001" in origin and "3000 in seed:000" in origin and "2000–5000 in seed:004" in origin


def test_style_rank_story_is_one(style12: Path) -> None:
    """The style default 32 (seed:000) and the advice at 64 (seed:000 raises to 64 when weak; seed:001 uses 8–16)
    say the same thing."""
    p = plan(kind="style", images=str(style12), trigger="GXSTYLE")
    assert p.values["rank"] == 32 and "seed:000" in p.origins["rank"] and "seed:001" in p.origins["rank"]
    assert not any("rank" in w.message for w in p.warnings)
    p64 = plan(kind="style", images=str(style12), trigger="GXSTYLE", rank=64)
    notes = [w for w in p64.warnings if "rank 64 for a style" in w.message]
    assert notes and notes[0].severity == "info" and "only when 32 came out weak" in notes[0].message
    p128 = plan(kind="style", images=str(style12), trigger="GXSTYLE", rank=128)
    assert any("seed:000 goes to 64 at most" in w.message and w.severity == "warning" for w in p128.warnings)


def test_caption_dropout_against_text_encoder_caching_is_advice_with_a_switch(skull20: Path) -> None:
    """ai-toolkit plans 5% caption dropout (ref:ai-toolkit §3); sd-scripts cannot cache text-encoder outputs with
    it (ref:sd-scripts §10), so the plan drops it, says so, and names the switch."""
    p = plan(kind="subject", images=str(skull20), backend="sd-scripts")
    assert p.values["caption_dropout"] == 0.0 and p.values["cache_text_embeddings"] is True
    advice = [w for w in p.warnings if "caption dropout 0" in w.message]
    assert advice and advice[0].severity == "info" and "--set train.caption_dropout=0.05" in advice[0].message
    switched = plan(kind="subject", images=str(skull20), backend="sd-scripts", sets=["train.caption_dropout=0.05"])
    assert switched.values["caption_dropout"] == 0.05 and switched.values["cache_text_embeddings"] is False
    assert not any("caption dropout 0" in w.message for w in switched.warnings)


@pytest.mark.parametrize("backend", ["ai-toolkit", "sd-scripts", "builtin"])
def test_name_template_follows_seed_003_naming(skull20: Path, backend: str) -> None:
    """seed:003: `character-name_v1_1000steps.safetensors`; the final LoRA is written under the templated name."""
    from fluxgen.render import render_plan

    p = plan("cyber-skull", images=str(skull20), backend=backend,
             sets=["save.name_template={name}_v{version}_{steps}steps", "save.version=2"])
    assert p.values["name"] == "cyber-skull_v2_2000steps"
    assert "seed:003" in p.origins["name"]
    files = render_plan(p)
    assert any("cyber-skull_v2_2000steps" in text for text in files.values())
    assert plan("cyber-skull", images=str(skull20), backend=backend).values["name"] == "cyber-skull"


def test_name_template_unknown_field(skull20: Path) -> None:
    from fluxgen.errors import UserError

    with pytest.raises(UserError, match=r"save.name_template: unknown field \{stpes\}"):
        plan("cyber-skull", images=str(skull20), sets=["save.name_template={name}_{stpes}"])


EXTRA_SETS = ["network.dropout=0.1", "train.gradient_accumulation=2", "network.train_text_encoder=true",
              "train.text_encoder_lr=5.0e-5"]


def test_modelled_extras_render_for_ai_toolkit(skull20: Path) -> None:
    import yaml

    from fluxgen.render import render_plan

    p = plan("cyber-skull", images=str(skull20), backend="ai-toolkit", sets=EXTRA_SETS)
    assert p.values["steps"] == 1000  # 2000 image views ÷ (batch 1 × accumulation 2)
    proc = yaml.safe_load(render_plan(p)["config.yaml"])["config"]["process"][0]
    assert proc["network"]["dropout"] == 0.1 and proc["train"]["gradient_accumulation"] == 2
    assert proc["train"]["text_encoder_lr"] == 5e-5


def test_modelled_extras_render_for_sd_scripts(skull20: Path) -> None:
    import tomllib

    from fluxgen.render import render_plan

    p = plan("cyber-skull", images=str(skull20), backend="sd-scripts", sets=EXTRA_SETS)
    args = {k: v for t in tomllib.loads(render_plan(p)["args.toml"]).values() for k, v in t.items()}
    assert (args["network_dropout"], args["gradient_accumulation_steps"], args["text_encoder_lr"]) == (0.1, 2, [5e-5])


@pytest.mark.parametrize("item", ["network.dropout=0.1", "train.gradient_accumulation=2"])
def test_builtin_refuses_what_it_cannot_do_with_a_reason(skull20: Path, item: str) -> None:
    from fluxgen.errors import UserError

    with pytest.raises(UserError, match=rf"{item.split('=')[0]}: builtin cannot do this \(the builtin trainer"):
        plan("cyber-skull", images=str(skull20), backend="builtin", sets=[item])


def test_text_encoder_lr_needs_a_trained_text_encoder(skull20: Path) -> None:
    from fluxgen.errors import UserError

    with pytest.raises(UserError, match="the text encoder is not trained"):
        plan("cyber-skull", images=str(skull20), backend="sd-scripts", sets=["train.text_encoder_lr=5.0e-5"])


def test_a_modelled_extra_is_refused_in_the_pass_through(skull20: Path) -> None:
    from fluxgen.errors import ConfigErrors

    with pytest.raises(ConfigErrors, match="set network.dropout in the intent instead"):
        plan("cyber-skull", images=str(skull20), backend="sd-scripts", sets=["trainer.sd-scripts.args.network_dropout=0.1"])


@pytest.mark.parametrize("log", ["tensorboard", "wandb", "all"])
def test_logging_through_each_trainers_switches_without_a_key(skull20: Path, log: str,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    """ref:ai-toolkit §5 (TensorBoard only with log_dir; logging.use_wandb), ref:sd-scripts §1 (log_with,
    logging_dir); the wandb key stays in the environment."""
    import tomllib

    import yaml

    from fluxgen.render import render_plan

    monkeypatch.setenv("WANDB_API_KEY", "wandb-secret-0123456789")
    aitk = render_plan(plan("cyber-skull", images=str(skull20), backend="ai-toolkit", sets=[f"logging={log}"]))
    proc = yaml.safe_load(aitk["config.yaml"])["config"]["process"][0]
    assert (proc.get("log_dir") == "logs") == (log != "wandb")
    assert (proc.get("logging", {}).get("use_wandb") is True) == (log != "tensorboard")
    sd = render_plan(plan("cyber-skull", images=str(skull20), backend="sd-scripts", sets=[f"logging={log}"]))
    args = tomllib.loads(sd["args.toml"])["logging"]
    assert args == {"log_with": log, "logging_dir": "logs"}
    for files in (aitk, sd):
        assert not any("wandb-secret" in text for text in files.values())


def test_builtin_refuses_logging_and_secrets_are_refused_in_the_pass_through(skull20: Path) -> None:
    from fluxgen.errors import ConfigErrors, UserError

    with pytest.raises(UserError, match=r"logging: builtin cannot do this \(the builtin trainer writes its metrics"):
        plan("cyber-skull", images=str(skull20), backend="builtin", sets=["logging=tensorboard"])
    with pytest.raises(ConfigErrors, match=r"trainer\.sd-scripts\.args\.wandb_api_key: a secret never goes into a file"):
        plan("cyber-skull", images=str(skull20), backend="sd-scripts", sets=["trainer.sd-scripts.args.wandb_api_key=x"])


def test_ema_is_an_intent_choice_for_ai_toolkit_and_refused_elsewhere(skull20: Path) -> None:
    import yaml

    from fluxgen.errors import UserError
    from fluxgen.render import render_plan

    p = plan("cyber-skull", images=str(skull20), backend="ai-toolkit", sets=["train.ema=false"])
    ema = yaml.safe_load(render_plan(p)["config.yaml"])["config"]["process"][0]["train"]["ema_config"]
    assert ema["use_ema"] is False and p.origins["ema"] == "command line --set train.ema=false"
    for backend in ("sd-scripts", "builtin"):
        with pytest.raises(UserError, match=rf"train.ema: {backend} cannot do this"):
            plan("cyber-skull", images=str(skull20), backend=backend, sets=["train.ema=true"])


def test_first_sample_through_each_trainers_switch(skull20: Path) -> None:
    """ai-toolkit samples before the first step unless skip_first_sample; sd-scripts only with sample_at_first
    (ref:ai-toolkit §2.3, ref:sd-scripts §1)."""
    import tomllib

    import yaml

    from fluxgen.errors import UserError
    from fluxgen.render import render_plan

    aitk = render_plan(plan("cyber-skull", images=str(skull20), backend="ai-toolkit", sets=["samples.first=false"]))
    assert yaml.safe_load(aitk["config.yaml"])["config"]["process"][0]["train"]["skip_first_sample"] is True
    sd = render_plan(plan("cyber-skull", images=str(skull20), backend="sd-scripts", sets=["samples.first=true"]))
    assert tomllib.loads(sd["args.toml"])["sampling"]["sample_at_first"] is True
    with pytest.raises(UserError, match="samples.first: builtin cannot do this"):
        plan("cyber-skull", images=str(skull20), backend="builtin", sets=["samples.first=true"])


@pytest.mark.parametrize(("blocks", "aitk"), [("single", {"only_if_contains": ["single_transformer_blocks"]}),
                                              ("double", {"ignore_if_contains": ["single_transformer_blocks"]})])
def test_block_targeting_per_trainer(skull20: Path, blocks: str, aitk: dict) -> None:
    """sd-scripts `train_blocks` (ref:sd-scripts §3, asserted all | single | double); ai-toolkit matches module names
    in the transformer against network_kwargs' only/ignore lists."""
    import tomllib

    import yaml

    from fluxgen.errors import ConfigErrors, UserError
    from fluxgen.render import render_plan

    p = plan("cyber-skull", images=str(skull20), backend="ai-toolkit", sets=[f"network.blocks={blocks}"])
    network = yaml.safe_load(render_plan(p)["config.yaml"])["config"]["process"][0]["network"]
    assert network["network_kwargs"] == aitk
    sd = plan("cyber-skull", images=str(skull20), backend="sd-scripts",
              sets=[f"network.blocks={blocks}", "trainer.sd-scripts.args.network_args=[split_qkv=True]"])
    args = tomllib.loads(render_plan(sd)["args.toml"])
    assert args["network"]["network_args"] == [f"train_blocks={blocks}", "split_qkv=True"]
    with pytest.raises(ConfigErrors, match="train_blocks is a modelled setting: set network.blocks"):
        plan("cyber-skull", images=str(skull20), backend="sd-scripts",
             sets=["trainer.sd-scripts.args.network_args=[train_blocks=single]"])
    with pytest.raises(UserError, match="network.blocks: builtin cannot do this"):
        plan("cyber-skull", images=str(skull20), backend="builtin", sets=[f"network.blocks={blocks}"])
