"""sd-scripts dataset TOML: the voluptuous schema level by level, and the rules that need the options too."""

from __future__ import annotations

import pytest

from fluxgen.validate import validate_file, validate_sd_dataset

D = "datasets[0]"
S = "datasets[0].subsets[0]"


def test_real_captured_dataset_has_no_findings(shared) -> None:
    report = validate_file(shared / "logs" / "sd-scripts" / "dataset.toml")
    assert report.kind == "sd-scripts-dataset"
    assert report.findings == []


def test_clean_dataset_has_no_findings(dataset) -> None:
    assert validate_sd_dataset(dataset(), "d.toml").findings == []


@pytest.mark.parametrize(("path", "value", "severity", "match"), [
    (f"{D}.network_multiplier", 1, "error", r"expected float, got an int \(1\)"),
    (f"{D}.validation_split", 0, "error", "expected float"),
    (f"{S}.num_repeats", 1.5, "error", "expected int, got a float"),
    (f"{D}.resolution", "512", "error", r"expected int or \[int,int\], got a string"),
    (f"{D}.resolution", [512, 768, 1024], "error", "expected int or"),
    (f"{D}.resolution", [512.0, 768.0], "error", "expected int or"),
    (f"{S}.face_crop_aug_range", [1, 2], "error", r"expected \[float,float\]"),
    (f"{S}.shuffle_caption", "false", "error", "expected bool"),
    (f"{S}.num_repeats", True, "warning", "voluptuous accepts it as 1"),
    ("general.caption_extension", 1, "error", "expected str"),
])
def test_types_exactly_as_voluptuous(dataset, expect, path, value, severity, match) -> None:
    expect(validate_sd_dataset(dataset({path: value}), "d.toml"), severity, path, match)


def test_fix_says_write_1_0(dataset) -> None:
    report = validate_sd_dataset(dataset({f"{D}.network_multiplier": 1}), "d.toml")
    assert report.errors[0].fix == "write 1.0"


@pytest.mark.parametrize(("path", "value"), [
    (f"{D}.caption_dropout_rate", 0), (f"{D}.caption_dropout_rate", 0.1), (f"{D}.resolution", [1024, 768]),
    (f"{S}.token_warmup_step", 1.5), (f"{S}.face_crop_aug_range", [0.3, 0.7]), (f"{S}.custom_attributes", {"a": 1}),
    (f"{D}.network_multiplier", 1.0),
])
def test_accepted_types(dataset, path, value) -> None:
    assert validate_sd_dataset(dataset({path: value}), "d.toml").findings == []


@pytest.mark.parametrize(("path", "match"), [
    ("general.image_dir", r"not allowed in \[general\]; it belongs in \[\[datasets.subsets\]\]"),
    (f"{S}.batch_size", r"not allowed in \[\[datasets.subsets\]\]; it belongs in \[general\] and \[\[datasets\]\]"),
    (f"{D}.caption_extention", r"unknown key \(did you mean 'caption_extension'\?\)"),
    (f"{S}.foo", "unknown key"),
    ("settings", r"only \[general\] and \[\[datasets\]\] may be at the top"),
])
def test_extra_keys_rejected_at_every_level(dataset, expect, path, match) -> None:
    value = "x" if "image_dir" in path or path == "settings" else 1
    expect(validate_sd_dataset(dataset({path: value}), "d.toml"), "error", path, match)


def test_required_and_mixed_subsets(dataset, expect, delete) -> None:
    expect(validate_sd_dataset(dataset({f"{S}.image_dir": delete}), "d"), "error", f"{S}.image_dir",
           "required key not provided")
    mixed = dataset()
    mixed["datasets"][0]["subsets"].append({"metadata_file": "meta.json", "image_dir": "/x"})
    expect(validate_sd_dataset(mixed, "d"), "error", D, "cannot be mixed in one dataset")


@pytest.mark.parametrize(("changes", "path", "match"), [
    ({"datasets": []}, "datasets", "nothing to train on"),
    ({f"{D}.subsets": []}, f"{D}.subsets", "this dataset adds no images; .* 'No data found'"),
    ({"general": "x"}, "general", "must be a table"),
    ({"datasets[0]": "x"}, D, "must be a table"),
])
def test_structure(dataset, expect, changes, path, match) -> None:
    expect(validate_sd_dataset(dataset(changes), "d"), "error", path, match)


def test_rules_on_resolved_values(dataset, expect, delete) -> None:
    report = validate_sd_dataset(dataset({f"{D}.resolution": delete}), "d")
    expect(report, "warning", f"{D}.resolution", "needs --resolution")
    assert validate_sd_dataset(dataset({f"{D}.resolution": delete}), "d", args={"resolution": "1024"}).ok
    expect(validate_sd_dataset(dataset({f"{D}.bucket_reso_steps": 32}), "d"), "error", f"{D}.bucket_reso_steps",
           "not a multiple of 64")
    expect(validate_sd_dataset(dataset({"general.caption_extension": delete}), "d"), "warning",
           f"{S}.caption_extension", r"read from '.caption' files")
    expect(validate_sd_dataset(dataset({f"{S}.conditioning_data_dir": "/c"}), "d"), "warning",
           f"{S}.conditioning_data_dir", "--masked_loss")


@pytest.mark.parametrize(("changes", "args", "path", "match"), [
    ({"general.shuffle_caption": True}, {"cache_text_encoder_outputs": True}, "general.shuffle_caption",
     "while caching text encoder outputs"),
    ({f"{D}.caption_dropout_rate": 0.1}, {"cache_text_encoder_outputs_to_disk": True}, f"{D}.caption_dropout_rate",
     "while caching text encoder outputs"),
    ({f"{S}.caption_tag_dropout_rate": 0.2}, {"cache_text_encoder_outputs": True}, f"{S}.caption_tag_dropout_rate",
     "while caching text encoder outputs"),
    ({f"{S}.color_aug": True}, {"cache_latents": True}, f"{S}.color_aug", "while caching latents"),
    ({"general.random_crop": True}, {"cache_latents_to_disk": True}, "general.random_crop", "while caching latents"),
])
def test_rules_that_need_the_options(dataset, expect, changes, args, path, match) -> None:
    report = validate_sd_dataset(dataset(changes), "d.toml", args=args)
    expect(report, "error", path, match)
    assert validate_sd_dataset(dataset(changes), "d.toml").ok
