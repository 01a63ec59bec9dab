#!/bin/bash
# FLUX.1 LoRA on a 12 GB card: fp8 base, 16 blocks swapped, Adafactor with a fixed LR.
accelerate launch --mixed_precision bf16 --num_cpu_threads_per_process 1 flux_train_network.py \
  --pretrained_model_name_or_path /models/flux1-dev.safetensors \
  --clip_l /models/clip_l.safetensors --t5xxl /models/t5xxl_fp16.safetensors --ae /models/ae.safetensors \
  --cache_latents_to_disk --save_model_as safetensors --sdpa --persistent_data_loader_workers \
  --max_data_loader_n_workers 2 --seed 42 --gradient_checkpointing --mixed_precision bf16 --save_precision bf16 \
  --network_module networks.lora_flux --network_dim 4 --network_train_unet_only \
  --optimizer_type adafactor --optimizer_args "relative_step=False" "scale_parameter=False" "warmup_init=False" \
  --learning_rate 8e-4 --lr_scheduler constant_with_warmup --max_grad_norm 0.0 \
  --cache_text_encoder_outputs --cache_text_encoder_outputs_to_disk --fp8_base --blocks_to_swap 16 \
  --max_train_steps 800 --save_every_n_steps 200 \
  --dataset_config lowvram_dataset.toml --output_dir output --output_name teapot_lowvram \
  --timestep_sampling shift --discrete_flow_shift 3.1582 --model_prediction_type raw --guidance_scale 1.0
