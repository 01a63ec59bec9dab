"""sd-scripts command lines: shell splitting, accelerate launch, argparse abbreviations, the real captured
command and seed:001's listing."""

from __future__ import annotations

import pytest

from fluxgen.validate import validate_file, validate_sd_command

# seed:001 (opncrafter, style LoRAs with kohya_ss): its training command, verbatim.
SEED_001_COMMAND = r"""
# Training script for Flux.1 [dev] LoRA
accelerate launch \
    flux_train_network.py \
    --pretrained_model_name_or_path "flux1-dev.safetensors" \
    --train_data_dir "./my_lora_dataset" \
    --output_dir "./output_lora" \
    --output_name "my_style_v1" \
    \
    # Architecture settings:
    --network_module "networks.lora_flux" \
    --network_dim 16 \           # Rank: 4-8 for subtle style, 16-32 for strong style, 64 for subject
    --network_alpha 16 \         # Alpha: typically equals rank (controls effective learning rate)
    \
    # Training hyperparameters:
    --learning_rate 1e-4 \       # Flux prefers higher LR than SDXL (which wants 1e-5)
    --lr_scheduler "cosine_with_restarts" \
    --lr_warmup_steps 50 \
    --max_train_steps 500 \      # 15-30 images × ~20 steps per image = 300-600 total
    --save_every_n_steps 100 \   # Save intermediate checkpoints for comparison
    \
    # Memory and precision:
    --mixed_precision "bf16" \   # BF16 required (Ampere+ GPUs: RTX 3000 series or newer)
    --gradient_checkpointing \   # Saves VRAM (2x slower training)
    --optimizer_type "adafactor" \ # AdaFactor: memory-efficient (12GB VRAM feasible!)
    --optimizer_args "relative_step=False scale_parameter=False warmup_init=False" \
    \
    # Data settings:
    --resolution "1024,1024" \   # Flux native resolution
    --enable_bucket \            # Enable multiple resolutions (portrait, landscape)
    --bucket_no_upscale \        # Don't upscale smaller images
    --max_data_loader_n_workers 4 \
    \
    # Flux-specific:
    --flux_train_t_exponent 7.0 \   # Timestamp distribution (higher = focus on noisy timesteps)
    --guidance_scale 1.0
"""

BASE = ("accelerate launch --num_cpu_threads_per_process 1 --mixed_precision bf16 flux_train_network.py "
        "--pretrained_model_name_or_path flux1-dev.safetensors --clip_l clip_l.safetensors --t5xxl t5.safetensors "
        "--ae ae.safetensors --dataset_config dataset.toml --network_module networks.lora_flux --network_dim 16 "
        "--network_train_unet_only --learning_rate 1e-4 --max_train_steps 1000 --mixed_precision bf16 "
        "--guidance_scale 1.0 --output_dir out")


def test_real_captured_command_has_no_errors(shared, expect) -> None:
    report = validate_file(shared / "logs" / "sd-scripts" / "command.sh")
    assert report.kind == "sd-scripts-command"
    assert report.ok, report.lines()
    expect(report, "warning", "--network_train_unet_only", "a CLIP-L LoRA is trained too")
    expect(report, "info", "--sdpa", "not used when training FLUX")


def test_seed_001_listing(expect) -> None:
    report = validate_sd_command(SEED_001_COMMAND, "seed:001")
    expect(report, "error", "--flux_train_t_exponent", r"sd-scripts has no such option \(")
    expect(report, "error", "--optimizer_args", "must hold exactly one '='")
    expect(report, "warning", "line 10", "ends the command in a shell")
    assert not [f for f in report.findings if f.path == "--guidance_scale"]


def test_clean_command_has_no_findings() -> None:
    assert validate_sd_command(BASE).findings == []


@pytest.mark.parametrize(("extra", "severity", "path", "match"), [
    ("--network_di 16", "warning", "--network_di", "abbreviation of --network_dim"),
    ("--save_every_n_step 5", "warning", "--save_every_n_step", "abbreviation of --save_every_n_steps"),
    ("--network_d 16", "error", "--network_d", "ambiguous option: could match --network_dim, --network_dropout"),
    ("--netwrk_dim 8", "error", "--netwrk_dim", r"no such option \(did you mean '--network_dim'\?\)"),
    ("--max_train_steps 1e3", "error", "--max_train_steps", r"invalid int value: '1e3'"),
    ("--mixed_precision fp17", "error", "--mixed_precision", "invalid choice 'fp17'"),
    ("--gradient_checkpointing=true", "error", "--gradient_checkpointing", "takes no value"),
    ("--seed", "error", "--seed", "expects a value"),
    ("--seed 1 stray", "error", "stray", "unexpected argument"),
    ("--seed 1 --seed 2", "warning", "--seed", "given twice"),
    ("--network_args train_blocks=single split_qkv=true", "warning", "--network_args", "exact string True"),
    ("--optimizer_args weight_decay=x", "error", "--optimizer_args", "not a Python literal"),
    ("--cache_text_encoder_outputs --shuffle_caption", "error", "--shuffle_caption",
     "while caching text encoder outputs"),
    ("$EXTRA", "info", "$EXTRA", "shell expansion"),
    ("-x 3", "error", "-x", "no such option"),
])
def test_command_line_options(expect, extra, severity, path, match) -> None:
    expect(validate_sd_command(f"{BASE} {extra}"), severity, path, match)


