"""Trainer environments fluxgen builds, locks and finds (`fluxgen setup`).

Generic machinery over a backend's `EnvRecipe`: `source` fetches the trainer at its pin, `torchsel` picks the torch
build for the machine, `pip` runs pip and turns its failures into one line, `build` assembles an environment in its
own folder and swaps it in, `lock` writes and compares `env.lock.json`, `home` says where environments live.
"""
