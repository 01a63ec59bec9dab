"""The builtin FLUX.1 LoRA trainer (diffusers + peft + torch), run as `python -m fluxgen.trainer CONFIG.yaml`.

Importing this package imports nothing heavy; torch and diffusers load only when training starts.
"""
