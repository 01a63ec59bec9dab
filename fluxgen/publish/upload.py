"""Uploading the folder with huggingface_hub: `create_repo` (exist_ok, so a rerun updates the same repo) and
`upload_folder`. The token comes from HF_TOKEN or the hub's own login and is passed only to the hub client."""

from __future__ import annotations

import os
from pathlib import Path

from fluxgen.errors import UserError
from fluxgen.publish.folder import MARKER


def find_token() -> str:
    from huggingface_hub import get_token

    token = os.environ.get("HF_TOKEN") or get_token()
    if not token:
        raise UserError("no Hugging Face token: set HF_TOKEN or run `hf auth login`, then rerun "
                        "(or use --dry-run to only write the folder)")
    return token


def upload(folder: Path, repo: str, private: bool) -> str:
    """Create (or reuse) the repo and upload the folder in one commit; every failure is one line."""
    from huggingface_hub import HfApi, is_offline_mode

    if is_offline_mode():
        raise UserError("HF_HUB_OFFLINE is set: publishing needs the network; unset it (or use --dry-run)")
    api = HfApi(endpoint=os.environ.get("HF_ENDPOINT") or None, token=find_token())
    try:
        url = api.create_repo(repo, repo_type="model", private=private, exist_ok=True)
    except Exception as exc:
        raise UserError(_explain(exc, repo, "create the repo")) from None
    try:
        api.upload_folder(repo_id=repo, folder_path=str(folder), repo_type="model",
                          commit_message="Upload LoRA with fluxgen", ignore_patterns=[MARKER])
    except Exception as exc:
        raise UserError(_explain(exc, repo, "upload the folder") + f"; the folder is kept at {folder}") from None
    return str(url)


def _explain(exc: Exception, repo: str, doing: str) -> str:
    """Hub errors → what to do. Never includes request headers (the token travels there)."""
    status = getattr(getattr(exc, "response", None), "status_code", None)
    name = type(exc).__name__
    if status in (401,):
        return f"cannot {doing} {repo}: the token was refused (401); log in again with `hf auth login` or set HF_TOKEN"
    if status in (403, 409):
        return (f"cannot {doing} {repo}: the name is taken by someone else or the token may not write to "
                f"'{repo.split('/')[0]}' ({status}); choose another --repo or a token with write access")
    if status is not None:
        return f"cannot {doing} {repo}: the Hub answered {status}; rerun `fluxgen publish` to retry"
    if "Connect" in name or "Timeout" in name or "Offline" in name or isinstance(exc, OSError):
        return f"cannot {doing} {repo}: the Hub cannot be reached ({name}); check the network and rerun"
    return f"cannot {doing} {repo}: {name}"
