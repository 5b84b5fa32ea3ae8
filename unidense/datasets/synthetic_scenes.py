"""SyntheticScenes: procedural indoor RGB-D scenes that need no files."""
import copy
import multiprocessing
import re
from collections import OrderedDict
from typing import Optional, Sequence, Union

import numpy as np
from mmengine.dataset import BaseDataset
from tqdm import tqdm

from unidense.registry import DATASETS, TRANSFORMS

_COLORS = dict(red=(0.80, 0.15, 0.12), green=(0.20, 0.65, 0.25),
               blue=(0.15, 0.30, 0.85), yellow=(0.90, 0.80, 0.20),
               orange=(0.95, 0.50, 0.10), purple=(0.55, 0.25, 0.70),
               white=(0.92, 0.92, 0.90), gray=(0.55, 0.55, 0.55),
               brown=(0.50, 0.32, 0.18), beige=(0.85, 0.78, 0.62))
_WALL_COLORS = ('white', 'beige', 'gray', 'green', 'blue', 'yellow')
_FLOOR_COLORS = ('brown', 'gray', 'beige', 'white')
_OBJ_COLORS = ('red', 'green', 'blue', 'yellow', 'orange', 'purple', 'white')
_TEXTURES = ('plain', 'checker', 'stripes', 'noise')
_TEX_WORD = dict(plain='', checker='checkered ', stripes='striped ',
                 noise='speckled ')
_SHAPES = ('box', 'sphere', 'cylinder')
# Light colour multipliers and how a caption names them ('' = not named).
_LIGHTS = dict(white=((1.0, 1.0, 1.0), ''),
               warm=((1.0, 0.86, 0.68), ' in warm light'),
               cool=((0.78, 0.88, 1.0), ' in cool light'))
# Light strength: Lambert gain and the caption's opening words.
_BRIGHTNESS = dict(normal=(0.7, 'a room'), dim=(0.45, 'a dim room'),
                   bright=(0.95, 'a bright room'))

# Semantic ids; METAINFO.classes below is the authoritative order.
FLOOR, WALL, CEILING, BOX, SPHERE, CYLINDER = 0, 1, 2, 3, 4, 5
_LABEL_OF = dict(box=BOX, sphere=SPHERE, cylinder=CYLINDER)
# What SyntheticScenes.render returns (cache_keys selects from these).
RESULT_KEYS = ('img', 'gt_depth', 'gt_depth_valid', 'gt_normal',
               'gt_normal_valid', 'gt_sem_seg', 'caption', 'intrinsics',
               'ori_shape', 'img_shape', 'depth_range', 'depth_scale',
               'protocol', 'dataset_name', 'scene')


def _rot_y(a):
    c, s = np.cos(a), np.sin(a)
    return np.array([[c, 0, s], [0, 1, 0], [-s, 0, c]])


def _rot_x(a):
    c, s = np.cos(a), np.sin(a)
    return np.array([[1, 0, 0], [0, c, -s], [0, s, c]])


def _safe(d):
    # Avoid division by zero for rays parallel to a slab; 1e-12 keeps the
    # sign so the slab test still picks the right side.
    return np.where(np.abs(d) < 1e-12, np.where(d < 0, -1e-12, 1e-12), d)


def _texture(kind, p, scale, rng_params):
    """Albedo multiplier in [0.55, 1] at world points ``p`` (N, 3)."""
    if kind == 'checker':
        k = np.floor(p / scale).sum(axis=1)
        return np.where(k % 2 == 0, 1.0, 0.6)
    if kind == 'stripes':
        axis = rng_params[0]
        return np.where(np.floor(p[:, axis] / (scale * 0.5)) % 2 == 0,
                        1.0, 0.65)
    if kind == 'noise':
        freqs, phases = rng_params[1], rng_params[2]
        v = np.sin(p @ freqs.T + phases).mean(axis=1)
        return 0.78 + 0.22 * v
    return np.ones(len(p))


def _dot(a, b):
    # Column-wise dot of (N, 3) arrays; faster than sum(axis=1) for 3 terms.
    return a[:, 0] * b[:, 0] + a[:, 1] * b[:, 1] + a[:, 2] * b[:, 2]


