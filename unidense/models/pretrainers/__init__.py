"""Models that pretrain the tiny family's parts (VAE, text-to-image
denoisers, the scene classifier behind the tiny generation metrics) with
unidense's own tools; see ``configs/pretrain/``."""
from .scene_classifier import (SceneAttributeCLIP,  # noqa: F401
                               SceneCaptionProcessor, SceneClassifierLogits,
                               SceneClassifierPretrainer)
from .text_to_image_pretrainer import TextToImagePretrainer  # noqa: F401
from .vae_pretrainer import VAEPretrainer  # noqa: F401
