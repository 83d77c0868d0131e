#!/usr/bin/env bash
# The sampling and training settings of the default model (studies/defaults/table.md), run through
# DVC's own experiment queue (what a user would run).
#
#   studies/defaults/run.sh [DATASETS]
#   DATASETS: a folder with Set5/ and Set14/ (default ../shared/datasets)
#
# Every experiment is the committed params.yaml plus the -S overrides below, and scores Set5 and
# Set14 besides the validation images and patches. The sampling experiments change evaluate.* only:
# they run in the workspace (`dvc exp run`, which holds the trained default model, so only the
# evaluate stage runs), each setting every evaluate key it studies. The training experiments go
# through the queue, one worker: on a 2-core CPU two trainings at once are slower than one after the
# other. Needs the environment (make install, source .venv/bin/activate) and a reproduced workspace.
# Its table was made when the default model was x4 alone on 128-pixel patches: to repeat it, first
# set model.scales and evaluate.scales to [] and prepare.patch to 128 in params.yaml, dvc repro and
# commit.
set -euo pipefail
source "$(dirname "$0")/../lib.sh" "$@"
# the table's columns: the metrics that the targets name, sampling times, and every setting the study varies
COLUMNS_KEPT='^(Experiment|psnr_y|psnr_y_gain|patch_psnr_y|patch_psnr_y_bicubic|seconds|Set5\.(psnr_y|psnr_y_gain|seconds)|'\
'Set14\.(psnr_y|psnr_y_gain|seconds)|kappa|prepare\.patch|model\.(width|stem)|diffusion\.eta_1|loss\.(freq|laplacian)_weight|'\
'train\.steps|params\.yaml:train\.lr|train\.seed|evaluate\.(steps|sampler|samples|ensemble))$'

q() {  # q NAME [SETTING ...]: queue one experiment
  local name=$1
  shift
  local args=("${BENCH[@]}")
  for s in "$@"; do args+=(-S "$s"); done
  dvc exp run --queue -n "$name" "${args[@]}" >/dev/null
  echo "queued $name: $*"
}

w() {  # w NAME [SETTING ...]: an evaluation-only experiment in the workspace
  local name=$1
  shift
  local args=("${BENCH[@]}")
  for s in "$@"; do args+=(-S "$s"); done
  dvc exp run -n "$name" "${args[@]}" >/dev/null
  echo "ran $name: $*"
}

NAMES=(default steps-4 steps-15 ddim-4 ddim-15 samples-4 steps-4-samples-4 ensemble steps-4-ensemble kappa-0.5 kappa-1
       kappa-4 lr-0.002 steps-750 laplacian-1 seed-1 seed-2)
study_begin "${NAMES[@]}"
E=(evaluate.steps=1 evaluate.sampler=ancestral evaluate.samples=1 evaluate.ensemble=false)  # the defaults
w default "${E[@]}"
w steps-4 evaluate.steps=4 evaluate.sampler=ancestral evaluate.samples=1 evaluate.ensemble=false
w steps-15 evaluate.steps=15 evaluate.sampler=ancestral evaluate.samples=1 evaluate.ensemble=false
w ddim-4 evaluate.steps=4 evaluate.sampler=ddim evaluate.samples=1 evaluate.ensemble=false
w ddim-15 evaluate.steps=15 evaluate.sampler=ddim evaluate.samples=1 evaluate.ensemble=false
w samples-4 evaluate.steps=1 evaluate.sampler=ancestral evaluate.samples=4 evaluate.ensemble=false
w steps-4-samples-4 evaluate.steps=4 evaluate.sampler=ancestral evaluate.samples=4 evaluate.ensemble=false
w ensemble evaluate.steps=1 evaluate.sampler=ancestral evaluate.samples=1 evaluate.ensemble=true
w steps-4-ensemble evaluate.steps=4 evaluate.sampler=ancestral evaluate.samples=1 evaluate.ensemble=true
restore  # the workspace back at HEAD before queueing (a queued experiment copies the workspace)

# the noise scale of the residual shift
q kappa-0.5 kappa=0.5
q kappa-1 kappa=1.0
q kappa-4 kappa=4.0
# optimisation: learning rate and training length (within the CPU budget)
q lr-0.002 train.lr=0.002
q steps-750 train.steps=750
# loss weights
q laplacian-1 loss.laplacian_weight=1.0
# three training seeds
q seed-1 train.seed=1
q seed-2 train.seed=2

run_queue

write_table "$STUDY/table.md" "$COLUMNS_KEPT" <<EOF
# The sampling and training settings: \`studies/defaults/run.sh\` (\`dvc exp run\`, \`dvc exp run --queue\` + \`dvc queue start\`), then \`dvc exp show --md\`

Generated $(date -u +%Y-%m-%d) on $(nproc) CPU cores (baseline commit $(git rev-parse --short HEAD)). Each row is one experiment: the committed params.yaml
plus the settings its name says; the \`seconds\` columns are the evaluate stage's sampling time (validation
images, Set5, Set14). psnr_y: the validation images (chelsea, coffee); patch_*: the fixed validation patches.
The training rows ran one after the other on the same 2 cores as other work, so their seconds are noisier.
EOF
