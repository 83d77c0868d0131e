import torch

from srcore.net.encodings import fourier_encoding, local_amplitude


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
    assert (
        local_amplitude(torch.full((1, 3, 16, 16), 0.3), 7).max() < 1e-3
    )  # flat -> 0, not min/max stretched
