"""Damaged files give clear errors naming the file: a truncated
safetensors in a model_zoo folder, a truncated checkpoint, corrupt image
and depth files in a dataset. (A damaged last checkpoint on --resume falls
back to the previous intact one: tests/test_engine/test_unidense_runner.)"""
import os.path as osp
import shutil

import pytest
import torch

from unidense.registry import MODELS, TRANSFORMS

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
ZOO = osp.join(REPO, 'model_zoo', 'unidense-tiny')


def test_truncated_safetensors_in_model_zoo_names_the_file(tmp_path):
    zoo = tmp_path / 'zoo'
    shutil.copytree(osp.join(ZOO, 'vae'), zoo / 'vae')
    weights = zoo / 'vae' / 'diffusion_pytorch_model.safetensors'
    data = weights.read_bytes()
    weights.write_bytes(data[:len(data) // 3])
    with pytest.raises(Exception, match='diffusion_pytorch_model.safetensors'):
        MODELS.build(dict(type='AutoencoderKL', from_pretrained=str(zoo),
                          subfolder='vae'))


def test_truncated_checkpoint_is_refused_with_its_name(tmp_path):
    from unidense.utils.checkpoint_io import (load_checkpoint_safe,
                                              save_checkpoint_atomic)
    path = str(tmp_path / 'iter_8.pth')
    save_checkpoint_atomic(dict(state_dict=dict(w=torch.zeros(512))), path)
    with open(path, 'r+b') as f:
        f.truncate(200)
    with pytest.raises(RuntimeError, match='iter_8.pth.*(modified or '
                       'truncated)'):
        load_checkpoint_safe(path)


@pytest.mark.parametrize('transform, key', [('LoadImage', 'img_path'),
                                            ('LoadDepth', 'depth_path')])
def test_corrupt_dataset_files_name_the_file(tmp_path, transform, key):
    bad = tmp_path / 'frame_0042.png'
    bad.write_bytes(b'\x89PNG\r\n\x1a\n' + b'\x00' * 40)
    with pytest.raises(ValueError, match='frame_0042.png'):
        TRANSFORMS.build(dict(type=transform))({key: str(bad),
                                                'img_path': str(bad)})
    with pytest.raises((ValueError, FileNotFoundError), match='missing.png'):
        TRANSFORMS.build(dict(type=transform))(
            {key: str(tmp_path / 'missing.png'),
             'img_path': str(tmp_path / 'missing.png')})
