"""`fluxgen setup` for real: sd-scripts and ai-toolkit from the shared source tarballs into fluxgen's default data
dir (no FLUXGEN_* variable), then the tiny model trained a few steps by the real ai-toolkit through `fluxgen train`.

The environments take minutes and gigabytes, so they live in a stable cache folder (XDG_DATA_HOME under
~/.cache/fluxgen-tests) and are reused while `fluxgen setup --check` finds them matching their lock."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from helpers import SHARED, TEST_CACHE, make_images

TRAINERS = SHARED / "trainers"
FLUXGEN = str(Path(sys.executable).parent / "fluxgen")


def _python_3_12() -> str | None:
    """Python 3.12 beside this one (pyenv) or on PATH: pip gives it PyPI's torch with its own torchvision, where on
    3.11 this machine's local +cpu torch wheel is taken beside a torchvision built for PyPI's torch."""
    found = sorted(Path(sys.base_prefix).parent.glob("3.12*/bin/python3.12"))
    return str(found[-1]) if found else shutil.which("python3.12")


PY312 = _python_3_12()
SOURCES = {
    "sd-scripts": ["--source", str(TRAINERS / "sd-scripts-48d368fa.tar.gz"), "--python", PY312 or "python3.12"],
    "ai-toolkit": ["--source", str(TRAINERS / "ai-toolkit-27a03a91.tar.gz"),
                   "--with", f"diffusers={TRAINERS / 'diffusers-c9438378.tar.gz'}"],
}
pytestmark = [pytest.mark.slow, pytest.mark.skipif(not TRAINERS.is_dir(), reason=f"no trainer sources at {TRAINERS}")]


def _env(tmp_home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FLUXGEN_")}
    env.update(XDG_DATA_HOME=str(TEST_CACHE / "xdg-data"), HOME=str(tmp_home), HF_HUB_OFFLINE="1",
               OMP_NUM_THREADS="1", COLUMNS="120")
    return env


def _fluxgen(*args: str, env: dict[str, str], cwd: Path, timeout: float) -> subprocess.CompletedProcess[str]:
    return subprocess.run([FLUXGEN, *args], env=env, cwd=cwd, capture_output=True, text=True, timeout=timeout,
                          check=False, stdin=subprocess.DEVNULL)


def _set_up(backend: str, env: dict[str, str], cwd: Path) -> dict:
    """`fluxgen setup` (reusing the cached environment when it still matches its lock), then `--check`."""
    done = _fluxgen("setup", backend, *SOURCES[backend], env=env, cwd=cwd, timeout=1500)
    assert done.returncode == 0, done.stdout + done.stderr[-3000:]
    check = _fluxgen("setup", backend, "--check", env=env, cwd=cwd, timeout=300)
    if check.returncode != 0:  # the cached one drifted: build it again
        done = _fluxgen("setup", backend, *SOURCES[backend], "--force", env=env, cwd=cwd, timeout=1500)
        assert done.returncode == 0, done.stdout + done.stderr[-3000:]
        check = _fluxgen("setup", backend, "--check", env=env, cwd=cwd, timeout=300)
    assert check.returncode == 0 and "matches its lock" in check.stdout, check.stdout + check.stderr
    root = TEST_CACHE / "xdg-data" / "fluxgen" / "envs"
    lock = json.loads(next(root.glob(f"{backend}-*/env.lock.json")).read_text())
    assert lock["trainer"]["source"] == "tarball" and lock["removed_without_gpu"] in ([], ["triton"])
    return lock


needs_312 = pytest.mark.skipif(PY312 is None, reason="no Python 3.12: on 3.11 this machine's +cpu torch wheel is "
                                                    "taken beside a torchvision built for another torch")


@needs_312
@pytest.mark.timeout(1800)
def test_sd_scripts_setup(tmp_path: Path) -> None:
    """Measured on 2 shared cores: 159 s and 4.5 GB (Python 3.12, torch 2.13.0+cu130 with triton removed)."""
    lock = _set_up("sd-scripts", _env(tmp_path), tmp_path)
    pk = lock["packages"]
    assert (pk["transformers"], pk["diffusers"], pk["accelerate"], pk["voluptuous"]) == ("4.54.1", "0.32.1",
                                                                                        "1.6.0", "0.15.2")
    assert pk["torch"].startswith("2.13.0") and pk["torchvision"] == "0.28.0"
    assert lock["python"]["version"].startswith("3.12.")


@needs_312
@pytest.mark.timeout(600)
def test_sd_scripts_reads_the_rendered_files_as_fluxgen_meant(tmp_path: Path) -> None:
    """The real sd-scripts, in its environment, reads the rendered args.toml and dataset.toml with its own parser,
    ConfigSanitizer and FluxNetworkTrainer checks and builds its dataset on the images.

    Training the tiny model for real is not possible with sd-scripts: its loaders build FLUX.1 (hidden 3072),
    T5-XXL (4096 × 24 layers), CLIP-L and the autoencoder at the full sizes and load the files into them
    (`size mismatch for img_in.weight: … torch.Size([32, 64]) from checkpoint, … torch.Size([3072, 64])`),
    adapting only FLUX's block counts; the smallest loadable T5-XXL alone is 4.7 B parameters."""
    env = _env(tmp_path)
    lock = _set_up("sd-scripts", env, tmp_path)
    assert _fluxgen("model", "tiny", "tiny", env=env, cwd=tmp_path, timeout=300).returncode == 0
    images = make_images(tmp_path / "skull", 2, size=64)
    render = _fluxgen("render", "cyber-skull", "--images", str(images), "--backend", "sd-scripts", "--vram", "80",
                      "--steps", "2", "--set", f"model.base={tmp_path / 'tiny'}", "--set", "train.resolution=64",
                      "--set", "train.precision=fp32", "--set", "train.optimizer=adamw", "--set", "save.every=2",
                      "--set", "samples.every=0", "--set", "train.workers=0", "--out", "cfg",
                      env=env, cwd=tmp_path, timeout=300)
    assert render.returncode == 0, render.stdout + render.stderr
    python = lock["python"]["executable"]
    src = Path(python).parents[2] / "src"
    probe = subprocess.run([python, "-W", "ignore", str(Path(__file__).with_name("sd_scripts_probe.py")), str(src)],
                           env=env, cwd=tmp_path / "cfg", capture_output=True, text=True, timeout=300, check=False)
    assert probe.returncode == 0, probe.stdout[-2000:] + probe.stderr[-3000:]
    seen = json.loads(probe.stdout.strip().splitlines()[-1])
    tiny = tmp_path / "tiny"
    assert seen["args"] | {"learning_rate": round(seen["args"]["learning_rate"], 9)} == {
        "pretrained_model_name_or_path": str(tiny / "transformer" / "diffusion_pytorch_model.safetensors"),
        "clip_l": str(tiny / "text_encoder" / "model.safetensors"),
        "t5xxl": str(tiny / "text_encoder_2" / "model.safetensors"),
        "ae": str(tiny / "vae" / "diffusion_pytorch_model.safetensors"),
        "network_module": "networks.lora_flux", "network_dim": 32, "network_alpha": 32.0, "optimizer_type": "adamw",
        "learning_rate": 1e-4, "max_train_steps": 2, "mixed_precision": "no", "save_precision": "float",
        "output_dir": "output", "output_name": "cyber-skull", "save_every_n_steps": 2, "timestep_sampling": "shift",
        "guidance_scale": 1.0, "seed": 42, "cache_latents": True, "cache_text_encoder_outputs": False,
        "gradient_checkpointing": True, "max_data_loader_n_workers": 0}
    assert seen["subsets"] == [{"image_dir": str(images), "num_repeats": 1, "caption_extension": ".txt",
                                "class_tokens": "CSKULL", "is_reg": False, "caption_dropout_rate": 0.05,
                                "shuffle_caption": False, "keep_tokens": 0}]
    assert (seen["resolutions"], seen["batch_sizes"], seen["images"], seen["reg_images"]) == ([[64, 64]], [2], 2, 0)
    assert seen["buckets"] == [[True, 64, 128, 64, True]]
    assert seen["trainer_checks"] == {"use_clip_l": True, "train_clip_l": False} and seen["network_has_create_network"]


