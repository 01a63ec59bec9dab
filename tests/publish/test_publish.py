"""`fluxgen publish`: the folder and card exactly (golden), the Hub's parser, uploads to a local Hub stand-in."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner
from publish.hub_server import HubServer
from test_render import check_golden

from fluxgen.cli import cli

GOLDEN = Path(__file__).parent / "golden"
TOKEN = "hf_secretTOKEN0123456789"


def publish(*args: str):
    return CliRunner().invoke(cli, ["publish", *args])


def _listing(folder: Path) -> str:
    return "".join(f"{p.relative_to(folder)}\n" for p in sorted(folder.rglob("*")) if p.is_file())


def test_dry_run_folder_and_card_match_golden(published_run: Path):
    result = publish(str(published_run), "--repo", "me/skull-lora", "--dry-run", "--format", "both")
    assert result.exit_code == 0, result.output
    folder = published_run / "publish" / "skull-lora"
    assert "dry run: nothing uploaded" in result.stdout
    got = {"listing.txt": _listing(folder), "README.md": (folder / "README.md").read_text(encoding="utf-8")}
    for name, text in got.items():
        check_golden(GOLDEN / name, text)


def test_card_loads_with_the_hubs_parser(published_run: Path):
    from huggingface_hub import ModelCard

    assert publish(str(published_run), "--repo", "me/skull-lora", "--dry-run").exit_code == 0
    folder = published_run / "publish" / "skull-lora"
    data = ModelCard.load(folder / "README.md").data.to_dict()
    assert data["base_model"] == "black-forest-labs/FLUX.1-dev"
    assert data["base_model_relation"] == "adapter"
    assert data["license"] == "other" and data["license_name"] == "flux-1-dev-non-commercial-license"
    assert {"flux", "lora", "text-to-image"} <= set(data["tags"])
    assert data["instance_prompt"] == "CSKULL"
    assert [w["text"] for w in data["widget"]] == ["A watercolor painting of CSKULL", 'CSKULL "quoted" | piped: yes']
    assert all((folder / w["output"]["url"]).is_file() for w in data["widget"])
    assert "/home/me" not in (folder / "README.md").read_text()  # machine paths stay private


@pytest.fixture
def hub(monkeypatch: pytest.MonkeyPatch):
    import huggingface_hub.constants

    server = HubServer()
    url = server.start()
    monkeypatch.setenv("HF_ENDPOINT", url)
    monkeypatch.delenv("HF_HUB_OFFLINE")
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", False)
    yield server
    server.stop()


def test_upload_goes_through_huggingface_hub_and_keeps_the_token_out(published_run: Path, hub: HubServer,
                                                                      monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("HF_TOKEN", TOKEN)
    result = publish(str(published_run), "--repo", "me/skull-lora")
    assert result.exit_code == 0, [(r.method, r.path) for r in hub.requests]
    assert result.stdout.strip().endswith(f"uploaded: {hub.url}/me/skull-lora")
    assert [r.path for r in hub.requests][-1] == "/api/models/me/skull-lora/commit/main"
    assert "/api/validate-yaml" in [r.path for r in hub.requests]
    create = hub.requests[0]
    assert (create.method, create.path) == ("POST", "/api/repos/create")
    assert create.headers["authorization"] == f"Bearer {TOKEN}"
    assert set(hub.committed) == {"README.md", "skull_v1_250steps.safetensors", "intent.yaml", "plan.json",
                                  "samples/01.png", "samples/02.png", "eval/sheet-01.png", "eval/summary.json"}
    folder = published_run / "publish" / "skull-lora"
    assert hub.committed["README.md"] == (folder / "README.md").read_bytes()
    written = b"".join(p.read_bytes() for p in published_run.rglob("*") if p.is_file())
    assert TOKEN.encode() not in written and TOKEN not in result.output
    again = publish(str(published_run), "--repo", "me/skull-lora")  # a rerun updates the same repo
    assert again.exit_code == 0, again.output
    assert sum("/commit/" in r.path for r in hub.requests) == 2


@pytest.mark.parametrize(("fail", "message"), [
    ({"/api/repos/create": 403}, "cannot create the repo me/skull-lora: the name is taken by someone else or the "
                                 "token may not write to 'me' (403); choose another --repo"),
    ({"/commit/": 400}, "cannot upload the folder me/skull-lora: the Hub answered 400; rerun `fluxgen publish` to "
                        "retry; the folder is kept at"),
])
def test_hub_refusals_are_one_line(published_run: Path, hub: HubServer, monkeypatch: pytest.MonkeyPatch,
                                   fail: dict, message: str):
    monkeypatch.setenv("HF_TOKEN", TOKEN)
    hub.fail = fail
    result = publish(str(published_run), "--repo", "me/skull-lora")
    assert result.exit_code == 1
    assert result.stderr.startswith(f"error: {message}") and result.stderr.count("\n") == 1
    assert TOKEN not in result.output


def test_missing_token_offline_and_unreachable(published_run: Path, monkeypatch: pytest.MonkeyPatch):
    no_token = publish(str(published_run), "--repo", "me/skull-lora")
    assert no_token.exit_code == 1
    assert no_token.stderr == ("error: no Hugging Face token: set HF_TOKEN or run `hf auth login`, then rerun "
                               "(or use --dry-run to only write the folder)\n")
    monkeypatch.setenv("HF_TOKEN", TOKEN)
    offline = publish(str(published_run), "--repo", "me/skull-lora")
    assert offline.stderr == "error: HF_HUB_OFFLINE is set: publishing needs the network; unset it (or use --dry-run)\n"
    import huggingface_hub.constants

    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", False)
    monkeypatch.setenv("HF_ENDPOINT", "http://127.0.0.1:9")  # the discard port: nothing listens
    gone = publish(str(published_run), "--repo", "me/skull-lora")
    assert gone.exit_code == 1
    assert "cannot create the repo me/skull-lora: the Hub cannot be reached" in gone.stderr


def test_bad_repo_and_foreign_out_folder(published_run: Path, tmp_path: Path):
    bad = publish(str(published_run), "--repo", "no-slash", "--dry-run")
    assert bad.exit_code == 1 and "--repo no-slash: give USER/NAME" in bad.stderr
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("keep me")
    refused = publish(str(published_run), "--repo", "me/x", "--dry-run", "--out", str(mine))
    assert refused.exit_code == 1 and "was not written by `fluxgen publish`" in refused.stderr
    assert (mine / "notes.txt").read_text() == "keep me"
