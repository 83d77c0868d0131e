import torch

from srcore.dct import block_dct, block_idct, dct2d, idct2d
from srcore.encodings import fourier_encoding, local_amplitude


def test_positional_encoding_of_a_patch_equals_the_whole_image_there():
    whole = fourier_encoding(torch.zeros(1, 2, dtype=torch.long), 300, 410, n_freqs=6)
    patch = fourier_encoding(torch.tensor([[37, 121]]), 64, 96, n_freqs=6)
    assert whole.shape == (1, 24, 300, 410)
    assert torch.allclose(patch, whole[..., 37 : 37 + 64, 121 : 121 + 96], atol=1e-4)
    # and not the seed's linspace(0, 1): the same crop size elsewhere gets a different code
    assert not torch.allclose(patch, fourier_encoding(torch.tensor([[0, 0]]), 64, 96, 6), atol=1e-2)


def test_amplitude_depends_only_on_the_kernel_neighbourhood():
    img = torch.rand(1, 3, 80, 100)
    whole = local_amplitude(img, 7)
    crop = local_amplitude(img[..., 20:60, 30:90], 7)
    assert whole.min() >= 0 and whole.max() <= 1
    assert torch.allclose(crop[..., 3:-3, 3:-3], whole[..., 23:57, 33:87], atol=1e-5)
    assert local_amplitude(torch.full((1, 3, 16, 16), 0.3), 7).max() < 1e-3  # flat -> 0, not min/max stretched


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