@pytest.mark.timeout(2400)
def test_ai_toolkit_setup_then_train_the_tiny_model(tmp_path: Path) -> None:
    env = _env(tmp_path)
    lock = _set_up("ai-toolkit", env, tmp_path)
    pk = lock["packages"]
    assert (pk["torch"], pk["torchvision"], pk["transformers"], pk["accelerate"]) == ("2.14.1", "0.29.1", "5.5.3",
                                                                                     "1.15.0")
    assert "triton" not in pk and lock["trainer"]["commit"].startswith("27a03a91")

    assert _fluxgen("model", "tiny", "tiny", env=env, cwd=tmp_path, timeout=300).returncode == 0
    images = make_images(tmp_path / "skull", 2, size=64)
    train = _fluxgen("train", "cyber-skull", "--images", str(images), "--backend", "ai-toolkit", "--vram", "80",
                     "--steps", "2", "--set", f"model.base={tmp_path / 'tiny'}", "--set", "train.resolution=64",
                     "--set", "train.precision=fp32", "--set", "train.optimizer=adamw", "--set", "save.every=2",
                     "--set", "samples.every=0", "--set", "train.workers=0", "--no-report",
                     env=env, cwd=tmp_path, timeout=1200)
    assert train.returncode == 0, train.stdout[-3000:] + train.stderr[-3000:]
    run = next((tmp_path / "runs").iterdir())
    manifest = json.loads((run / "manifest.json").read_text())
    assert manifest["status"] == "completed" and manifest["final_lora"]
    assert manifest["trainer"]["python_source"].startswith("fluxgen setup")
    assert manifest["env_lock"]["hash"] == lock["hash"]
    assert json.loads((run / "env.lock.json").read_text())["hash"] == lock["hash"]
    same = _fluxgen("reproduce", str(run), "--dry-run", "--json", env=env, cwd=tmp_path, timeout=300)
    assert not any(n.startswith("environment") for n in json.loads(same.stdout)["differences"]), same.stdout


