"""One-step diffusion feature extractor on an SD UNet (VPD / Diff-2-in-1)."""
import math

import torch
import torch.nn as nn
import torch.nn.functional as F

from unidense.diffusion.freezing import freeze, keep_frozen_in_eval
from unidense.diffusion.schedulers import as_scheduler
from unidense.registry import MODELS
from .sd_unet import unet_taps

# A few of CLIP's ImageNet prompt templates; VPD averages all 80, pass them
# with ``class_templates`` to reproduce it exactly.
DEFAULT_CLASS_TEMPLATES = ('a photo of a {}.', 'a bad photo of a {}.',
                           'a photo of the large {}.',
                           'a photo of the small {}.', 'a rendering of a {}.',
                           'a cropped photo of the {}.')

_SD_SCHEDULER = dict(type='DDPMScheduler', beta_start=0.00085, beta_end=0.012,
                     beta_schedule='scaled_linear', num_train_timesteps=1000)


class _AttnStoreProcessor:
    """Cross-attention that also stores its head-averaged attention maps.

    Softmax probabilities are needed explicitly, so this uses the classic
    (non-SDPA) attention math; it is only installed when maps are asked for.
    """

    def __init__(self, store, level, max_queries):
        self.store = store
        self.level = level
        self.max_queries = max_queries

    def __call__(self, attn, hidden_states, encoder_hidden_states=None,
                 attention_mask=None, temb=None, **kwargs):
        residual = hidden_states
        batch, queries, _ = hidden_states.shape
        context = hidden_states if encoder_hidden_states is None else \
            encoder_hidden_states
        if attn.norm_cross:
            context = attn.norm_encoder_hidden_states(context)
        query = attn.head_to_batch_dim(attn.to_q(hidden_states))
        key = attn.head_to_batch_dim(attn.to_k(context))
        value = attn.head_to_batch_dim(attn.to_v(context))
        if attention_mask is not None:
            attention_mask = attn.prepare_attention_mask(
                attention_mask, context.shape[1], batch)
        probs = attn.get_attention_scores(query, key, attention_mask)
        if queries <= self.max_queries:
            maps = probs.reshape(batch, attn.heads, queries, -1).mean(1)
            self.store.setdefault(self.level, []).append(maps)
        out = attn.batch_to_head_dim(torch.bmm(probs, value))
        out = attn.to_out[1](attn.to_out[0](out))
        if attn.residual_connection:
            out = out + residual
        return out / attn.rescale_output_factor


