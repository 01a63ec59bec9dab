"""`fluxgen eval`: generate a checkpoint × prompt × strength × seed grid with FluxPipeline, score every image
with CLIP and DINO against the prompt and the training images, and recommend a checkpoint and strength."""
