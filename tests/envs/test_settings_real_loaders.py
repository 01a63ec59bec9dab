"""The settings golden cases (tests/golden/settings.cyber-skull.*) read by the pinned trainers' own code in their own
environments: sd-scripts' flux_train_network parser with --config_file, its ConfigSanitizer/BlueprintGenerator for the
dataset and its sample-prompt line parser; ai-toolkit's config loader and config classes. The values arrive as meant.

The environments are the ones `fluxgen setup` builds (cached under ~/.cache/fluxgen-tests/xdg-data, see
test_setup_real.py); the test skips, saying so, only where they do not exist."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest
from test_render import GOLDEN, normalise
from test_settings_keys import SETS, _plan

from fluxgen.render import render_plan_to
from helpers import TEST_CACHE

ENVS = TEST_CACHE / "xdg-data" / "fluxgen" / "envs"
pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]

# The cached sd-scripts environment pairs torch 2.13.0+cpu with torchvision 0.28.0+cu130, whose compiled ops do not
# load there ("operator torchvision::nms does not exist"). Neither the parser nor the dataset config code uses
# torchvision, so where it cannot be imported, transformers is told it is absent and sd-scripts' module-level
# `from torchvision import transforms` gets a stand-in; everything the test reads runs as sd-scripts wrote it.
TORCHVISION_STANDIN = """
import importlib, sys, types
try:
    import torchvision
except Exception:
    for name in [n for n in sys.modules if n.startswith("torchvision")]:
        del sys.modules[name]
    sys.modules["torchvision"] = None
    import transformers.modeling_utils, diffusers  # they see no torchvision
    standin = types.ModuleType("torchvision")
    standin.transforms = types.SimpleNamespace(Compose=lambda *a, **k: None, ToTensor=lambda *a, **k: None,
                                               Normalize=lambda *a, **k: None)
    sys.modules["torchvision"] = standin
"""

SD_SCRIPT = TORCHVISION_STANDIN + """
import json, sys
sys.path.insert(0, sys.argv[1])
import flux_train_network
from library import config_util, train_util
sys.argv = ["flux_train_network.py", "--config_file", "args.toml"]  # read_config_from_file parses sys.argv again
parser = flux_train_network.setup_parser()
args = train_util.read_config_from_file(parser.parse_args(), parser)
sanitizer = config_util.ConfigSanitizer(True, True, args.masked_loss, True)  # as train_network.py:517 builds it
blueprint = config_util.BlueprintGenerator(sanitizer).generate(config_util.load_user_config(args.dataset_config), args)
subset = blueprint.dataset_group.datasets[0].subsets[0].params
lines = [l for l in open(args.sample_prompts, encoding="utf-8").read().splitlines() if l and not l.startswith("#")]
print("RESULT " + json.dumps({
    "args": {k: v for k, v in vars(args).items() if isinstance(v, (str, int, float, bool, type(None), list))},
    "subset": {k: getattr(subset, k) for k in ("image_dir", "num_repeats", "caption_extension", "caption_dropout_rate")},
    "prompts": [train_util.line_to_prompt_dict(l) for l in lines]}))
"""

AITK_SCRIPT = """
import json, sys
sys.path.insert(0, sys.argv[1])
from toolkit.config import get_config
from toolkit.config_modules import ModelConfig, SampleConfig, TrainConfig
process = get_config("config.yaml")["config"]["process"][0]
train, sample, model = TrainConfig(**process["train"]), SampleConfig(**process["sample"]), ModelConfig(**process["model"])
print("RESULT " + json.dumps({
    "train": {"noise_offset": train.noise_offset, "loss_type": train.loss_type},
    "model": {"quantize": model.quantize, "quantize_te": model.quantize_te},
    "sample": {"neg": sample.neg, "items": [vars(i) | {"sample_config": None} for i in sample.samples]}},
    default=str))
"""


def _python(backend: str) -> tuple[str, str]:
    found = sorted(ENVS.glob(f"{backend}-*/venv/bin/python"))
    if not found:
        pytest.skip(f"no {backend} environment under {ENVS} (tests/envs/test_setup_real.py builds it)")
    return str(found[0]), str(found[0].parents[2] / "src")


def _render(backend: str, skull20: Path, out: Path) -> None:
    """The golden case itself, written for real: what is fed to the trainer is what the golden files hold."""
    written = render_plan_to(_plan(skull20, backend, SETS[backend]), out)
    for path in written:
        golden = GOLDEN / f"settings.cyber-skull.{backend}" / path.name
        if golden.is_file() and path.name != "command.txt":
            got = re.sub(r"\S+/envs/[^/\s]+/venv/bin/python", "<PYTHON>", normalise(path.read_text("utf-8"), skull20))
            assert got == golden.read_text(encoding="utf-8"), f"{path.name} is not the golden file"


def _run(python: str, src: str, script: str, cwd: Path) -> dict:
    done = subprocess.run([python, "-c", script, src], cwd=cwd, capture_output=True, text=True, timeout=240,
                          env={"HF_HUB_OFFLINE": "1", "PATH": "/usr/bin:/bin", "HOME": str(cwd)})
    marked = [ln for ln in done.stdout.splitlines() if ln.startswith("RESULT ")]
    assert marked, f"rc {done.returncode}: {done.stderr[-3000:]}"
    return json.loads(marked[-1].removeprefix("RESULT "))


def test_sd_scripts_reads_the_settings_case(skull20: Path, tmp_path: Path) -> None:
    python, src = _python("sd-scripts")
    _render("sd-scripts", skull20, tmp_path)
    got = _run(python, src, SD_SCRIPT, tmp_path)
    args = got["args"]
    assert (args["loss_type"], args["highvram"]) == ("l1", True)
    assert args["noise_offset"] is None  # refused for sd-scripts: FLUX ignores it (flux_train_network.py:327)
    assert args["cache_text_encoder_outputs"] is False  # 80 GB: the text encoders stay on the GPU
    assert (args["network_dim"], args["learning_rate"]) == (32, 1e-4)
    assert got["subset"]["image_dir"] == str(skull20) and got["subset"]["caption_extension"] == ".txt"
    first, second = got["prompts"]
    assert (first["prompt"], first["negative_prompt"], first["sample_steps"], first["seed"]) == (
        "A watercolor painting of CSKULL", "blurry", 20, 42)
    assert (second["prompt"], second["negative_prompt"], second["sample_steps"], second["seed"]) == (
        "CSKULL on a desk", "text", 28, 7)
    assert (second["width"], second["height"], second["guidance_scale"]) == (1024, 1024, 4.0)  # --g: FLUX guidance


def test_ai_toolkit_reads_the_settings_case(skull20: Path, tmp_path: Path) -> None:
    python, src = _python("ai-toolkit")
    _render("ai-toolkit", skull20, tmp_path)
    got = _run(python, src, AITK_SCRIPT, tmp_path)
    assert got["train"] == {"noise_offset": 0.05, "loss_type": "pseudo_huber"}
    assert got["model"] == {"quantize": False, "quantize_te": False}  # 80 GB: nothing quantised
    assert got["sample"]["neg"] == "blurry"
    first, second = got["sample"]["items"][:2]
    # ai-toolkit puts the trigger word in at sampling time (trigger_word), so the prompts keep [trigger]
    assert (first["prompt"], first["neg"], first["sample_steps"]) == ("A watercolor painting of [trigger]", "blurry",
                                                                      20)
    assert (second["prompt"], second["neg"], second["sample_steps"], second["seed"]) == ("[trigger] on a desk",
                                                                                       "text", 28, 7)