@MODELS.register_module()
class SDUNetFeatures(nn.Module):
    """Multi-scale features from one SD-UNet pass (VPD, Diff-2-in-1).

    Pipeline: image (B, 3, H, W) in [-1, 1] -> VAE posterior mean or sample
    (x ``scaling_factor`` if ``apply_scaling``) -> optionally noised to
    ``timestep`` with the SD schedule -> one UNet call at ``timestep`` with a
    text context -> taps grouped by resolution.

    Returns 4 maps, high resolution first, at strides 8, 16, 32, 64 of the
    input (``ceil(H / s) x ceil(W / s)``); ``out_channels`` lists their
    widths. For SD-1.5:

    - ``taps='all'`` (Diff-2-in-1): every down tap (conv_in, each layer,
      each downsampler), the mid block and every up layer, concatenated per
      resolution (down, mid, up order): ``[2560, 4160, 7040, 7680]``.
    - ``taps='vpd'``: the last up tap at each resolution (LDM output blocks
      11, 7, 4, 1): ``[320, 640, 1280, 1280]``.

    With ``use_attn_maps`` the head- and layer-averaged cross-attention maps
    (B, L_text, h, w) of the down and up blocks (not mid, as VPD's
    "up_cross+down_cross") at each of ``attn_strides`` are concatenated to
    the map of that stride (VPD seg: +150 channels at strides 16 and 32).

    Args:
        unet (dict | nn.Module): ``UNet2DConditionModel`` config or module.
        vae (dict | nn.Module): ``AutoencoderKL`` config or module (frozen).
        text_encoder (dict | nn.Module): ``TextEncoder``. The empty prompt
            and captions use its ``'sequence'`` output; class names use its
            ``'pooled'`` output when it has one (VPD: CLIP ViT-L/14 with
            projection, i.e. ``CLIPTextModelWithProjection`` from
            ``openai/clip-vit-large-patch14``), else the mean of the real
            tokens of the sequence output.
        timestep (int): the UNet timestep (Diff-2-in-1 0, VPD 1).
        posterior (str): ``'mean'`` (VPD) or ``'sample'`` (Diff-2-in-1).
        apply_scaling (bool): multiply latents by the VAE scaling factor
            (Diff-2-in-1 True, VPD False).
        add_noise (bool): forward-noise the latent to ``timestep``
            (Diff-2-in-1 True, VPD False).
        scheduler (dict): DIFFUSION_SCHEDULERS config giving
            ``alphas_cumprod`` for the noise; SD's by default.
        text (str): ``'empty'`` (null prompt), ``'class_names'`` (one token
            per class: pooled text embedding averaged over
            ``class_templates``) or ``'caption'`` (per-image captions).
        class_names (list[str]): for ``text='class_names'``.
        class_templates (list[str]): prompt templates with ``{}``.
        text_adapter (dict, optional): e.g. ``dict(type='TextAdapter',
            dim=768)`` applied to the text context (trainable).
        taps (str): ``'all'`` or ``'vpd'``.
        use_attn_maps (bool), attn_strides (tuple[int]): see above.
        frozen_unet (bool): freeze the UNet (Diff-2-in-1) or fine-tune it
            (VPD). Frozen parts run under ``torch.no_grad()``.
        drop_unet_head (bool): delete the UNet's unused output GroupNorm and
            conv (VPD does; a trainable UNet otherwise has unused params).
            Only when ``unet`` is a config: a passed module is left intact.
        drop_vae_decoder (bool): delete the VAE decoder (never used here).
            Only when ``vae`` is a config.

    ``forward(x, captions=None, class_ids=None)``:
        x (Tensor): (B, 3, H, W) in [-1, 1], H and W multiples of 8.
        captions (list[str]): B captions for ``text='caption'``.
        class_ids (LongTensor): (B,) for ``text='class_names'``: one class
            token per image (VPD depth: scene category); None = all classes
            as the context (VPD seg).
    """

    def __init__(self, unet, vae, text_encoder=None, timestep=0,
                 posterior='sample', apply_scaling=True, add_noise=True,
                 scheduler=_SD_SCHEDULER, text='empty', class_names=None,
                 class_templates=DEFAULT_CLASS_TEMPLATES, text_adapter=None,
                 taps='all', use_attn_maps=False, attn_strides=(16, 32),
                 frozen_unet=True, drop_unet_head=True,
                 drop_vae_decoder=True):
        super().__init__()
        from unidense.diffusion import LatentCodec
        if posterior not in ('mean', 'sample'):
            raise ValueError(f'SDUNetFeatures: posterior={posterior!r} must '
                             "be 'mean' or 'sample'")
        if text not in ('empty', 'class_names', 'caption'):
            raise ValueError(f'SDUNetFeatures: text={text!r} must be one of '
                             "'empty', 'class_names', 'caption'")
        if taps not in ('all', 'vpd'):
            raise ValueError(f"SDUNetFeatures: taps={taps!r} must be 'all' "
                             "or 'vpd'")
        if text == 'class_names' and not class_names:
            raise ValueError("SDUNetFeatures: text='class_names' needs "
                             '`class_names`')
        self.unet = MODELS.build(unet) if isinstance(unet, dict) else unet
        self.codec = LatentCodec(
            vae=vae, sample_posterior=posterior == 'sample',
            scaling_factor=None if apply_scaling else 1.0, shift_factor=None
            if apply_scaling else 0.0)
        # Parts passed in as built modules may be shared (e.g. with the
        # generator of Diff-2-in-1's data creation), so only parts built
        # here lose their unused heads.
        if drop_vae_decoder and isinstance(vae, dict):
            self.codec.vae.decoder = None
            self.codec.vae.post_quant_conv = None
        if drop_unet_head and isinstance(unet, dict):
            self.unet.conv_norm_out = None
            self.unet.conv_act = None
            self.unet.conv_out = nn.Identity()
        if text_encoder is None:
            raise ValueError('SDUNetFeatures: `text_encoder` is required (a '
                             'TextEncoder config)')
        self.text_encoder = MODELS.build(text_encoder) if isinstance(
            text_encoder, dict) else text_encoder
        self.text_adapter = MODELS.build(text_adapter) if isinstance(
            text_adapter, dict) else text_adapter
        self.frozen_unet = frozen_unet
        if frozen_unet:
            freeze(self.unet)
        freeze(self.text_encoder)
        self.timestep = int(timestep)
        self.add_noise = add_noise
        self.noise_scheduler = as_scheduler(scheduler) if add_noise else None
        self.text = text
        self.class_names = list(class_names or [])
        self.class_templates = list(class_templates)
        self.taps = taps
        self.use_attn_maps = use_attn_maps
        self.attn_strides = tuple(attn_strides)
        self.register_buffer('class_embeds', None, persistent=False)

        cfg = self.unet.config
        self.num_levels = len(cfg.block_out_channels)
        if self.num_levels != 4:
            raise ValueError('SDUNetFeatures: the UNet must have 4 resolution '
                             'levels (strides 8-64), got block_out_channels='
                             f'{tuple(cfg.block_out_channels)}')
        self.out_channels = self._infer_channels()

    # -- bookkeeping --------------------------------------------------------
    def _infer_channels(self):
        """Channels per level from the UNet config (no forward needed)."""
        cfg = self.unet.config
        ch = list(cfg.block_out_channels)
        n = cfg.layers_per_block
        n = n if isinstance(n, int) else n[0]
        down = [[] for _ in range(4)]
        down[0].append(ch[0])  # conv_in
        for i in range(4):
            down[i].extend([ch[i]] * n)
            if i < 3:
                down[i + 1].append(ch[i])  # downsampler keeps width
        mid = [[] for _ in range(4)]
        mid[3].append(ch[-1])
        up = [[] for _ in range(4)]
        rev = ch[::-1]
        for b in range(4):
            level = 3 - b
            for j in range(n + 1):
                lvl = level - 1 if (j == n and b < 3) else level
                up[lvl].append(rev[b])
        if self.taps == 'all':
            out = [sum(down[i]) + sum(mid[i]) + sum(up[i]) for i in range(4)]
        else:
            out = [up[i][-1] for i in range(4)]
        if self.use_attn_maps:
            n_ctx = self._context_length()
            for i, s in enumerate(self.strides):
                if s in self.attn_strides:
                    out[i] += n_ctx
        return out

    @property
    def strides(self):
        return (8, 16, 32, 64)

    def _context_length(self):
        if self.text == 'class_names':
            return len(self.class_names)
        return self.text_encoder.specs[[s['role'] for s in
                                        self.text_encoder.specs].index(
                                            'sequence')]['max_length']

    def train(self, mode=True):
        super().train(mode)
        return keep_frozen_in_eval(self)

    # -- text ---------------------------------------------------------------
    @torch.no_grad()
    def _compute_class_embeds(self):
        roles = [s['role'] for s in self.text_encoder.specs]
        rows = []
        for name in self.class_names:
            prompts = [t.format(name) for t in self.class_templates]
            out = self.text_encoder.encode(prompts)
            if 'pooled' in roles:
                e = out['pooled']
            else:  # mean of real tokens of the sequence encoder
                m = out['mask'].unsqueeze(-1).to(out['embeds'].dtype)
                e = (out['embeds'] * m).sum(1) / m.sum(1).clamp(min=1)
            e = F.normalize(e.float(), dim=-1).mean(0)
            rows.append(F.normalize(e, dim=-1))
        return torch.stack(rows)

    def _context(self, batch, captions, class_ids, device, dtype):
        if self.text == 'empty':
            ctx = self.text_encoder.encode_empty(batch)['embeds']
        elif self.text == 'caption':
            if captions is None or len(captions) != batch:
                raise ValueError("SDUNetFeatures: text='caption' needs "
                                 f'{batch} captions, got {captions!r}')
            ctx = self.text_encoder.encode(list(captions))['embeds']
        else:
            if self.class_embeds is None or self.class_embeds.device != \
                    device:
                self.class_embeds = self._compute_class_embeds().to(device)
            emb = self.class_embeds
            if class_ids is None:
                ctx = emb.unsqueeze(0).expand(batch, -1, -1)
            else:
                if self.use_attn_maps:
                    raise ValueError(
                        'SDUNetFeatures: use_attn_maps needs all classes as '
                        'the context (class_ids=None); with one class token '
                        'per image the maps would have 1 channel')
                ctx = emb[torch.as_tensor(class_ids, device=device).long()]
                ctx = ctx.unsqueeze(1)
        ctx = ctx.to(device=device, dtype=dtype)
        if ctx.shape[-1] != self.unet.config.cross_attention_dim:
            raise ValueError(
                f'SDUNetFeatures: text context width {ctx.shape[-1]} != UNet '
                f'cross_attention_dim {self.unet.config.cross_attention_dim}')
        if self.text_adapter is not None:
            ctx = self.text_adapter(ctx)
        return ctx

    # -- attention maps -----------------------------------------------------
    def _install_attn_store(self, store, latent_hw):
        h0, w0 = int(latent_hw[0]), int(latent_hw[1])
        max_level_queries = {}
        for level in range(4):
            h = math.ceil(h0 / 2**level)
            w = math.ceil(w0 / 2**level)
            max_level_queries[level] = h * w
        old = {}
        blocks = [(b, i) for i, b in enumerate(self.unet.down_blocks)] + [
            (b, 3 - i) for i, b in enumerate(self.unet.up_blocks)]
        for block, level in blocks:
            for tr in getattr(block, 'attentions', None) or []:
                for tb in tr.transformer_blocks:
                    attn = tb.attn2
                    if attn is None:
                        continue
                    old[attn] = attn.processor
                    attn.processor = _AttnStoreProcessor(
                        store, level, max_level_queries[level])
        return old

    # -- forward ------------------------------------------------------------
    def forward(self, x, captions=None, class_ids=None):
        if x.dim() != 4 or x.shape[1] != 3:
            raise ValueError('SDUNetFeatures: x must be (B, 3, H, W) in '
                             f'[-1, 1], got {tuple(x.shape)}')
        batch = x.shape[0]
        unet_param = next(self.unet.parameters())
        z = self.codec.encode_rgb(x).to(unet_param.dtype)
        t = torch.full((batch, ), self.timestep, device=z.device,
                       dtype=torch.long)
        if self.add_noise:
            z = self.noise_scheduler.add_noise(z, torch.randn_like(z), t)
        ctx = self._context(batch, captions, class_ids, z.device, z.dtype)
        store = {}
        old = self._install_attn_store(store, z.shape[-2:]) \
            if self.use_attn_maps else {}
        grad = torch.is_grad_enabled() and not self.frozen_unet
        try:
            with torch.set_grad_enabled(grad), unet_taps(self.unet) as taps:
                self.unet(z, t, ctx, return_dict=False)
        finally:
            for attn, proc in old.items():
                attn.processor = proc
        return self._group(taps, store, z.shape[-2:])

    def _group(self, taps, store, latent_hw):
        # int(): under tracing (fvcore, torch.jit) shapes are tensors
        h0, w0 = int(latent_hw[0]), int(latent_hw[1])
        sizes = [(math.ceil(h0 / 2**i), math.ceil(w0 / 2**i))
                 for i in range(4)]
        level_of = {s: i for i, s in enumerate(sizes)}
        down = [[] for _ in range(4)]
        up = [[] for _ in range(4)]
        mid = [[] for _ in range(4)]
        for name, bucket in (('down', down), ('mid', mid), ('up', up)):
            for f in taps[name]:
                bucket[level_of[(int(f.shape[-2]), int(f.shape[-1]))]].append(
                    f)
        outs = []
        for i in range(4):
            if self.taps == 'all':
                feats = down[i] + mid[i] + up[i]
            else:
                feats = [up[i][-1]]
            if self.use_attn_maps and self.strides[i] in self.attn_strides:
                maps = store.get(i)
                if not maps:
                    raise RuntimeError(
                        f'SDUNetFeatures: no cross-attention maps at stride '
                        f'{self.strides[i]}')
                avg = torch.stack(maps).mean(0)  # (B, N, L)
                h, w = sizes[i]
                feats = feats + [avg.transpose(1, 2).reshape(
                    avg.shape[0], -1, h, w).to(feats[0].dtype)]
            outs.append(torch.cat(feats, dim=1))
        return outs
