#!/usr/bin/env bash
# The study behind metrics/study.md, run through DVC's own experiment queue (what a user would run).
#
#   scripts/study.sh [DATASETS]     DATASETS: a folder with Set5/ and Set14/ (default ../shared/datasets)
#
# Every experiment is the committed params.yaml plus the -S overrides below, and scores Set5 and
# Set14 besides the validation images and patches. Experiments that change only evaluate.* settings
# reuse the trained model (DVC's run cache), so they cost an evaluation only. One worker: on a 2-core
# CPU two trainings at once are slower than one after the other. Needs the environment (make install).
set -euo pipefail
cd "$(dirname "$0")/.."
DATA=$(cd "${1:-../shared/datasets}" && pwd)
BENCH="evaluate.benchmarks=[$DATA/Set5,$DATA/Set14]"

q() {  # q NAME [SETTING ...]: queue one experiment
  local name=$1
  shift
  local args=(-S "$BENCH")
  for s in "$@"; do args+=(-S "$s"); done
  dvc exp run --queue -n "$name" "${args[@]}" >/dev/null
  echo "queued $name: $*"
}

q default
# the noise scale of the residual shift
q kappa-0.5 kappa=0.5
q kappa-1 kappa=1.0
q kappa-4 kappa=4.0
# optimisation: learning rate and training length (within the CPU budget)
q lr-x0.5 train.lr=0.0001
q steps-x0.5 train.steps=500
# network: width and layout (stem 1 = the seed's full-resolution UNet, at the seed's 64-pixel patches)
q width-32 model.width=32
q stem-1 model.stem=1 model.width=32 model.dct_block=8 prepare.patch=64 train.steps=600
# loss weights
q laplacian-1 loss.laplacian_weight=1.0
q freq-0 loss.freq_weight=0.0
# sampling: steps and the new options (the default model, evaluation only)
q steps-1 evaluate.steps=1
q steps-15 evaluate.steps=15
q ddim evaluate.sampler=ddim
q samples-4 evaluate.samples=4
q ensemble evaluate.ensemble=true
# three training seeds
q seed-1 train.seed=1
q seed-2 train.seed=2

dvc queue start -j 1
while dvc queue status | grep -qE "Queued|Running"; do sleep 30; done
dvc queue status

{
  echo "# The study: \`scripts/study.sh\` (\`dvc exp run --queue\` + \`dvc queue start\`), then \`dvc exp show --md\`"
  echo
  echo "Generated $(date -u +%Y-%m-%d) on $(nproc) CPU cores. Each row is one experiment: the committed params.yaml"
  echo "plus the settings its name says; \`seconds\` columns are the evaluate stage's sampling time."
  echo
  dvc exp show --md --no-pager --drop 'data\.|plots\.|prepare\.(train|valid)|train\.(checkpoint|eval|log|max|device|compile|nproc|workers)|evaluate\.(device|benchmarks|tile|overlap|seed)|loss\.(scales|vgg|perceptual|laplacian_levels)|model\.(time_dim|dct$|dwt|pos|amp|depth)|diffusion\.|Created|State|Executor|ssim_rgb|psnr_rgb|params_count|n_images|scale$'
} >metrics/study.md.tmp
mv metrics/study.md.tmp metrics/study.md
echo "wrote metrics/study.md"