def _intersect(origin, d, obj, normals: bool = True):
    """Ray parameter (N,) of the first hit with one object (inf if none)
    and, if ``normals``, the outward normal (N, 3) there; ``origin`` is
    (3,) or (N, 3)."""
    c = np.asarray(obj['center'])
    if obj['kind'] == 'box':
        rot = _rot_y(obj['angle'])
        o_l, d_l = (origin - c) @ rot, d @ rot          # box frame: R^T x
        half = np.asarray(obj['half'])
        dl_s = _safe(d_l)
        t1, t2 = (-half - o_l) / dl_s, (half - o_l) / dl_s
        tmin, tmax = np.minimum(t1, t2), np.maximum(t1, t2)
        t_near = np.maximum(np.maximum(tmin[:, 0], tmin[:, 1]), tmin[:, 2])
        t_far = np.minimum(np.minimum(tmax[:, 0], tmax[:, 1]), tmax[:, 2])
        ok = (t_near <= t_far) & (t_near > 1e-4)
        t = np.where(ok, t_near, np.inf)
        if not normals:
            return t, None
        axis = np.argmax(tmin, axis=1)
        rows = np.arange(len(d))
        n_l = np.zeros_like(d)
        n_l[rows, axis] = -np.sign(d_l[rows, axis])
        return t, n_l @ rot.T
    if obj['kind'] == 'cylinder':
        return _intersect_cylinder(origin, d, c, obj['radius'],
                                   obj['height'], normals)
    oc = np.broadcast_to(origin - c, d.shape)
    a = _dot(d, d)
    b = _dot(d, oc)
    cc = _dot(oc, oc) - obj['radius'] ** 2
    disc = b * b - a * cc
    t_s = (-b - np.sqrt(np.maximum(disc, 0))) / a
    ok = (disc > 0) & (t_s > 1e-4)
    t_s = np.where(ok, t_s, np.inf)
    if not normals:
        return t_s, None
    p = origin + d * np.where(ok, t_s, 0)[:, None]
    return t_s, (p - c) / obj['radius']


def _intersect_cylinder(origin, d, c, radius, height, normals):
    """First hit with an upright cylinder (axis along y, which points
    down): side wall plus both caps; ``c`` is the centre of its volume."""
    o = np.broadcast_to(origin - c, d.shape)
    a = d[:, 0] ** 2 + d[:, 2] ** 2
    b = o[:, 0] * d[:, 0] + o[:, 2] * d[:, 2]
    cc = o[:, 0] ** 2 + o[:, 2] ** 2 - radius ** 2
    disc = b * b - a * cc
    a_s = np.maximum(a, 1e-12)
    t_side = (-b - np.sqrt(np.maximum(disc, 0))) / a_s
    y_side = o[:, 1] + t_side * d[:, 1]
    ok = (disc > 0) & (t_side > 1e-4) & (np.abs(y_side) <= height / 2)
    t_side = np.where(ok, t_side, np.inf)
    # Caps at y = -h/2 (top, normal up = -y) and y = +h/2 (bottom).
    dy = _safe(d[:, 1])
    t_caps = []
    for y_cap in (-height / 2, height / 2):
        t_c = (y_cap - o[:, 1]) / dy
        x_c, z_c = o[:, 0] + t_c * d[:, 0], o[:, 2] + t_c * d[:, 2]
        hit = (t_c > 1e-4) & (x_c ** 2 + z_c ** 2 <= radius ** 2)
        t_caps.append(np.where(hit, t_c, np.inf))
    t = np.minimum(t_side, np.minimum(t_caps[0], t_caps[1]))
    if not normals:
        return t, None
    n = np.zeros_like(d)
    side = t_side <= t
    p = o + d * np.where(np.isfinite(t), t, 0)[:, None]
    n[side, 0], n[side, 2] = p[side, 0] / radius, p[side, 2] / radius
    top = ~side & (t_caps[0] <= t)
    n[top, 1] = -1.0
    n[~side & ~top, 1] = 1.0
    return t, n


# the dataset whose scenes forked prerender workers render
_PRERENDERING = None


def _render_kept_prerendering(index: int) -> dict:
    return _PRERENDERING._render_kept(index)


