"""The model card: YAML front matter the Hub reads (base model, licence, tags, trigger, widget) and a body that
says how to use the LoRA and why each training value is what it is."""

from __future__ import annotations

from typing import Any

# Licences of the FLUX.1 bases, as their Hub repos declare them.
LICENCES = {
    "black-forest-labs/FLUX.1-dev": {"license": "other", "license_name": "flux-1-dev-non-commercial-license",
                                     "license_link": "https://huggingface.co/black-forest-labs/FLUX.1-dev/blob/main/LICENSE.md"},
    "black-forest-labs/FLUX.1-schnell": {"license": "apache-2.0"},
}
TAGS = ["flux", "lora", "text-to-image", "diffusers", "fluxgen"]


def front_matter(info: dict[str, Any]) -> dict[str, Any]:
    meta: dict[str, Any] = {}
    base = info.get("base_model")
    if base:
        meta["base_model"] = base
        meta["base_model_relation"] = "adapter"
    meta.update(LICENCES.get(base or "", {"license": "other"}))
    meta["tags"] = TAGS + [info["kind"]]
    meta["pipeline_tag"] = "text-to-image"
    if info.get("trigger"):
        meta["instance_prompt"] = info["trigger"]
    if info.get("widget"):
        meta["widget"] = [{"text": w["prompt"], "output": {"url": w["file"]}} for w in info["widget"]]
    return meta


def render_card(info: dict[str, Any]) -> str:
    """The whole README.md; YAML through PyYAML's safe dumper, so any prompt or name is quoted correctly."""
    import yaml

    meta = yaml.safe_dump(front_matter(info), sort_keys=False, allow_unicode=True, width=1000)
    return f"---\n{meta}---\n\n" + "\n".join(_body(info)) + "\n"


def _body(info: dict[str, Any]) -> list[str]:
    name, trigger, lora = info["name"], info.get("trigger"), info["files"][0]
    lines = [f"# {name}", "",
             f"A FLUX.1 {info['kind']} LoRA" + (f" with the trigger `{trigger}`" if trigger else "") +
             f", trained for {info['steps']} steps with {info['backend']} and planned by fluxgen.", ""]
    lines += ["## Files", ""] + [f"- `{f['file']}`: {f['note']}" for f in info["files"]] + [
        "- `intent.yaml`, `plan.json`: what was asked for and every resolved value with its origin",
        "- `samples/`, `eval/`: the images below and the evaluation sheets", ""]
    lines += _usage(info, lora)
    lines += _evaluation(info)
    lines += ["## Training values", "", "| value | setting | why |", "|---|---|---|"]
    lines += [f"| {k} | {_cell(v)} | {_cell(info['origins'].get(k, ''))} |" for k, v in info["values"].items()]
    return lines


def _usage(info: dict[str, Any], lora: dict[str, str]) -> list[str]:
    prompt = (info.get("widget") or [{"prompt": info.get("trigger") or "a photo"}])[0]["prompt"]
    low, high = info["strength_range"]
    base = info.get("base_model") or "black-forest-labs/FLUX.1-dev"
    return ["## Use it", "",
            f"Strength: {info['strength_note']}. seed:003's table: 0.5-0.7 subtle, 0.8-1.0 balanced, 1.0-1.2 "
            "strong, 1.3+ overpowering; stacked with other LoRAs, keep the total under 1.5-1.8.", "",
            "**diffusers**", "", "```python", "import torch", "from diffusers import FluxPipeline", "",
            f'pipe = FluxPipeline.from_pretrained("{base}", torch_dtype=torch.bfloat16).to("cuda")',
            f'pipe.load_lora_weights("{info["repo"]}", weight_name="{lora["file"]}", adapter_name="lora")',
            f'pipe.set_adapters(["lora"], [{info["strength"]}])',
            f"image = pipe({_py(prompt)}, num_inference_steps=28, guidance_scale=3.5).images[0]", "```", "",
            f"**ComfyUI, Forge**: put `{lora['file']}` in `models/loras` and load it with a LoRA loader "
            f"(model only) at strength {low}-{high}; the file uses kohya keys with `.alpha`, the format these "
            "load most reliably.", ""]


def _evaluation(info: dict[str, Any]) -> list[str]:
    ev = info.get("evaluation")
    if not ev:
        return ["## Evaluation", "", "Not evaluated (`fluxgen eval RUN` adds the numbers here).", ""]
    lines = ["## Evaluation", "", ev["headline"], "",
             "| step | strength | DINO | CLIP-I | CLIP-T | copy |", "|---|---|---|---|---|---|"]
    lines += [f"| {r['step']} | {r['strength']:g} | {r['dino']:.3f} | {r['clip_i']:.3f} | {r['clip_t']:.3f} | "
              f"{r['copy']:.3f} |" for r in ev["rows"]]
    lines += ["", "Rule: " + "; ".join(f"{r['name']}: {r['value']} ({r['origin']})" for r in ev["rule"]), ""]
    lines += [f"![{s['prompt']}]({s['file']})" for s in ev["sheets"]] + [""]
    return lines


def _cell(value: Any) -> str:
    import json

    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    return text.replace("|", "\\|").replace("\n", " ")


def _py(text: str) -> str:
    import json

    return json.dumps(text, ensure_ascii=False)
