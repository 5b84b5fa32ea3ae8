"""Image captioners (Diff-2-in-1's data creation captions its images)."""
from .blip2_captioner import Blip2Captioner

__all__ = ['Blip2Captioner']
