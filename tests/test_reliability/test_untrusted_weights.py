"""A malicious pickle's payload never runs through any loading entry point
unless the user trusts the file."""
import os
import os.path as osp

import pytest
import torch

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


class Payload:
    """Unpickling this creates a folder: the proof that code ran."""

    def __init__(self, proof):
        self.proof = proof

    def __reduce__(self):
        return (os.mkdir, (self.proof, ))


def test_malicious_pickle_payload_never_runs(tmp_path):
    from unidense.apis import init_model
    from unidense.utils.checkpoint_io import (UntrustedCheckpointError,
                                              load_checkpoint_safe,
                                              load_weights_only)
    proof = str(tmp_path / 'payload_ran')
    evil = str(tmp_path / 'iter_100.pth')
    torch.save(dict(state_dict=dict(w=torch.zeros(1)), meta=Payload(proof)),
               evil)
    with pytest.raises(UntrustedCheckpointError, match='iter_100.pth'):
        load_checkpoint_safe(evil)
    with pytest.raises(Exception):
        load_weights_only(evil)
    with pytest.raises(UntrustedCheckpointError):
        init_model(osp.join(REPO, 'configs/merge/pixart_depth_tiny.py'),
                   evil)
    assert not osp.exists(proof)
    # the opt-in really unpickles (so the refusal above is what saved us)
    load_checkpoint_safe(evil, trust_checkpoint=True)
    assert osp.isdir(proof)
