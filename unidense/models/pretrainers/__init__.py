"""Models that pretrain the tiny family's parts (VAE, text-to-image
denoisers) with unidense's own tools; see ``configs/pretrain/``."""
from .text_to_image_pretrainer import TextToImagePretrainer  # noqa: F401
from .vae_pretrainer import VAEPretrainer  # noqa: F401
