"""Convert PASCAL-Part human annotations (``human_parts/<id>.mat``) to PNGs.

Usage::

    python tools/dataset_converters/pascal_human_parts.py data/PASCAL_MT \
        [--ids ImageSets/Context/train.txt ImageSets/Context/val.txt]

For every id with a ``.mat`` file, the person objects (PASCAL class 15)
that carry part masks are painted into one label map with the 6-part
grouping used by ASTMT/ATRC/InvPT: 1 head (hair, head, ears, eyes, brows,
mouth, nose), 2 torso (torso, neck), 3 upper arm, 4 lower arm + hand,
5 upper leg, 6 lower leg + foot; 0 = background. The map is written to
``human_parts/<id>.png`` (uint8). Images without any annotated person part
get no PNG: ``PascalContextMTDataset`` then gives them an all-ignore (255)
map, as the reference loaders do.

``.mat`` layout (PASCAL-Part): ``anno[0][0][1][0]`` is the object list; an
object holds (class name, class index, instance mask, parts) and each part
(part name, mask).
"""
import argparse
import os
import os.path as osp

import cv2
import numpy as np

PERSON = 15
PART_GROUP = {
    'hair': 1, 'head': 1, 'lear': 1, 'rear': 1, 'leye': 1, 'reye': 1,
    'lebrow': 1, 'rebrow': 1, 'mouth': 1, 'nose': 1,
    'torso': 2, 'neck': 2,
    'luarm': 3, 'ruarm': 3,
    'llarm': 4, 'rlarm': 4, 'lhand': 4, 'rhand': 4,
    'luleg': 5, 'ruleg': 5,
    'llleg': 6, 'rlleg': 6, 'lfoot': 6, 'rfoot': 6,
}


def parts_map(mat_path: str):
    """Return the (H, W) uint8 part map, or ``None`` if no person part."""
    import scipy.io as sio
    objects = sio.loadmat(mat_path)['anno'][0][0][1][0]
    target = None
    for obj in objects:
        class_ind = int(np.asarray(obj[1]).ravel()[0])
        parts = obj[3]
        if class_ind != PERSON or parts.size == 0:
            continue
        if target is None:
            target = np.zeros(np.asarray(obj[2]).shape, np.uint8)
        for part in parts[0]:
            name = str(np.asarray(part[0]).ravel()[0])
            if name not in PART_GROUP:
                raise KeyError(f'{mat_path}: unknown part name {name!r}')
            target[np.asarray(part[1]).astype(bool)] = PART_GROUP[name]
    return target


def convert(root: str, id_files) -> dict:
    written = skipped = 0
    for id_file in id_files:
        path = id_file if osp.isabs(id_file) else osp.join(root, id_file)
        with open(path) as f:
            ids = [line.strip() for line in f if line.strip()]
        for sid in ids:
            mat = osp.join(root, 'human_parts', f'{sid}.mat')
            if not osp.isfile(mat):
                skipped += 1
                continue
            target = parts_map(mat)
            if target is None:
                skipped += 1
                continue
            out = osp.join(root, 'human_parts', f'{sid}.png')
            os.makedirs(osp.dirname(out), exist_ok=True)
            cv2.imwrite(out, target)
            written += 1
    return dict(written=written, without_parts=skipped)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('root', help='PASCAL_MT folder')
    parser.add_argument('--ids', nargs='+',
                        default=['ImageSets/Context/train.txt',
                                 'ImageSets/Context/val.txt'])
    args = parser.parse_args(argv)
    print(convert(args.root, args.ids))


if __name__ == '__main__':
    main()