def test_inline_values_and_lists_are_parsed() -> None:
    cmd = (BASE + ' --sample_every_n_steps="10" --network_args "train_blocks=single" "split_qkv=True" '
           '--text_encoder_lr 1e-5 2e-5 --lr_warmup_steps=0.1')
    assert validate_sd_command(cmd).findings == []


def test_accelerate_flags(expect) -> None:
    cmd = BASE.replace("--num_cpu_threads_per_process 1", "--num_processes 1 --num_machines 1 --multi_gpu "
                       "--dynamo_backend no --gpu_ids 0 --main_process_port 29500 --mystery 3")
    report = validate_sd_command(cmd)
    expect(report, "info", "accelerate --mystery", "not one of the accelerate launch flags")
    assert len(report.findings) == 1
    bad = validate_sd_command(BASE.replace("--mixed_precision bf16 flux", "--mixed_precision fp64 flux"))
    expect(bad, "error", "accelerate --mixed_precision", "invalid choice 'fp64'")


def test_mixed_precision_given_to_accelerate_only(expect) -> None:
    cmd = BASE.replace(" --mixed_precision bf16 --guidance_scale", " --guidance_scale")
    expect(validate_sd_command(cmd), "warning", "accelerate --mixed_precision", "training runs in fp32")
    cmd = BASE.replace(" --mixed_precision bf16 --guidance_scale", " --mixed_precision fp16 --guidance_scale")
    expect(validate_sd_command(cmd), "warning", "accelerate --mixed_precision", "which wins")


@pytest.mark.parametrize("launcher", [
    "python flux_train_network.py", "/venv/bin/python3 -m accelerate.commands.launch --num_processes 1 "
    "flux_train_network.py", "HF_HOME=/x PYTHONUNBUFFERED=1 accelerate launch sd-scripts/flux_train_network.py",
])
def test_launchers(launcher) -> None:
    cmd = BASE.replace("accelerate launch --num_cpu_threads_per_process 1 --mixed_precision bf16 "
                       "flux_train_network.py", launcher)
    assert validate_sd_command(cmd).findings == []


def test_scripts_with_several_commands_and_comments() -> None:
    script = "#!/bin/bash\nset -e\ncd /tmp && echo start  # go\n" + BASE.replace(" --", " \\\n  --") + \
        "  # done\necho finished\n"
    assert validate_sd_command(script).findings == []


def test_windows_caret_continuations() -> None:
    assert validate_sd_command(BASE.replace(" --", " ^\n  --")).findings == []


def test_shell_problems(expect) -> None:
    expect(validate_sd_command('accelerate launch flux_train_network.py --output_name "x'), "error", "line 1",
           "cannot split the command")
    expect(validate_sd_command("python train.py --foo"), "error", "(command)", "no flux_train_network.py")
    expect(validate_sd_command(BASE.replace("flux_train_network.py", "sdxl_train_network.py")), "warning",
           "sdxl_train_network.py", "may define others")
    expect(validate_sd_command("srun " + BASE[BASE.index("flux_train_network.py"):]), "info", "srun",
           "unknown launcher")


def test_config_file_is_merged_when_readable(tmp_path, expect) -> None:
    (tmp_path / "args.toml").write_text(
        'pretrained_model_name_or_path = "f.safetensors"\nclip_l = "c"\nt5xxl = "t"\nae = "a"\n'
        'dataset_config = "d.toml"\nnetwork_module = "networks.lora_flux"\nnetwork_dim = 16\n'
        'network_train_unet_only = true\nlearning_rate = 1e-4\nmax_train_steps = 100\nmixed_precision = "bf16"\n'
        'guidance_scale = 1.0\nnetwrk_alpha = 1.0\n', encoding="utf-8")
    cmd = "accelerate launch --mixed_precision bf16 flux_train_network.py --config_file args.toml"
    report = validate_sd_command(cmd, base_dir=tmp_path)
    expect(report, "error", "--config_file:netwrk_alpha", "did you mean 'network_alpha'")
    assert len(report.findings) == 1
    unread = validate_sd_command(cmd, base_dir=tmp_path / "elsewhere")
    expect(unread, "info", "--config_file", "could not be read")
    assert not [f for f in unread.findings if f.rule in {"sd-network-module", "sd-guidance"}]


def test_dataset_config_is_cross_checked_when_readable(tmp_path, expect) -> None:
    (tmp_path / "dataset.toml").write_text(
        "[general]\nshuffle_caption = true\ncaption_extension = '.txt'\n[[datasets]]\nresolution = 512\n"
        "  [[datasets.subsets]]\n  image_dir = '/i'\n", encoding="utf-8")
    report = validate_sd_command(BASE + " --cache_text_encoder_outputs", base_dir=tmp_path)
    expect(report, "error", "general.shuffle_caption", "while caching text encoder outputs")
