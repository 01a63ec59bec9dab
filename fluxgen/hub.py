"""`hf://repo/file` model references, resolved through the Hugging Face cache; offline unless asked to download.

Plans name the single files sd-scripts needs as `hf://org/name/file` (reference sd-scripts.md §8). Training
needs local paths, so `train` resolves them here before anything is written or launched: from the cache by
default, from the hub only with `--download`. Gated repositories (FLUX.1-dev) need an accepted licence and a token.
"""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fluxgen.errors import UserError

if TYPE_CHECKING:
    from fluxgen.plan import Plan

SCHEME = "hf://"
TOKEN_VARS = ("HF_TOKEN", "HUGGING_FACE_HUB_TOKEN")
MODEL_FILE_KEYS = ("model.transformer", "model.clip_l", "model.t5xxl", "model.ae")


def parse_ref(ref: str) -> tuple[str, str] | None:
    """`hf://org/name/path/in/repo` → (`org/name`, `path/in/repo`); None when `ref` is not a hub reference."""
    if not isinstance(ref, str) or not ref.startswith(SCHEME):
        return None
    parts = ref[len(SCHEME):].split("/")
    if len(parts) < 3 or not all(parts):
        raise UserError(f"{ref}: a hub reference is hf://<org>/<repo>/<file>; check the model.* value")
    return "/".join(parts[:2]), "/".join(parts[2:])


def hf_home() -> Path:
    return Path(os.environ.get("HF_HOME") or Path.home() / ".cache" / "huggingface").expanduser()


def cache_dir() -> Path:
    """Where huggingface_hub keeps downloads, read from the environment now (not at import time)."""
    explicit = os.environ.get("HF_HUB_CACHE") or os.environ.get("HUGGINGFACE_HUB_CACHE")
    return Path(explicit).expanduser() if explicit else hf_home() / "hub"


def token_source() -> str | None:
    """Where a Hugging Face token would come from (`$HF_TOKEN`, the login file), never the token itself."""
    for var in TOKEN_VARS:
        if os.environ.get(var):
            return f"${var}"
    path = Path(os.environ.get("HF_TOKEN_PATH") or hf_home() / "token").expanduser()
    if path.is_file() and path.read_text(encoding="utf-8", errors="replace").strip():
        return f"login file {path}"
    return None


def repo_url(repo: str) -> str:
    return f"https://huggingface.co/{repo}"


def cached_path(ref: str) -> Path | None:
    """The file of a hub reference in the local cache, or None when it has not been downloaded."""
    from huggingface_hub import try_to_load_from_cache

    repo, filename = parse_ref(ref) or (None, None)
    if repo is None:
        return None
    found = try_to_load_from_cache(repo, filename, cache_dir=str(cache_dir()))
    return Path(found) if isinstance(found, str) and Path(found).is_file() else None


def resolve(ref: str, *, download: bool = False) -> Path:
    """A local file for `ref`: from the cache, else (with download) from the hub; one clear line if neither."""
    repo, filename = parse_ref(ref) or (None, None)
    if repo is None:
        return Path(ref)
    found = cached_path(ref)
    if found is not None:
        return found
    if not download:
        raise UserError(f"{ref}: not in the Hugging Face cache ({cache_dir()}); pass --download to fetch it"
                        f"{_gated_hint(repo)}, or point the plan at a local file (--set "
                        f"model.<part>=/path/to/{Path(filename).name})")
    return _download(ref, repo, filename)


def _gated_hint(repo: str) -> str:
    if "black-forest-labs/FLUX.1-dev" not in repo:
        return ""
    return f" (FLUX.1-dev is gated: accept its licence at {repo_url(repo)} and set HF_TOKEN first)"


def _download(ref: str, repo: str, filename: str) -> Path:
    from huggingface_hub import hf_hub_download
    from huggingface_hub.errors import (
        EntryNotFoundError,
        GatedRepoError,
        HfHubHTTPError,
        LocalEntryNotFoundError,
        RepositoryNotFoundError,
    )

    if os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in ("1", "true", "yes", "on"):
        raise UserError(f"{ref}: HF_HUB_OFFLINE is set, so nothing can be downloaded; unset it to use --download")
    try:
        return Path(hf_hub_download(repo, filename, cache_dir=str(cache_dir())))
    except GatedRepoError:
        has_token = token_source() is not None
        what = ("the token fluxgen found has not been granted access" if has_token else "no Hugging Face token is set")
        raise UserError(f"{ref}: {repo} is gated and {what}; accept the licence at {repo_url(repo)} and set "
                        "HF_TOKEN to a read token (https://huggingface.co/settings/tokens)") from None
    except RepositoryNotFoundError:
        raise UserError(f"{ref}: no repository {repo} on the hub (or it is private and HF_TOKEN is not set); "
                        "check the name") from None
    except EntryNotFoundError:
        raise UserError(f"{ref}: {repo} has no file {filename}; check the file name at {repo_url(repo)}") from None
    except (LocalEntryNotFoundError, HfHubHTTPError, OSError) as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise UserError(f"{ref}: could not download it ({reason}); check the network and try again") from None


def hub_refs(values: dict[str, Any]) -> dict[str, str]:
    """The plan values that are still hub references."""
    return {k: v for k in MODEL_FILE_KEYS if isinstance(v := values.get(k), str) and v.startswith(SCHEME)}


def resolve_plan(plan: Plan, *, download: bool = False) -> Any:
    """A copy of the plan with every `hf://` model file replaced by its local path (origins say so)."""
    from fluxgen.origin import Origin

    refs = hub_refs(plan.values)
    if not refs:
        return plan
    values, origins = dict(plan.values), dict(plan.origins)
    for key, ref in refs.items():
        values[key] = str(resolve(ref, download=download))
        origin = origins.get(key, "plan")
        origins[key] = (origin if isinstance(origin, Origin) else Origin(origin)).resolved(ref)
    return replace(plan, values=values, origins=origins)


def resolve_cached(plan: Any) -> Any:
    """A copy of the plan with the `hf://` files already in the local cache replaced by their paths, so a rendered
    file runs by hand; the others stay references (the file and `fluxgen validate` say so). Never downloads."""
    cached = {k: path for k, ref in hub_refs(plan.values).items() if (path := cached_path(ref)) is not None}
    if not cached:
        return plan
    values, origins = dict(plan.values), dict(plan.origins)
    for key, path in cached.items():
        origins[key] = f"{origins.get(key, 'plan')}; {values[key]} found in the Hugging Face cache"
        values[key] = str(path)
    return replace(plan, values=values, origins=origins)
