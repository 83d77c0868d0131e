"""srcore: residual-shifting diffusion super-resolution (ResShift-style) with a dual-domain UNet.

The API, for notebooks and services:

    import srcore
    up = srcore.Upscaler.load("models/model.pt")  # or an ONNX graph from srcore-export
    big = up.upscale("photo.jpg", scale=2.5, cleanup=0.5)

The package, one concern per folder; a folder imports only from those above it in this list:

  common     errors, atomic writes, the commands' error path, image files, uint8 <-> tensors
  config     every parameter defined once (schema, rules), params.yaml, the sampling spec
  data       the HR images (fetch), the prepared cache, batches, the bicubic and real-world LR
  net        the dual-domain UNet, its DCT and encodings, model files, devices, CUDA graphs
  diffusion  the ResShift process, keyed noise, the sampler, tiles, and the one loader
  eval       metrics, LPIPS, validation patches, scoring, the evaluate stage's scores
  train      the training loop, its state and resume, data-parallel ranks, the losses
  deploy     the Upscaler API and its pictures, the ONNX export and backend
  report     the figures and the offline page of every DVC plot
  app        srcore-app's server, page, models, images and jobs (the Upscaler in a browser)
  commands   srcore-upscale, srcore-evaluate, srcore-export, srcore-app, their options

The stages read common, config, data, net, diffusion, eval and train (dvc.yaml lists, per stage,
the folders it imports): the API and the commands can change without re-running the pipeline.

Nothing heavy is imported by `import srcore`: `srcore.Upscaler` and `srcore.SamplingSpec` load
their modules on first use.
"""

__version__ = "0.1.0"
__all__ = ["SamplingSpec", "Upscaler", "__version__"]


def __getattr__(name: str):
    if name == "Upscaler":
        from srcore.deploy.upscaler import Upscaler

        return Upscaler
    if name == "SamplingSpec":
        from srcore.config.sampling import SamplingSpec

        return SamplingSpec
    raise AttributeError(f"module 'srcore' has no attribute {name!r}")
