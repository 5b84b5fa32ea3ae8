"""Text conditioning: tokenizer(s) + text encoder(s) with a result cache."""
from collections import OrderedDict

import torch
import torch.nn as nn

from unidense.registry import MODELS, TASK_UTILS
from .freezing import freeze, keep_frozen_in_eval

_ROLES = ('sequence', 'pooled')


@MODELS.register_module()
class TextEncoder(nn.Module):
    """Prompts -> cross-attention tokens and/or a pooled vector, cached.

    One class covers every text set-up of the supported models::

        # SD-1.5 / SD-2.1: CLIP last hidden state, 77 tokens
        encoders=[dict(tokenizer=dict(type='CLIPTokenizer', ...),
                       encoder=dict(type='CLIPTextModel', ...),
                       role='sequence', max_length=77)]
        # PixArt-alpha: T5 tokens, 120, attention mask passed to T5
        encoders=[dict(tokenizer=..T5.., encoder=..T5EncoderModel..,
                       role='sequence', max_length=120)]
        # FLUX: pooled CLIP (768) + T5 sequence (512)
        encoders=[dict(..CLIP.., role='pooled', max_length=77),
                  dict(..T5.., role='sequence', max_length=512)]

    Args:
        encoders (list[dict]): per encoder: ``tokenizer`` (TASK_UTILS config
            or object), ``encoder`` (MODELS config or module), ``role``
            (``'sequence'`` or ``'pooled'``; at most one of each),
            ``max_length`` (defaults to the tokenizer's
            ``model_max_length``), ``pass_mask`` (give the attention mask to
            the encoder; default True for T5, False for CLIP as in the SD
            and FLUX pipelines), ``hidden_layer`` (sequence role only: index
            into ``hidden_states`` instead of the last hidden state, e.g.
            -2 for "CLIP skip").
        frozen (bool): freeze the encoders (requires_grad False, eval).
            Defaults to True.
        cache (bool): memoise results per (encoder, prompt). Only active
            while the encoders are frozen, since trainable encoders change.
            The empty prompt is pinned and never evicted.
        max_cache (int): entries kept per encoder (LRU). Defaults to 4096.

    ``encode(prompts)`` returns ``dict(embeds=(B, L, D) or None,
    mask=(B, L) bool or None, pooled=(B, P) or None)`` on the encoders'
    device and dtype. ``mask`` marks real tokens (SD's UNet ignores it;
    PixArt uses it).
    """

    def __init__(self, encoders, frozen=True, cache=True, max_cache=4096):
        super().__init__()
        if isinstance(encoders, dict):
            encoders = [encoders]
        if not encoders:
            raise ValueError('TextEncoder: `encoders` is empty')
        self.encoders = nn.ModuleList()
        self.tokenizers = []
        self.specs = []
        roles = []
        for i, spec in enumerate(encoders):
            spec = dict(spec)
            for key in ('tokenizer', 'encoder'):
                if key not in spec:
                    raise KeyError(f'TextEncoder: encoders[{i}] has no '
                                   f'`{key}`')
            role = spec.pop('role', 'sequence')
            if role not in _ROLES:
                raise ValueError(f'TextEncoder: encoders[{i}].role={role!r} '
                                 f'is not one of {_ROLES}')
            if role in roles:
                raise ValueError(f'TextEncoder: two encoders with role '
                                 f'{role!r} (encoders[{i}])')
            roles.append(role)
            tok = spec.pop('tokenizer')
            tok = TASK_UTILS.build(tok) if isinstance(tok, dict) else tok
            enc = spec.pop('encoder')
            enc = MODELS.build(enc) if isinstance(enc, dict) else enc
            is_t5 = 'T5' in type(enc).__name__
            max_length = spec.pop('max_length', None) or getattr(
                tok, 'model_max_length', 77)
            pass_mask = spec.pop('pass_mask', None)
            hidden_layer = spec.pop('hidden_layer', None)
            if spec:
                raise KeyError(f'TextEncoder: encoders[{i}] has unknown keys '
                               f'{sorted(spec)}')
            self.encoders.append(enc)
            self.tokenizers.append(tok)
            self.specs.append(dict(
                role=role, max_length=int(max_length),
                pass_mask=is_t5 if pass_mask is None else bool(pass_mask),
                hidden_layer=hidden_layer))
        if frozen:
            for enc in self.encoders:
                freeze(enc)
        self.frozen = frozen
        self.use_cache = cache
        self.max_cache = int(max_cache)
        self._cache = [OrderedDict() for _ in self.encoders]
        self._pinned = [dict() for _ in self.encoders]
        self.num_encoder_calls = 0

    # -- cache --------------------------------------------------------------
    def clear_cache(self):
        for c in self._cache:
            c.clear()
        for p in self._pinned:
            p.clear()

    def _apply(self, fn, *args, **kwargs):
        # Moving or casting the module invalidates cached tensors.
        self.clear_cache()
        return super()._apply(fn, *args, **kwargs)

    def train(self, mode=True):
        super().train(mode)
        return keep_frozen_in_eval(self)

    def _caching(self, idx):
        return self.use_cache and not any(
            p.requires_grad for p in self.encoders[idx].parameters())

    def _lookup(self, idx, prompt):
        if prompt in self._pinned[idx]:
            return self._pinned[idx][prompt]
        cache = self._cache[idx]
        if prompt in cache:
            cache.move_to_end(prompt)
            return cache[prompt]
        return None

    def _store(self, idx, prompt, value):
        if prompt == '':
            self._pinned[idx][prompt] = value
            return
        cache = self._cache[idx]
        cache[prompt] = value
        while len(cache) > self.max_cache:
            cache.popitem(last=False)

    # -- encoding -----------------------------------------------------------
    def _run(self, idx, prompts):
        """Encode ``prompts`` (list of str) with encoder ``idx``.

        Returns a list of per-prompt tuples ``(tensor, mask or None)``.
        """
        spec, tok, enc = self.specs[idx], self.tokenizers[idx], \
            self.encoders[idx]
        device = next(enc.parameters()).device
        tokens = tok(prompts, padding='max_length',
                     max_length=spec['max_length'], truncation=True,
                     return_tensors='pt')
        ids = tokens['input_ids'].to(device)
        mask = tokens['attention_mask'].to(device)
        kwargs = dict(attention_mask=mask) if spec['pass_mask'] else {}
        if spec['hidden_layer'] is not None:
            kwargs['output_hidden_states'] = True
        self.num_encoder_calls += 1
        grad = torch.is_grad_enabled() and any(
            p.requires_grad for p in enc.parameters())
        with torch.set_grad_enabled(grad):
            out = enc(input_ids=ids, **kwargs)
        if spec['role'] == 'pooled':
            if hasattr(out, 'text_embeds') and out.text_embeds is not None:
                pooled = out.text_embeds
            elif getattr(out, 'pooler_output', None) is not None:
                pooled = out.pooler_output
            else:
                raise TypeError(f'TextEncoder: {type(enc).__name__} gives no '
                                'pooled output; use role="sequence"')
            return [(pooled[i], None) for i in range(len(prompts))]
        if spec['hidden_layer'] is not None:
            seq = out.hidden_states[spec['hidden_layer']]
        else:
            seq = out.last_hidden_state
        mask = mask.bool()
        return [(seq[i], mask[i]) for i in range(len(prompts))]

    def _encode_one(self, idx, prompts):
        if not self._caching(idx):
            return self._run(idx, prompts)
        results = [self._lookup(idx, p) for p in prompts]
        missing = list(OrderedDict.fromkeys(
            p for p, r in zip(prompts, results) if r is None))
        if missing:
            fresh = dict(zip(missing, self._run(idx, missing)))
            for p, value in fresh.items():
                self._store(idx, p, value)
            results = [r if r is not None else fresh[p]
                       for p, r in zip(prompts, results)]
        return results

    def encode(self, prompts):
        """Encode prompts.

        Args:
            prompts (str | list[str]): B prompts ('' = unconditional).

        Returns:
            dict: ``embeds`` (B, L, D) float, ``mask`` (B, L) bool,
            ``pooled`` (B, P) float; entries of a missing role are None.
        """
        if isinstance(prompts, str):
            prompts = [prompts]
        prompts = list(prompts)
        if not all(isinstance(p, str) for p in prompts):
            raise TypeError('TextEncoder.encode: prompts must be strings, got '
                            f'{[type(p).__name__ for p in prompts]}')
        out = dict(embeds=None, mask=None, pooled=None)
        for idx, spec in enumerate(self.specs):
            rows = self._encode_one(idx, prompts)
            if spec['role'] == 'pooled':
                out['pooled'] = torch.stack([r[0] for r in rows])
            else:
                out['embeds'] = torch.stack([r[0] for r in rows])
                out['mask'] = torch.stack([r[1] for r in rows])
        return out

    def encode_empty(self, batch_size=1):
        """The unconditional ('' prompt) encoding, ``batch_size`` times."""
        return self.encode([''] * int(batch_size))

    def forward(self, prompts):
        return self.encode(prompts)

    @property
    def embed_dim(self):
        """D of ``embeds`` (hidden size of the sequence encoder) or None."""
        for spec, enc in zip(self.specs, self.encoders):
            if spec['role'] == 'sequence':
                cfg = enc.config
                return getattr(cfg, 'd_model', None) or cfg.hidden_size
        return None
