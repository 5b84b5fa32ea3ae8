"""Sampling procedures built on registered models (latent depth estimation,
ensembling, ...). Plain functions of tensors plus a few registered helpers."""
from .depth_ensemble import DepthEnsemble, ensemble_depth
from .latent_depth_estimation import (depth_to_unit_range,
                                      flow_match_timestep_kwargs,
                                      processing_size,
                                      resize_to_processing_res,
                                      restore_to_input_size,
                                      sample_depth_latents)
from .text_to_image import build_text_to_image_pipeline, generate_images
from .joint_sampling import (classifier_free_guidance, latent_mask,
                             preset_masks, sample_joint_latents)
from .partial_regeneration import (generative_parts,
                                   partial_noise_timesteps,
                                   regenerate_images)
from .tiled_denoising import TiledDenoiser, decode_wrapped, ramp_weights

__all__ = [
    'DepthEnsemble', 'ensemble_depth',
    'depth_to_unit_range', 'flow_match_timestep_kwargs', 'processing_size',
    'resize_to_processing_res', 'restore_to_input_size',
    'sample_depth_latents', 'build_text_to_image_pipeline', 'generate_images',
    'classifier_free_guidance', 'latent_mask', 'preset_masks',
    'sample_joint_latents', 'TiledDenoiser', 'decode_wrapped',
    'ramp_weights', 'generative_parts', 'partial_noise_timesteps',
    'regenerate_images'
]
