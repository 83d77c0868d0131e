"""srcore: residual-shifting diffusion super-resolution (ResShift-style) with a dual-domain UNet.

Modules, one concept each:
  config     every parameter defined once: type, default, rule, meaning; rules: how (no torch)
  params     params.yaml: read, validate, write the defaults (no torch)
  errors     UserError, the base of every user mistake; cli: the one error path of all commands
  images     read/write image files (no torch); tensors: uint8 <-> [-1, 1] tensors
  degrade    the bicubic degradation (HR -> LR -> y0) and the size rule at any scale
  realworld  real-photo LR (blur, resize, noise, JPEG) at a clean-up level; kernels: its blurs
  fetch      the HR images: the embedded sample, folders, DIV2K
  cache      the prepared cache layout and patch index (no torch); data: batches from it
  encodings  Fourier positional encoding and local amplitude map
  dct        DCT-II matrices (global and block) built with torch-dct
  model      the dual-domain UNet, told the scale (model.scales) and the clean-up level
  diffusion  the ResShift process: schedule, q_sample, posterior, respacing, reverse loop
  noise      position-keyed Gaussian noise (same pixel -> same noise, whatever the tiling)
  sampler    super_resolve(): pad, condition once, run the chain, crop; tiles: whole images in tiles
  device     cpu / cuda and autocast; cudagraph: the network replayed from CUDA graphs
  losses     multi-scale L1 + DCT L1, Laplacian-pyramid bands, optional VGG perceptual
  metrics    PSNR / SSIM on Y (BT.601) and RGB, border = ceil(scale), 8-bit; lpips: LPIPS
  validate   the fixed validation patches, scored by training and by the evaluate stage
  checkpoint atomic save, safe load (weights_only) with config check; atomic: temp file + rename
  train      the training loop; train_state: what its checkpoints hold (weights, optimiser, the
             moving average); resume: a run's identity, the checkpoint that may continue it;
             ranks: data-parallel processes under torchrun
  evaluate   scoring (the stage and srcore-evaluate); upscale: srcore-upscale; sampling: the
             options they share
  figures    the pictures (matplotlib), stamped with date and machine
  export     the one-step sampler as one ONNX graph (onnx_ops: its Pillow bicubic, padding and
             two operators' ONNX); onnx_backend: srcore-upscale --backend onnx
  report     every DVC plot on one offline page; npm: its chart libraries; browser: headless check
"""

__version__ = "0.1.0"
