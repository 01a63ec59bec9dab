"""Run by sd-scripts' own Python from a folder of rendered files: its parser reads args.toml the way
flux_train_network.py does at start, its ConfigSanitizer and BlueprintGenerator read dataset.toml the way
train_network.train does, the datasets are built on the real images, and FluxNetworkTrainer's own argument checks
run; prints what it ended up with as one JSON line. Usage: python sd_scripts_probe.py SRC_DIR"""

from __future__ import annotations

import json
import sys


def main(src: str) -> None:
    sys.path.insert(0, src)
    sys.argv = ["flux_train_network.py", "--config_file", "args.toml"]
    import importlib

    import flux_train_network
    from library import config_util, strategy_base, train_util

    parser = flux_train_network.setup_parser()
    args = parser.parse_args()
    train_util.verify_command_line_training_args(args)
    args = train_util.read_config_from_file(args, parser)
    train_util.verify_training_args(args)
    train_util.prepare_dataset_args(args, True)
    trainer = flux_train_network.FluxNetworkTrainer()
    strategy_base.LatentsCachingStrategy.set_strategy(trainer.get_latents_caching_strategy(args))
    sanitizer = config_util.ConfigSanitizer(True, True, args.masked_loss, True)
    blueprint = config_util.BlueprintGenerator(sanitizer).generate(config_util.load_user_config(args.dataset_config),
                                                                   args)
    train, _ = config_util.generate_dataset_group_by_blueprint(blueprint.dataset_group)
    trainer.assert_extra_args(args, train, None)
    network = importlib.import_module(args.network_module)
    keys = ("pretrained_model_name_or_path", "clip_l", "t5xxl", "ae", "network_module", "network_dim",
            "network_alpha", "optimizer_type", "learning_rate", "max_train_steps", "mixed_precision", "save_precision",
            "output_dir", "output_name", "save_every_n_steps", "timestep_sampling", "guidance_scale", "seed",
            "cache_latents", "cache_text_encoder_outputs", "gradient_checkpointing", "max_data_loader_n_workers")
    subsets = [{"image_dir": s.image_dir, "num_repeats": s.num_repeats, "caption_extension": s.caption_extension,
                "class_tokens": s.class_tokens, "is_reg": s.is_reg,
                "caption_dropout_rate": s.caption_dropout_rate, "shuffle_caption": s.shuffle_caption,
                "keep_tokens": s.keep_tokens}
               for d in blueprint.dataset_group.datasets for s in d.subsets for s in [s.params]]
    print(json.dumps({"args": {k: getattr(args, k) for k in keys}, "subsets": subsets,
                      "resolutions": [list(d.params.resolution) for d in blueprint.dataset_group.datasets],
                      "batch_sizes": [d.params.batch_size for d in blueprint.dataset_group.datasets],
                      "buckets": [[d.params.enable_bucket, d.params.min_bucket_reso, d.params.max_bucket_reso,
                                   d.params.bucket_reso_steps, d.params.bucket_no_upscale]
                                  for d in blueprint.dataset_group.datasets],
                      "images": train.num_train_images, "reg_images": train.num_reg_images,
                      "trainer_checks": {"use_clip_l": trainer.use_clip_l, "train_clip_l": trainer.train_clip_l},
                      "network_has_create_network": hasattr(network, "create_network")}))


if __name__ == "__main__":
    main(sys.argv[1])
