"""hf://repo/file model references: resolved from the Hugging Face cache, offline unless --download."""

from __future__ import annotations

import os
from pathlib import Path
from types import SimpleNamespace

import pytest
from runner.support import SD_ARGS, only_run

from fluxgen.errors import UserError
from fluxgen.hub import parse_ref, resolve, resolve_plan, token_source
from fluxgen.plan import PlanOptions, build_plan
from helpers import cli_run

COMMIT = "0123456789abcdef0123456789abcdef01234567"


def cache_file(repo: str, filename: str, data: bytes = b"weights") -> Path:
    """Put a file into the hub cache the way huggingface_hub lays it out (refs/main → snapshots/<commit>/)."""
    root = Path(os.environ["HF_HOME"]) / "hub" / f"models--{repo.replace('/', '--')}"
    (root / "refs").mkdir(parents=True, exist_ok=True)
    (root / "refs" / "main").write_text(COMMIT, encoding="utf-8")
    path = root / "snapshots" / COMMIT / filename
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def test_parse_ref() -> None:
    assert parse_ref("hf://black-forest-labs/FLUX.1-dev/ae.safetensors") == ("black-forest-labs/FLUX.1-dev",
                                                                             "ae.safetensors")
    assert parse_ref("hf://org/repo/sub/dir/file.bin") == ("org/repo", "sub/dir/file.bin")
    assert parse_ref("/models/ae.safetensors") is None
    with pytest.raises(UserError, match=r"hf://<org>/<repo>/<file>"):
        parse_ref("hf://org/repo")


def test_resolved_from_the_cache() -> None:
    path = cache_file("comfyanonymous/flux_text_encoders", "clip_l.safetensors")
    assert resolve("hf://comfyanonymous/flux_text_encoders/clip_l.safetensors") == path


def test_not_cached_is_one_clear_line_naming_what_to_do() -> None:
    with pytest.raises(UserError, match=r"not in the Hugging Face cache .*pass --download.*FLUX.1-dev is gated: "
                                        r"accept its licence at https://huggingface.co/black-forest-labs/FLUX.1-dev"):
        resolve("hf://black-forest-labs/FLUX.1-dev/flux1-dev.safetensors")


def test_download_refused_while_offline() -> None:
    with pytest.raises(UserError, match="HF_HUB_OFFLINE is set"):
        resolve("hf://black-forest-labs/FLUX.1-dev/ae.safetensors", download=True)


def test_gated_download_says_accept_the_licence_and_set_the_token(monkeypatch: pytest.MonkeyPatch) -> None:
    import huggingface_hub
    from huggingface_hub.errors import GatedRepoError

    def refuse(*args, **kwargs):
        response = SimpleNamespace(headers={}, request=None, status_code=401)
        raise GatedRepoError("401 Client Error: gated repo", response=response)

    monkeypatch.setattr(huggingface_hub, "hf_hub_download", refuse)
    monkeypatch.setenv("HF_HUB_OFFLINE", "0")
    with pytest.raises(UserError, match=r"is gated and no Hugging Face token is set; accept the licence at "
                                        r"https://huggingface.co/black-forest-labs/FLUX.1-dev and set HF_TOKEN"):
        resolve("hf://black-forest-labs/FLUX.1-dev/ae.safetensors", download=True)
    monkeypatch.setenv("HF_TOKEN", "hf_not_granted_token")
    with pytest.raises(UserError, match="has not been granted access") as info:
        resolve("hf://black-forest-labs/FLUX.1-dev/ae.safetensors", download=True)
    assert "hf_not_granted_token" not in str(info.value)


def test_token_source_names_where_never_the_value(monkeypatch: pytest.MonkeyPatch) -> None:
    assert token_source() is None
    monkeypatch.setenv("HF_TOKEN", "hf_secret")
    assert token_source() == "$HF_TOKEN"
    monkeypatch.delenv("HF_TOKEN")
    (Path(os.environ["HF_HOME"])).mkdir(parents=True, exist_ok=True)
    (Path(os.environ["HF_HOME"]) / "token").write_text("hf_from_login\n", encoding="utf-8")
    assert "login file" in token_source() and "hf_from_login" not in token_source()


def test_sd_scripts_plan_resolved_to_local_files(images: Path) -> None:
    plan = build_plan("cyber-skull", PlanOptions(images=str(images), backend="sd-scripts"))
    assert plan.values["model.transformer"].startswith("hf://")
    files = {key: cache_file(*parse_ref(plan.values[key])) for key in
             ("model.transformer", "model.clip_l", "model.t5xxl", "model.ae")}
    resolved = resolve_plan(plan)
    assert {k: Path(resolved.values[k]) for k in files} == files
    assert "resolved from the Hugging Face cache" in resolved.origins["model.ae"]
    assert resolved.intent == plan.intent  # the header still carries hf:// refs: portable to another machine


def test_train_stops_before_launch_when_a_model_file_is_missing(fake_env, images: Path, tmp_path: Path) -> None:
    result = cli_run("train", "cyber-skull", "--images", str(images), "--backend", "sd-scripts", "--no-report")
    assert result.exit_code == 1
    assert result.stderr.strip().splitlines()[-1].startswith("error: hf://black-forest-labs/FLUX.1-dev/flux1-dev"
                                                             ".safetensors: not in the Hugging Face cache")
    assert not (tmp_path / "runs").exists()


def test_train_renders_resolved_paths(fake_env, images: Path, tmp_path: Path) -> None:
    plan = build_plan("cyber-skull", PlanOptions(images=str(images), backend="sd-scripts"))
    files = [cache_file(*parse_ref(plan.values[k])) for k in ("model.transformer", "model.clip_l", "model.t5xxl",
                                                               "model.ae")]
    result = cli_run("train", "cyber-skull", "--images", str(images), *SD_ARGS, "--no-report")
    assert result.exit_code == 0, result.stderr
    run = only_run(tmp_path / "runs")
    text = (run / "args.toml").read_text(encoding="utf-8")
    assert "hf://" not in text
    assert all(f'"{f}"' in text for f in files)
    assert "resolved from the Hugging Face cache" in (run / "plan.json").read_text(encoding="utf-8")


@pytest.mark.parametrize("cached", [(), ("model.ae",), ("model.ae", "model.clip_l", "model.t5xxl", "model.transformer")])
def test_render_writes_cached_hub_files_as_local_paths(images: Path, tmp_path: Path, cached: tuple[str, ...]) -> None:
    import tomllib

    plan = build_plan("cyber-skull", PlanOptions(images=str(images), backend="sd-scripts"))
    files = {key: cache_file(*parse_ref(plan.values[key])) for key in cached}
    out = tmp_path / "cfg"
    result = cli_run("render", "cyber-skull", "--images", str(images), "--backend", "sd-scripts", "--out", str(out))
    assert result.exit_code == 0, result.stderr
    text = (out / "args.toml").read_text()
    args = tomllib.loads(text)["model"]
    names = {"model.transformer": "pretrained_model_name_or_path", "model.clip_l": "clip_l", "model.t5xxl": "t5xxl",
             "model.ae": "ae"}
    for key, name in names.items():
        assert (args[name] == str(files[key])) if key in cached else args[name].startswith("hf://")
    assert ("sd-scripts cannot open hf://" in text) == (len(cached) < 4)
    report = cli_run("validate", str(out / "args.toml")).stdout
    assert ("only `fluxgen train` resolves" in report) == (len(cached) < 4)
