"""Installed into SimpleTuner's environment by `fluxgen setup`: its collate pins every batch's memory, which fails
when no accelerator is present; without one, pinning is made a no-op so training runs on the CPU."""

try:
    import torch

    def _accelerator_present() -> bool:
        return torch.cuda.is_available() or (hasattr(torch, "xpu") and torch.xpu.is_available()) or (
            hasattr(torch.backends, "mps") and torch.backends.mps.is_available())

    if not _accelerator_present():
        torch.Tensor.pin_memory = lambda self, *args, **kwargs: self
except Exception:  # never break the interpreter's start-up
    pass
