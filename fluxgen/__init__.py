"""fluxgen: FLUX.1 LoRA training intents → trainer configs, datasets checked, runs recorded."""

__version__ = "0.1.0"
