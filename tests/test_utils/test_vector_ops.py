"""unit_vectors / vector_length / cosine_similarity equal torch's
F.normalize / Tensor.norm / F.cosine_similarity (float rounding) and keep
finite gradients at the zero vector."""
import pytest
import torch
import torch.nn.functional as F

from unidense.utils.vector_ops import (cosine_similarity, unit_vectors,
                                       vector_length)


@pytest.mark.parametrize('dim', [0, 1, -1])
def test_equal_to_torch(dim):
    g = torch.Generator().manual_seed(0)
    a = torch.randn(4, 3, 8, 8, generator=g)
    b = torch.randn(4, 3, 8, 8, generator=g)
    torch.testing.assert_close(unit_vectors(a, dim), F.normalize(a, dim=dim))
    torch.testing.assert_close(vector_length(a, dim),
                               a.norm(dim=dim, keepdim=True))
    torch.testing.assert_close(cosine_similarity(a, b, dim),
                               F.cosine_similarity(a, b, dim=dim))
    # eps bounds the divisor as in F.normalize
    tiny = a * 1e-9
    torch.testing.assert_close(unit_vectors(tiny, dim, eps=1e-6),
                               F.normalize(tiny, dim=dim, eps=1e-6))


def test_zero_vectors_have_finite_gradients_and_half_precision_works():
    z = torch.zeros(2, 3, 4, 4, requires_grad=True)
    other = torch.randn(2, 3, 4, 4)
    (unit_vectors(z).sum() + vector_length(z).sum() +
     cosine_similarity(z, other).sum()).backward()
    assert torch.isfinite(z.grad).all()
    h = torch.randn(2, 3, 4, 4).half()
    out = unit_vectors(h)
    assert out.dtype == torch.float16
    torch.testing.assert_close(out.float(), F.normalize(h.float(), dim=1),
                               rtol=0, atol=1e-3)
