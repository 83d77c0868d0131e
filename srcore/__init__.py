"""srcore: residual-shifting diffusion super-resolution (ResShift-style) with a dual-domain UNet.

Modules, one concept each:
  images     read/write images, uint8 <-> [-1, 1] tensors
  degrade    the one bicubic degradation (HR -> LR -> y0)
  encodings  Fourier positional encoding and local amplitude map
  dct        DCT-II matrices (global and 8x8 block) built with torch-dct
  model      the dual-domain UNet and its config
  diffusion  the ResShift process: schedule, q_sample, posterior, respacing, reverse loop
  noise      position-keyed Gaussian noise (same pixel -> same noise, whatever the tiling)
  sampler    super_resolve(): pad, condition once, run the chain, crop
  losses     multi-scale L1 + DCT L1, Laplacian-pyramid bands, optional VGG perceptual
  metrics    PSNR / SSIM on Y (BT.601) and RGB, border = scale, 8-bit
  checkpoint atomic save, safe load (weights_only) with config check
"""

__version__ = "0.1.0"
