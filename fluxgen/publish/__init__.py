"""`fluxgen publish`: a run folder → the folder a Hugging Face model repo needs (LoRA, card, samples, plan),
uploaded with huggingface_hub."""