@DATASETS.register_module()
class SyntheticScenes(BaseDataset):
    """Procedural indoor RGB-D scenes with exact depth, normals and labels.

    Each index renders (numpy ray casting, pinhole camera) a box-shaped room
    (floor, four walls, ceiling) with 1..``max_objects`` boxes (rotated about
    the vertical), spheres and upright cylinders resting on the floor;
    surfaces are plain, checkered, striped or noise-textured, objects
    matte or shiny (Blinn-Phong highlight); a point light under the ceiling
    (white, warm or cool; dim, normal or bright) gives Lambert shading with
    hard shadows, plus ambient light; the camera height, yaw and pitch
    vary. The same index and ``seed`` always give the same scene.

    Results dict (before the pipeline), all at ``img_size``:

    - ``img`` (H, W, 3) uint8 RGB;
    - ``gt_depth`` (H, W) float32 z-depth in metres (exact, every pixel
      valid) and ``gt_depth_valid`` all True;
    - ``gt_normal`` (H, W, 3) float32 unit normals in the camera frame with
      Bae et al.'s axes: x right, y down, z towards the camera (a wall
      facing the camera is (0, 0, 1); the floor seen level is (0, -1, 0));
    - ``gt_sem_seg`` (H, W) int64: 0 floor, 1 wall, 2 ceiling, 3 box,
      4 sphere, 5 cylinder (``METAINFO.classes``);
    - ``caption``, what a viewer sees, objects from left to right, e.g.
      "a dim room with white walls, a brown checkered floor, a red box, a
      shiny blue striped sphere and a green cylinder in warm light"; every
      word is in :meth:`vocabulary`;
    - ``intrinsics`` 3x3 (pixels), ``ori_shape``, ``img_shape``,
      ``depth_range`` (1e-3, 20), ``depth_scale`` 1, ``protocol``
      'synthetic', ``scene`` (object ``kinds`` and ``colors`` left to
      right, ``walls`` and ``floor`` colour names, ``lighting`` =
      (brightness, light colour) names).

    Args:
        num_samples: dataset length.
        img_size: int or (h, w).
        seed: mixed with the index to seed each scene.
        max_objects: upper bound on objects per scene (>= 1).
        fov_deg: horizontal field of view.
        protocol: the ``protocol`` meta key (evaluation preset name).
        shapes: object kinds to draw from (a subset of box, sphere,
            cylinder).
        cache_size: keep up to this many rendered scenes in memory (0: off),
            so multi-epoch training renders each scene once.
        cache_keys: the results keys kept (cached and returned); None
            keeps all. A text-to-image run needs only ``('img',
            'caption')``: 12 KB per 64x64 scene instead of 130 KB.
        prerender: render the first ``min(num_samples, cache_size)``
            scenes into the cache at construction with this many processes
            (0: lazily, as indices are read). Dataloader workers forked
            afterwards share the cache instead of each rendering its own.
        pipeline: transform configs or callables (unidense TRANSFORMS).
    """

    METAINFO = dict(dataset_name='synthetic_scenes',
                    classes=('floor', 'wall', 'ceiling', 'box', 'sphere',
                             'cylinder'),
                    palette=[(128, 96, 64), (200, 200, 190), (240, 240, 255),
                             (220, 40, 30), (40, 80, 220), (60, 170, 80)])

    def __init__(self, num_samples: int = 1000,
                 img_size: Union[int, Sequence[int]] = 64, seed: int = 0,
                 max_objects: int = 3, fov_deg: float = 60.0,
                 protocol: str = 'synthetic',
                 shapes: Sequence[str] = _SHAPES, cache_size: int = 0,
                 cache_keys: Optional[Sequence[str]] = None,
                 prerender: int = 0, pipeline=(), **kwargs):
        if num_samples < 1:
            raise ValueError(f'SyntheticScenes: num_samples must be >= 1, '
                             f'got {num_samples}')
        if isinstance(img_size, int):
            img_size = (img_size, img_size)
        if len(img_size) != 2 or min(img_size) < 2:
            raise ValueError(f'SyntheticScenes: bad img_size {img_size}')
        if max_objects < 1:
            raise ValueError('SyntheticScenes: max_objects must be >= 1')
        shapes = tuple(shapes)
        if not shapes or not set(shapes) <= set(_SHAPES):
            raise ValueError(f'SyntheticScenes: shapes={shapes} must be a '
                             f'non-empty subset of {_SHAPES}')
        self.shapes = shapes
        self.cache_size = int(cache_size)
        self._cache = OrderedDict()
        self.cache_keys = None if cache_keys is None else tuple(cache_keys)
        if self.cache_keys is not None:
            unknown = set(self.cache_keys) - set(RESULT_KEYS)
            if unknown:
                raise ValueError(f'SyntheticScenes: cache_keys {sorted(unknown)}'
                                 f' are not results keys ({RESULT_KEYS})')
        if prerender < 0:
            raise ValueError(f'SyntheticScenes: prerender={prerender} must '
                             f'be a number of processes >= 0')
        if prerender and self.cache_size <= 0:
            raise ValueError(f'SyntheticScenes: prerender={prerender} needs '
                             f'cache_size > 0 (got {cache_size})')
        self.num_samples = int(num_samples)
        self.img_size = (int(img_size[0]), int(img_size[1]))
        self.seed = int(seed)
        self.max_objects = int(max_objects)
        self.fov_deg = float(fov_deg)
        self.protocol = protocol
        h, w = self.img_size
        f = (w / 2) / np.tan(np.deg2rad(self.fov_deg) / 2)
        self.intrinsics = [[f, 0.0, (w - 1) / 2], [0.0, f, (h - 1) / 2],
                           [0.0, 0.0, 1.0]]
        v, u = np.mgrid[0:h, 0:w].astype(np.float64)
        # Camera-frame ray directions with z = 1, so the ray parameter is
        # exactly the z-depth.
        self._dirs_cam = np.stack([(u - (w - 1) / 2) / f,
                                   (v - (h - 1) / 2) / f,
                                   np.ones_like(u)], -1).reshape(-1, 3)
        built = [TRANSFORMS.build(t) if isinstance(t, dict) else t
                 for t in pipeline]
        kwargs.setdefault('serialize_data', False)
        super().__init__(pipeline=built, **kwargs)
        if prerender:
            self._prerender(int(prerender))

    def _prerender(self, processes: int):
        global _PRERENDERING
        indices = range(min(self.num_samples, self.cache_size))
        pool = None
        if processes == 1:
            scenes = map(self._render_kept, indices)
        else:
            # The forked workers find this dataset in a module global: a
            # bound method as the task would pickle the dataset, growing
            # cache included, with every chunk (quadratic in the scenes).
            _PRERENDERING = self
            pool = multiprocessing.get_context('fork').Pool(processes)
            scenes = pool.imap(_render_kept_prerendering, indices,
                               chunksize=64)
        try:
            for index, scene in zip(indices, tqdm(
                    scenes, total=len(indices), desc='rendering scenes',
                    mininterval=10, disable=len(indices) < 1000)):
                self._cache[index] = scene
        finally:
            _PRERENDERING = None
            if pool is not None:
                pool.close()
                pool.join()

    def _render_kept(self, index: int) -> dict:
        results = self.render(index)
        if self.cache_keys is None:
            return results
        return {k: results[k] for k in self.cache_keys}

    def load_data_list(self):
        return [dict(scene_idx=i) for i in range(self.num_samples)]

    def get_data_info(self, idx: int) -> dict:
        info = super().get_data_info(idx)
        info.update(self.render_cached(info['scene_idx']))
        return info

    def render_cached(self, index: int) -> dict:
        """:meth:`render` through the in-memory cache (``cache_size``);
        returns fresh copies, so transforms may change them in place."""
        if self.cache_size <= 0:
            return self._render_kept(index)
        if index in self._cache:
            self._cache.move_to_end(index)
        else:
            self._cache[index] = self._render_kept(index)
            if len(self._cache) > self.cache_size:
                self._cache.popitem(last=False)
        return copy.deepcopy(self._cache[index])

    @staticmethod
    def vocabulary() -> list:
        """Every word a caption can hold (sorted), for word-level
        tokenizers."""
        words = set('a an room with walls floor and in light'.split())
        words.update(_COLORS, _SHAPES, ('shiny', 'dim', 'bright'))
        words.update(w.strip() for w in _TEX_WORD.values() if w)
        words.update(name for name, (_, said) in _LIGHTS.items() if said)
        return sorted(words)

    # -- attributes: what a caption says, as labels ---------------------------
    # name -> class names; single-label except MULTI_LABEL_ATTRIBUTES (the
    # set of object colours / kinds in the scene)
    ATTRIBUTES = OrderedDict(
        walls=_WALL_COLORS, floor=_FLOOR_COLORS,
        brightness=tuple(_BRIGHTNESS), light=tuple(_LIGHTS),
        object_colors=_OBJ_COLORS, object_kinds=_SHAPES)
    MULTI_LABEL_ATTRIBUTES = ('object_colors', 'object_kinds')

    @staticmethod
    def attributes_of_scene(scene: dict) -> dict:
        """The :attr:`ATTRIBUTES` of a results dict's ``scene`` entry:
        class names (single-label) or sorted name lists (multi-label)."""
        return dict(walls=scene['walls'], floor=scene['floor'],
                    brightness=scene['lighting'][0],
                    light=scene['lighting'][1],
                    object_colors=sorted(set(scene['colors'])),
                    object_kinds=sorted(set(scene['kinds'])))

    @staticmethod
    def attributes_of_caption(caption: str) -> dict:
        """The :attr:`ATTRIBUTES` a caption names (:meth:`caption_of`'s
        grammar); a single-label attribute the caption does not name is
        None. ``attributes_of_caption(caption_of(s))`` equals
        ``attributes_of_scene`` of the same scene."""
        caption = str(caption).strip().lower()
        tex = '(?:checkered |striped |speckled )?'
        walls = re.search(r'with (\w+) walls', caption)
        floor = re.search(rf'(\w+) {tex}floor\b', caption)
        objects = re.findall(
            rf'\ban? (?:shiny )?(\w+) {tex}({"|".join(_SHAPES)})\b',
            caption)
        opening = dict((said, name) for name, (_, said) in
                       _BRIGHTNESS.items())
        brightness = next((name for said, name in opening.items()
                           if caption.startswith(said + ' ')), None)
        light = next((name for name, (_, said) in _LIGHTS.items()
                      if said and caption.endswith(said.strip())), None)
        if light is None and brightness is not None:
            light = 'white'   # captions name only warm and cool light
        return dict(
            walls=walls.group(1) if walls else None,
            floor=floor.group(1) if floor else None,
            brightness=brightness, light=light,
            object_colors=sorted({c for c, _ in objects}),
            object_kinds=sorted({k for _, k in objects}))

    # -- scene sampling -------------------------------------------------------
    def sample_scene(self, index: int) -> dict:
        rng = np.random.default_rng([self.seed, int(index)])
        cam_h = rng.uniform(1.1, 1.8)
        room_h = rng.uniform(2.5, 3.2)
        scene = dict(
            left=-rng.uniform(1.5, 3.0), right=rng.uniform(1.5, 3.0),
            floor=cam_h, ceiling=-(room_h - cam_h),
            back=rng.uniform(3.5, 7.0), front=-1.0,
            yaw=rng.uniform(-0.35, 0.35), pitch=rng.uniform(-0.3, 0.05),
            wall_color=str(rng.choice(_WALL_COLORS)),
            floor_color=str(rng.choice(_FLOOR_COLORS)),
            floor_texture=str(rng.choice(_TEXTURES)),
            wall_texture=str(rng.choice(('plain', 'plain', 'stripes',
                                         'noise'))),
            light=(rng.uniform(-1, 1), -(room_h - cam_h) + 0.3,
                   rng.uniform(1.0, 3.0)),
            light_color=str(rng.choice(list(_LIGHTS), p=(0.5, 0.25, 0.25))),
            brightness=str(rng.choice(list(_BRIGHTNESS),
                                      p=(0.5, 0.25, 0.25))),
            objects=[])
        for _ in range(int(rng.integers(1, self.max_objects + 1))):
            kind = str(rng.choice(self.shapes))
            z = rng.uniform(1.8, scene['back'] - 0.6)
            x = rng.uniform(scene['left'] + 0.6, scene['right'] - 0.6)
            obj = dict(kind=kind, color=str(rng.choice(_OBJ_COLORS)),
                       texture=str(rng.choice(_TEXTURES)),
                       shiny=bool(rng.random() < 0.3))
            if kind == 'box':
                half = rng.uniform(0.15, 0.5, size=3)
                obj.update(center=(x, cam_h - half[1], z), half=tuple(half),
                           angle=rng.uniform(0, np.pi / 2))
            elif kind == 'sphere':
                r = rng.uniform(0.2, 0.55)
                obj.update(center=(x, cam_h - r, z), radius=r)
            else:
                r, height = rng.uniform(0.15, 0.4), rng.uniform(0.4, 1.2)
                obj.update(center=(x, cam_h - height / 2, z), radius=r,
                           height=height)
            scene['objects'].append(obj)
        # Captions name objects from left to right as the camera sees them.
        yaw = scene['yaw']
        scene['objects'].sort(key=lambda o: np.arctan2(
            o['center'][0], o['center'][2]) - yaw)
        # Texture parameters drawn here so rendering is a pure function.
        scene['tex'] = (int(rng.integers(0, 3)),
                        rng.uniform(2, 9, size=(3, 3)) *
                        rng.choice([-1, 1], size=(3, 3)),
                        rng.uniform(0, 2 * np.pi, size=3))
        return scene

    @staticmethod
    def caption_of(scene: dict) -> str:
        def a(phrase):
            return ('an ' if phrase[0] in 'aeiou' else 'a ') + phrase

        parts = [f"{scene['wall_color']} walls",
                 a(f"{scene['floor_color']} "
                   f"{_TEX_WORD[scene['floor_texture']]}floor")]
        for obj in scene['objects']:
            shiny = 'shiny ' if obj.get('shiny') else ''
            parts.append(a(f"{shiny}{obj['color']} "
                           f"{_TEX_WORD[obj['texture']]}{obj['kind']}"))
        text = ', '.join(parts[:-1]) + ' and ' + parts[-1]
        opening = _BRIGHTNESS[scene.get('brightness', 'normal')][1]
        light = _LIGHTS[scene.get('light_color', 'white')][1]
        return f'{opening} with {text}{light}'

    # -- rendering ------------------------------------------------------------
    @staticmethod
    def _highlights(scene, obj_id, normal, d, to_light, lambert):
        """(N, 1) Blinn-Phong highlight of shiny objects (0 elsewhere and in
        shadow)."""
        shiny = np.zeros(len(obj_id), bool)
        for k, obj in enumerate(scene['objects']):
            if obj.get('shiny'):
                shiny |= obj_id == k
        shiny &= lambert > 0
        out = np.zeros((len(obj_id), 1))
        if shiny.any():
            view = -d[shiny] / np.linalg.norm(d[shiny], axis=1,
                                              keepdims=True)
            half = view + to_light[shiny]
            half /= np.linalg.norm(half, axis=1, keepdims=True) + 1e-9
            out[shiny, 0] = 0.6 * np.clip(_dot(normal[shiny], half), 0,
                                          1) ** 24
        return out

    @staticmethod
    def _cast(scene, d):
        """First hit of each world ray ``d`` (N, 3): ray parameter t (N,)
        (= z-depth), world normal (N, 3), label (N,) and object index (N,)
        (-1 for the room)."""
        n_rays = d.shape[0]
        rows = np.arange(n_rays)
        ds = _safe(d)
        # Room: a closed box around the camera (at the origin).
        lo = np.array([scene['left'], scene['ceiling'], scene['front']])
        hi = np.array([scene['right'], scene['floor'], scene['back']])
        t_axes = np.where(d > 0, hi / ds, lo / ds)
        t_axes = np.where(np.abs(d) < 1e-12, np.inf, t_axes)
        axis = np.argmin(t_axes, axis=1)
        t = t_axes[rows, axis]
        normal = np.zeros((n_rays, 3))
        normal[rows, axis] = -np.sign(d[rows, axis])
        label = np.full(n_rays, WALL, np.int64)
        label[(axis == 1) & (d[:, 1] > 0)] = FLOOR
        label[(axis == 1) & (d[:, 1] < 0)] = CEILING
        obj_id = np.full(n_rays, -1)
        for k, obj in enumerate(scene['objects']):
            t_k, n_k = _intersect(np.zeros(3), d, obj)
            hit = t_k < t
            t[hit] = t_k[hit]
            normal[hit] = n_k[hit]
            label[hit] = _LABEL_OF[obj['kind']]
            obj_id[hit] = k
        return t, normal, label, obj_id

    @staticmethod
    def _albedo(scene, points, label, obj_id):
        """(N, 3) surface colour times texture at world ``points``."""
        albedo = np.empty((len(points), 3))
        surfaces = [(label == FLOOR, scene['floor_color'],
                     scene['floor_texture']),
                    (label == WALL, scene['wall_color'],
                     scene['wall_texture']),
                    (label == CEILING, 'white', 'plain')]
        surfaces += [(obj_id == k, o['color'], o['texture'])
                     for k, o in enumerate(scene['objects'])]
        for mask, color, texture in surfaces:
            if mask.any():
                albedo[mask] = np.asarray(_COLORS[color]) * _texture(
                    texture, points[mask], 0.5, scene['tex'])[:, None]
        return albedo

    @staticmethod
    def _lambert_with_shadows(scene, points, normal):
        """(lambert (N,), unit direction to the light (N, 3)); objects cast
        hard shadows (the room is convex and contains the light, so its own
        surfaces never occlude it)."""
        to_light = np.asarray(scene['light']) - points
        dist = np.linalg.norm(to_light, axis=1)
        to_light /= dist[:, None] + 1e-9
        lambert = np.clip(np.einsum('ij,ij->i', normal, to_light), 0, 1)
        lit = lambert > 0
        if lit.any():
            origin = points[lit] + 1e-4 * normal[lit]
            blocked = np.zeros(int(lit.sum()), bool)
            for obj in scene['objects']:
                t_k, _ = _intersect(origin, to_light[lit], obj,
                                    normals=False)
                blocked |= t_k < dist[lit]
            lambert[np.flatnonzero(lit)[blocked]] = 0
        return lambert, to_light

    def render(self, index: int) -> dict:
        """The results dict of scene ``index`` (see the class doc)."""
        scene = self.sample_scene(index)
        h, w = self.img_size
        rot = _rot_y(scene['yaw']) @ _rot_x(scene['pitch'])
        d = self._dirs_cam @ rot.T                       # world directions
        t, normal, label, obj_id = self._cast(scene, d)
        points = d * t[:, None]
        albedo = self._albedo(scene, points, label, obj_id)
        lambert, to_light = self._lambert_with_shadows(scene, points, normal)
        gain = _BRIGHTNESS[scene['brightness']][0]
        light_rgb = np.asarray(_LIGHTS[scene['light_color']][0])
        rgb = albedo * (0.35 + gain * lambert[:, None] * light_rgb)
        rgb += self._highlights(scene, obj_id, normal, d, to_light,
                                lambert) * light_rgb
        img = (np.clip(rgb, 0, 1) * 255 + 0.5).astype(np.uint8)

        n_cam = normal @ rot                             # R^T n, camera frame
        n_cam[:, 2] = -n_cam[:, 2]                       # z towards camera
        return dict(
            img=img.reshape(h, w, 3),
            gt_depth=t.astype(np.float32).reshape(h, w),
            gt_depth_valid=np.ones((h, w), bool),
            gt_normal=n_cam.astype(np.float32).reshape(h, w, 3),
            gt_normal_valid=np.ones((h, w), bool),
            gt_sem_seg=label.reshape(h, w),
            caption=self.caption_of(scene),
            intrinsics=[row[:] for row in self.intrinsics],
            ori_shape=(h, w), img_shape=(h, w),
            depth_range=(1e-3, 20.0), depth_scale=1.0,
            protocol=self.protocol,
            dataset_name=self.metainfo['dataset_name'],
            scene=dict(kinds=[o['kind'] for o in scene['objects']],
                       colors=[o['color'] for o in scene['objects']],
                       walls=scene['wall_color'],
                       floor=scene['floor_color'],
                       lighting=(scene['brightness'], scene['light_color'])))
