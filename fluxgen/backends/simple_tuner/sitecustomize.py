"""Installed into SimpleTuner's environment by `fluxgen setup`: its collate pins every batch's memory, which fails
when no accelerator is present; without one, pinning is made a no-op so training runs on the CPU. The patch is
applied when torch is first imported, so other programs of the environment (pip) do not pay for importing torch."""

import importlib.abc
import importlib.util
import sys


def _patch(torch) -> None:
    try:
        present = torch.cuda.is_available() or (hasattr(torch, "xpu") and torch.xpu.is_available()) or (
            hasattr(torch.backends, "mps") and torch.backends.mps.is_available())
        if not present:
            torch.Tensor.pin_memory = lambda self, *args, **kwargs: self
    except Exception:  # never break the import of torch
        pass


class _PatchTorchOnImport(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path, target=None):
        if name != "torch":
            return None
        sys.meta_path.remove(self)
        spec = importlib.util.find_spec("torch")
        if spec is None or spec.loader is None:
            return spec
        run = spec.loader.exec_module

        def exec_module(module):
            run(module)
            _patch(module)

        spec.loader.exec_module = exec_module
        return spec


if "torch" in sys.modules:
    _patch(sys.modules["torch"])
else:
    sys.meta_path.insert(0, _PatchTorchOnImport())
