#!/usr/bin/env bash
# How the clean-up knob model is trained, on the lighter antialiased preset: the share of patches
# at the chain's last step (train.final_share, the step the 1-step sampler uses), the DCT loss
# weight, kappa, the width and the training length, through DVC's experiment queue ->
# metrics/study_real_training.md.
#
#   scripts/study_real_training.sh [DATASETS]
#   DATASETS: a folder with Set5/ and Set14/ (default ../shared/datasets)
#
# Every row is an x4 model (model.scales [], 128-pixel patches, as metrics/study_cleanup.md)
# scored on clean LR (no prefix; the knob told 0) and on the lighter preset (`real.`, fixed draws
# per image name; the knob told 1). knob-light is the knob model of metrics/study_cleanup.md's
# cleanup-light row; each other row changes what its name says (w48: model.width 48).
# One worker: on a 2-core CPU two trainings at once are slower. Needs the environment (make
# install, source .venv/bin/activate) and a reproduced workspace.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/study_lib.sh
DATA=$(cd "${1:-../shared/datasets}" && pwd)
SCORES='psnr_y|psnr_y_gain|Set5\.(psnr_y|psnr_y_gain)|Set14\.(psnr_y|psnr_y_gain)'
SETTINGS='kappa|train\.final_share|loss\.freq_weight|model\.width|train\.steps'
COLUMNS_KEPT="^(Experiment|$SETTINGS|$SCORES|real\\.($SCORES))\$"

NAMES=(knob-light-final0.5 knob-light-final1 knob-light-freq0 knob-light-kappa1 knob-light-w48
  knob-light knob-light-6000)
study_begin "${NAMES[@]}"

X4=(-S "evaluate.benchmarks=[$DATA/Set5,$DATA/Set14]" -S "model.scales=[]" -S "evaluate.scales=[]"
  -S prepare.patch=128 -S real.antialias=true "${LIGHT[@]}")
KNOB=(-S train.degradation=real -S model.cleanup=true)
queue() { dvc exp run --queue -n "$1" "${X4[@]}" "${@:2}" >/dev/null; }
queue knob-light-final0.5 "${KNOB[@]}" -S train.final_share=0.5
queue knob-light-final1 "${KNOB[@]}" -S train.final_share=1
queue knob-light-freq0 "${KNOB[@]}" -S loss.freq_weight=0
queue knob-light-kappa1 "${KNOB[@]}" -S kappa=1
queue knob-light-w48 "${KNOB[@]}" -S model.width=48
queue knob-light "${KNOB[@]}"
queue knob-light-6000 "${KNOB[@]}" -S train.steps=6000
echo "queued ${NAMES[*]}"

run_queue

write_table metrics/study_real_training.md "$COLUMNS_KEPT" <<EOT
# Training the clean-up knob model: \`scripts/study_real_training.sh\`, then \`dvc exp show --md\`

Generated $(date -u +%Y-%m-%d) on $(nproc) CPU cores (baseline $(git rev-parse --short HEAD)). Each row is an
x4 model scored on clean LR (no prefix; the knob told 0) and on the lighter antialiased \`real\`
preset (\`real.\`, fixed draws per image name; the knob told 1). \`*_gain\` is over bicubic of the
same LR; psnr_y: the validation images (chelsea, coffee).
EOT
