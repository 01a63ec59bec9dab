"""`fluxgen dataset caption` on tiny random Florence-2, BLIP-2, Qwen2.5-VL, Qwen3-VL and LLaVA (JoyCaption) models
built here from configs, and a hand-written ONNX WD14 tagger."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from PIL import Image

from fluxgen.cli import cli
from fluxgen.dataset.autocaption import CaptionOptions, caption_dataset
from fluxgen.dataset.captioners.tiny import BUILDERS
from fluxgen.errors import UserError

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]  # the first test builds five tiny models
MODELS = ("florence2", "blip2", "qwen2.5-vl", "qwen3-vl", "joycaption")


@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("captioners")
    return {name: BUILDERS[name](root / name) for name in MODELS}


@pytest.fixture
def source(tmp_path, make) -> Path:
    src = tmp_path / "src"
    for i in range(3):
        make.save(make.picture(i, (96, 80)), src / f"img{i}.jpg", quality=90)
    (src / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 not a picture")
    return src


def _digest(folder: Path) -> dict[str, str]:
    return {p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def _run(*args):
    return CliRunner().invoke(cli, ["dataset", "caption", *map(str, args)])


@pytest.mark.parametrize("name", MODELS)
def test_every_readable_image_gets_a_caption_with_the_trigger(tiny, source, tmp_path, name):
    before = _digest(source)
    out = tmp_path / "out"
    result = _run(source, "--out", out, "--captioner", name, "--model", tiny[name], "--trigger", "CSKULL",
                  "--max-new-tokens", "8", "--batch-size", "2", "--device", "cpu")
    assert result.exit_code == 0, result.output
    assert _digest(source) == before  # the source is only read
    captions = {p.name: p.read_text(encoding="utf-8") for p in out.glob("*.txt")}
    assert sorted(captions) == ["img0.txt", "img1.txt", "img2.txt"]
    assert all(text.startswith("CSKULL") and text.count("CSKULL") == 1 for text in captions.values())
    assert not (out / "broken.jpg").exists()
    assert "broken.jpg: skipped (cannot decode it" in result.stdout
    assert "images/s" in result.stdout
    provenance = json.loads((out / "captions.json").read_text(encoding="utf-8"))
    assert provenance["captioner"] == name and provenance["model"] == str(tiny[name])
    assert provenance["settings"]["trigger"] == "CSKULL"
    assert set(provenance["files"]) == {"img0.jpg", "img1.jpg", "img2.jpg"}
    assert provenance["skipped"].keys() == {"broken.jpg"}
    assert all(entry["source"] == "model" and entry["sha256"].startswith("sha256:")
               for entry in provenance["files"].values())
    lint_ids = [line for line in result.stdout.splitlines() if "[trigger-missing]" in line or "[caption-" in line]
    assert lint_ids == []  # the result lints clean of caption findings


def test_existing_captions_kept_overwrite_and_only_missing(tiny, source, tmp_path):
    (source / "img0.txt").write_text("a skull on a table", encoding="utf-8")
    common = ["--model", str(tiny["florence2"]), "--trigger", "CSKULL", "--max-new-tokens", "4", "--device", "cpu"]
    result = _run(source, "--out", tmp_path / "a", *common)
    assert result.exit_code == 0, result.output
    assert (tmp_path / "a" / "img0.txt").read_text() == "CSKULL, a skull on a table"
    result = _run(source, "--out", tmp_path / "b", *common, "--only-missing")
    assert (tmp_path / "b" / "img0.txt").read_text() == "a skull on a table"
    result = _run(source, "--out", tmp_path / "c", *common, "--overwrite")
    files = json.loads((tmp_path / "c" / "captions.json").read_text())["files"]
    assert files["img0.jpg"]["source"] == "model"
    result = _run(source, "--out", tmp_path / "d", *common, "--overwrite", "--only-missing")
    assert result.exit_code == 1 and "pass one of them" in result.stderr


def test_refuses_existing_out_without_force_and_reuses_with_it(tiny, source, tmp_path):
    out = tmp_path / "out"
    opts = CaptionOptions(model=str(tiny["blip2"]), captioner="blip2", trigger="CSKULL", device="cpu",
                          max_new_tokens=4)
    first = caption_dataset(source, out, opts)
    assert first.captioned == 3
    with pytest.raises(UserError, match="folder is not empty; pass --force"):
        caption_dataset(source, out, opts)
    again = caption_dataset(source, out, opts, force=True)
    assert again.reused == 3 and again.captioned == 0  # nothing is redone
    assert [r.caption for r in again.records] == [r.caption for r in first.records]


class _Stops:
    """A captioner that fails on its second batch, the way a crash or Ctrl-C would stop a run."""

    def __init__(self, inner):
        self.inner, self.calls = inner, 0
        self.name, self.model_id, self.revision, self.prompt = inner.name, inner.model_id, None, inner.prompt

    def caption(self, images):
        self.calls += 1
        if self.calls == 2:
            raise KeyboardInterrupt
        return self.inner.caption(images)


def test_an_interrupted_run_resumes_where_it_stopped(tiny, source, tmp_path):
    from fluxgen.dataset.captioners import load_captioner

    real = load_captioner("florence2", model=str(tiny["florence2"]), device="cpu", max_new_tokens=4)
    out = tmp_path / "out"
    opts = CaptionOptions(model=str(tiny["florence2"]), trigger="CSKULL", device="cpu", max_new_tokens=4,
                          batch_size=1)
    with pytest.raises(KeyboardInterrupt):
        caption_dataset(source, out, opts, captioner=_Stops(real))
    assert not out.exists() and (tmp_path / ".out.caption-partial").is_dir()
    counting = _Stops(real)
    counting.calls = 5  # never stops again
    result = caption_dataset(source, out, opts, captioner=counting)
    assert result.reused == 1 and result.captioned == 2 and counting.calls == 7
    assert not (tmp_path / ".out.caption-partial").exists()


def test_missing_weights_offline_is_one_line(source, tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    result = _run(source, "--out", tmp_path / "out", "--captioner", "blip2", "--device", "cpu")
    assert result.exit_code == 1
    assert result.stderr.strip().splitlines() == [
        "error: blip2 'Salesforce/blip2-opt-2.7b' is not in the Hugging Face cache and the hub is offline; download "
        "it where there is network (`hf download Salesforce/blip2-opt-2.7b`), or pass --model /path/to/a/local/copy"]


def test_bad_options_are_one_line(source, tmp_path):
    result = _run(source, "--out", tmp_path / "o", "--template", "{trigger} {captoin}", "--trigger", "T")
    assert result.exit_code == 1 and "unknown field {captoin} (did you mean {caption}?)" in result.stderr
    result = _run(source, "--out", source / "inside")
    assert result.exit_code == 1 and "inside the source folder" in result.stderr
    result = _run(source, "--out", tmp_path / "o", "--model", tmp_path / "nowhere")
    assert result.exit_code == 1 and "no such folder" in result.stderr


def test_wd14_tagger_writes_tags_exactly(source, tmp_path, make):
    pytest.importorskip("onnxruntime", reason="wd14 is an optional extra (fluxgen[wd14])")
    pytest.importorskip("onnx", reason="the tiny ONNX tagger is written with the onnx package")
    from fluxgen.dataset.captioners.wd14 import build_tiny_wd14

    tagger = build_tiny_wd14(tmp_path / "wd14")
    src = tmp_path / "colours"
    for name, colour in (("red", (250, 10, 10)), ("cyan", (10, 250, 250)), ("black", (5, 5, 5))):
        make.save(Image.new("RGB", (40, 30), colour), src / f"{name}.png")
    result = _run(src, "--out", tmp_path / "out", "--captioner", "wd14", "--model", tagger, "--trigger", "zxy_style",
                  "--device", "cpu")
    assert result.exit_code == 0, result.output
    captions = {p.stem: p.read_text() for p in (tmp_path / "out").glob("*.txt")}
    assert captions == {"red": "zxy_style, red theme", "cyan": "zxy_style, green theme, blue theme",
                        "black": "zxy_style"}
    result = _run(src, "--out", tmp_path / "o2", "--captioner", "wd14", "--model", tmp_path, "--device", "cpu")
    assert result.exit_code == 1 and "no model.onnx or selected_tags.csv" in result.stderr
