import torch

from srcore.net import dct
from srcore.net.dct import block_dct, block_idct, dct2d, idct2d, keep_used_matrices


def test_dct_matches_torch_dct_and_inverts():
    import torch_dct

    x = torch.randn(2, 3, 16, 24, dtype=torch.float64)
    assert torch.allclose(dct2d(x), torch_dct.dct_2d(x, norm="ortho"), atol=1e-10)
    assert torch.allclose(idct2d(dct2d(x)), x, atol=1e-10)
    coef = block_dct(x, 8)  # B x C x (2 * 3 blocks) x 64, blocks in raster order
    assert coef.shape == (2, 3, 6, 64)
    ref = torch_dct.dct_2d(x[..., 8:16, 16:24], norm="ortho")  # the block in row 1, column 2
    assert torch.allclose(coef[:, :, 1 * 3 + 2].reshape(2, 3, 8, 8), ref, atol=1e-10)
    assert torch.allclose(block_idct(coef, 8, 16, 24), x, atol=1e-10)


def test_matrices_a_graph_read_outlive_the_cache(monkeypatch):
    # a CUDA graph captured inside keep_used_matrices() holds what it read: the cache may drop it
    monkeypatch.setattr(dct, "MAX_CACHED", 2)
    monkeypatch.setattr(dct, "_cache", type(dct._cache)())
    with keep_used_matrices() as used:
        first = dct2d(torch.randn(1, 1, 24, 40))
    assert {tuple(m.shape) for m in used} == {(24, 24), (40, 40)}
    for n in (8, 16, 32, 48):  # other sizes push 24 and 40 out of the cache
        dct2d(torch.randn(1, 1, n, n))
    assert all(("dct", n) not in {k[:2] for k in dct._cache} for n in (24, 40))
    assert len(dct._cache) == 2
    d24 = next(m for m in used if m.shape == (24, 24))
    assert torch.equal(d24, dct.dct_matrix(24)) and first.shape == (1, 1, 24, 40)