@pytest.mark.timeout(1200)
def test_ai_toolkit_trains_several_folders(tmp_path: Path) -> None:
    """Two folders (one with repeats 2 and its own caption extension), a reg folder and two resolutions, as one
    dataset entry per folder: the real ai-toolkit loads one dataset per folder and resolution and completes."""
    env = _env(tmp_path)
    _set_up("ai-toolkit", env, tmp_path)
    assert _fluxgen("model", "tiny", "tiny", env=env, cwd=tmp_path, timeout=300).returncode == 0
    make_images(tmp_path / "closeups", 2, size=64)
    make_images(tmp_path / "fullbody", 2, size=96)
    for caption in (tmp_path / "fullbody").glob("*.txt"):
        caption.rename(caption.with_suffix(".caption"))
    make_images(tmp_path / "reg", 2, size=64, trigger=None, caption="a skull")
    (tmp_path / "two.yaml").write_text("extends: cyber-skull\ndatasets:\n  - path: closeups\n    repeats: 2\n"
                                       "  - path: fullbody\n    caption_ext: .caption\n  - path: reg\n"
                                       "    is_reg: true\n    resolution: [64]\n", encoding="utf-8")
    train = _fluxgen("train", "two.yaml", "--backend", "ai-toolkit", "--vram", "80", "--steps", "2",
                     "--set", f"model.base={tmp_path / 'tiny'}", "--set", "train.resolution=[64, 128]",
                     "--set", "train.precision=fp32", "--set", "train.optimizer=adamw", "--set", "save.every=2",
                     "--set", "samples.every=0", "--set", "train.workers=0", "--no-report",
                     env=env, cwd=tmp_path, timeout=900)
    assert train.returncode == 0, train.stdout[-3000:] + train.stderr[-3000:]
    run = next((tmp_path / "runs").iterdir())
    assert json.loads((run / "manifest.json").read_text())["status"] == "completed"
    log = (run / "train.log").read_text(encoding="utf-8", errors="replace")
    loaded = [line.split("Dataset: ", 1)[1].strip() for line in log.splitlines() if line.startswith("Dataset: ")]
    assert sorted(loaded) == sorted([str(tmp_path / "closeups")] * 2 + [str(tmp_path / "fullbody")] * 2
                                    + [str(tmp_path / "reg")])
    assert "Found 4 images" in log  # 2 close-ups × 2 repeats
