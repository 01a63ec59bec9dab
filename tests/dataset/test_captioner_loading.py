"""Loading a captioner: every way a checkpoint can be missing ends in one line naming the fix."""

from __future__ import annotations

import pytest

from fluxgen.dataset.captioners import load_captioner
from fluxgen.dataset.captioners.base import load_pretrained
from fluxgen.errors import UserError


def _raises(exc: Exception):
    def load(model_id, **_kwargs):
        raise exc
    return load


def test_gated_model_says_to_accept_the_licence_and_set_a_token():
    message = ("You are trying to access a gated repo. Make sure to have access to it at "
               "https://huggingface.co/Salesforce/blip2-opt-2.7b. 401 Client Error.")
    with pytest.raises(UserError) as info:
        load_pretrained(_raises(OSError(message)), "Salesforce/blip2-opt-2.7b", "blip2")
    assert str(info.value) == ("blip2 'Salesforce/blip2-opt-2.7b' is gated: accept its licence at "
                               "https://huggingface.co/Salesforce/blip2-opt-2.7b and set HF_TOKEN (or run `hf auth "
                               "login`)")


def test_offline_and_not_cached_says_what_to_download(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(UserError, match=r"^florence2 'florence-community/Florence-2-base' is not in the Hugging "
                                        r"Face cache and the hub is offline; download it .*`hf download "
                                        r"florence-community/Florence-2-base`"):
        load_captioner("florence2", device="cpu")


def test_a_folder_that_is_not_a_checkpoint(tmp_path):
    (tmp_path / "config.json").write_text("{}")
    with pytest.raises(UserError, match=f"^{tmp_path}: not a florence2 checkpoint this transformers can load"):
        load_captioner("florence2", model=str(tmp_path), device="cpu")


def test_unknown_captioner_and_florence_prompt():
    with pytest.raises(UserError, match="unknown \\(did you mean 'blip2'\\?\\)"):
        load_captioner("blip3")
    with pytest.raises(UserError, match="Florence-2 takes one of its task tokens"):
        load_captioner("florence2", prompt="describe it", device="cpu")
