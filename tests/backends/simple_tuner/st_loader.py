"""Run inside SimpleTuner's own Python: load config files with SimpleTuner's own loaders and print what they say.

    <simpletuner-python> st_loader.py config FILE.json      -> {"ok": bool, "errors": [...], "args": {...}}
    <simpletuner-python> st_loader.py datasets FILE.json [CONFIG.json]
    <simpletuner-python> st_loader.py corpus FOLDER...       -> {"<folder index>:<relative path>": verdict}

`config` goes through SimpleTuner's JSON loader and argument parser (`load_config`); `datasets` builds and validates
each entry with its data-backend config classes (`create_backend_config(...).validate`), with the args of CONFIG
when given. Test helper only: fluxgen never imports SimpleTuner.
"""

import contextlib
import io
import json
import os
import sys


def load_config_file(path):
    os.environ["CONFIG_BACKEND"] = "json"
    os.environ["CONFIG_PATH"] = os.path.abspath(path)
    os.environ.pop("ENV", None)
    from simpletuner.helpers.configuration.loader import load_config

    err = io.StringIO()
    try:
        with contextlib.redirect_stderr(err):
            args = load_config(None, exit_on_error=True)
    except SystemExit:
        lines = [ln for ln in err.getvalue().splitlines() if ": error: " in ln]
        return {"ok": False, "errors": [ln.split(": error: ", 1)[1] for ln in lines] or [err.getvalue()[-500:]]}
    except Exception as exc:  # SimpleTuner's post-parse checks raise ValueError and friends
        return {"ok": False, "errors": [f"{type(exc).__name__}: {exc}"]}
    if args is None:
        return {"ok": False, "errors": ["parser returned nothing"]}
    return {"ok": True, "errors": [], "args": {k: _plain(v) for k, v in vars(args).items()}}


def _plain(v):
    return v if isinstance(v, (str, int, float, bool, type(None), list, dict)) else str(v)


def check_datasets(path, config_path=None):
    from simpletuner.helpers.data_backend.config import create_backend_config

    args = {}
    if config_path:
        loaded = load_config_file(config_path)
        args = loaded.get("args", {})
    with open(path, encoding="utf-8") as f:
        entries = json.load(f)
    errors = []
    for i, entry in enumerate(entries):
        try:
            create_backend_config(entry, args).validate(args)
        except Exception as exc:
            errors.append(f"{i}: {type(exc).__name__}: {exc}")
    return {"ok": not errors, "errors": errors}


def role(path):
    """How SimpleTuner uses an example file, by its name."""
    name = os.path.basename(path)
    if name == "config.json":
        return "config"
    if "dataloader" in name or "databackend" in name:
        return "datasets"
    return "other"


def corpus(folder):
    """Every JSON file under SimpleTuner's examples folder with its loaders' verdict (one process for all)."""
    results = {}
    for root, _, names in os.walk(folder):
        for name in sorted(names):
            path = os.path.join(root, name)
            if not name.endswith(".json") or role(path) == "other":
                continue
            rel = os.path.relpath(path, folder)
            if role(path) == "config":
                got = load_config_file(path)
                got.pop("args", None)
            else:
                got = check_datasets(path)
            results[rel] = got
    return results


if __name__ == "__main__":
    what, target = sys.argv[1], sys.argv[2]
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        if what == "corpus":
            result = {f"{i}:{rel}": got for i, folder in enumerate(sys.argv[2:]) for rel, got in corpus(folder).items()}
        else:
            result = load_config_file(target) if what == "config" else check_datasets(target, *sys.argv[3:4])
    print("ST-LOADER " + json.dumps(result))
