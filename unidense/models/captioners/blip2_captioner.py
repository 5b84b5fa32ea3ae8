"""BLIP-2 image captioning through transformers (Diff-2-in-1 §3.2)."""
from typing import List, Optional, Union

import torch
import torch.nn as nn
import torch.nn.functional as F

from unidense.registry import MODELS

# BLIP-2's image normalisation (OpenAI CLIP statistics)
_MEAN = (0.48145466, 0.4578275, 0.40821073)
_STD = (0.26862954, 0.26130258, 0.27577711)


@MODELS.register_module()
class Blip2Captioner(nn.Module):
    """Captions images with ``Blip2ForConditionalGeneration``.

    ``captioner(images (B, 3, H, W) RGB in [0, 1]) -> list of B captions``:
    images are resized (bilinear, antialiased) to the vision tower's size
    and normalised with CLIP's statistics, as ``Blip2Processor`` does;
    greedy decoding of ``max_new_tokens``.

    Args:
        pretrained (str, optional): hub id or local folder of a BLIP-2
            checkpoint with its tokenizer (Diff-2-in-1:
            ``Salesforce/blip2-opt-2.7b``); loaded with ``from_pretrained``
            (offline: a local folder).
        config (dict, optional): a ``Blip2Config`` as a dict for a randomly
            initialised model (tests); needs ``tokenizer``.
        tokenizer (dict | object, optional): TASK_UTILS / MODELS config
            (e.g. ``ByteTokenizer``) or tokenizer object that decodes the generated ids (default: the
            checkpoint's ``AutoTokenizer``).
        prompt (str, optional): text prefix (e.g. 'a photo of').
        max_new_tokens (int): caption length limit.
    """

    def __init__(self, pretrained: Optional[str] = None,
                 config: Optional[dict] = None,
                 tokenizer: Union[dict, object, None] = None,
                 prompt: Optional[str] = None, max_new_tokens: int = 30):
        super().__init__()
        from transformers import Blip2Config, Blip2ForConditionalGeneration
        if (pretrained is None) == (config is None):
            raise ValueError('Blip2Captioner: give `pretrained` (a hub id or '
                             'local folder) or `config` (random init)')
        if pretrained is not None:
            self.model = Blip2ForConditionalGeneration.from_pretrained(
                pretrained)
        else:
            self.model = Blip2ForConditionalGeneration(
                Blip2Config(**dict(config)))
        if isinstance(tokenizer, dict):
            from unidense.registry import TASK_UTILS
            tokenizer = (TASK_UTILS if TASK_UTILS.get(tokenizer['type'])
                         else MODELS).build(tokenizer)
        if tokenizer is None:
            if pretrained is None:
                raise ValueError('Blip2Captioner: a randomly initialised '
                                 'model needs a `tokenizer`')
            from transformers import AutoTokenizer
            tokenizer = AutoTokenizer.from_pretrained(pretrained)
        self.tokenizer = tokenizer
        self.prompt = prompt
        self.max_new_tokens = int(max_new_tokens)
        self.model.requires_grad_(False).eval()
        self.register_buffer('mean', torch.tensor(_MEAN).view(1, 3, 1, 1),
                             persistent=False)
        self.register_buffer('std', torch.tensor(_STD).view(1, 3, 1, 1),
                             persistent=False)

    @property
    def image_size(self) -> int:
        return int(self.model.config.vision_config.image_size)

    @torch.no_grad()
    def forward(self, images: torch.Tensor) -> List[str]:
        if images.dim() != 4 or images.shape[1] != 3:
            raise ValueError(f'Blip2Captioner: images must be (B, 3, H, W) '
                             f'in [0, 1], got {tuple(images.shape)}')
        size = self.image_size
        x = F.interpolate(images.float(), size=(size, size), mode='bilinear',
                          align_corners=False, antialias=True)
        x = ((x - self.mean) / self.std).to(self.model.dtype)
        kwargs = {}
        if self.prompt:
            ids = self.tokenizer([self.prompt] * len(x), return_tensors='pt')
            kwargs['input_ids'] = ids['input_ids'].to(x.device)
        out = self.model.generate(pixel_values=x,
                                  max_new_tokens=self.max_new_tokens,
                                  do_sample=False, **kwargs)
        # generate returns the image-token prefix too: drop it
        n_query = int(self.model.config.num_query_tokens)
        image_token = getattr(self.model.config, 'image_token_index', None)
        if image_token is not None and out.shape[1] > n_query and bool(
                (out[:, :n_query] == image_token).all()):
            out = out[:, n_query:]
        if hasattr(self.tokenizer, 'batch_decode'):
            texts = self.tokenizer.batch_decode(out, skip_special_tokens=True)
        else:
            texts = [self.tokenizer.decode(ids.tolist()) for ids in out]
        return [t.strip() for t in texts]
