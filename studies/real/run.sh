#!/usr/bin/env bash
# The real-photo study behind studies/real/table.md: a clean and real models, each scored on clean
# and on real-degraded validation images, Set5 and Set14, through DVC's experiment queue.
#
#   studies/real/run.sh [DATASETS]
#   DATASETS: a folder with Set5/ and Set14/ (default ../shared/datasets)
#
# `clean` is the committed default model, scored in the workspace (only the evaluate stage runs);
# the real models go through `dvc exp run --queue` and `dvc queue start`, one worker (on a 2-core
# CPU two trainings at once are slower than one after the other). Every row scores both
# degradations (evaluate.degradations: bicubic at the top level, real under `real.`). Needs the
# environment (make install, source .venv/bin/activate) and a reproduced workspace. Its table was
# made when the default model was x4 alone on 128-pixel patches: to repeat it, first set
# model.scales and evaluate.scales to [] and prepare.patch to 128 in params.yaml, dvc repro and
# commit.
set -euo pipefail
source "$(dirname "$0")/../lib.sh" "$@"
SCORES+='|patch_psnr_y|patch_psnr_y_bicubic'  # and the fixed validation patches
COLUMNS_KEPT=$(kept_columns 'kappa|train\.(steps|degradation)')

NAMES=(clean real real-kappa4 real-steps2500)
study_begin "${NAMES[@]}"

dvc exp run -n clean "${BENCH[@]}" >/dev/null && echo "ran clean"
restore  # the workspace back at HEAD before queueing (a queued experiment copies the workspace)
dvc exp run --queue -n real "${BENCH[@]}" -S train.degradation=real >/dev/null
dvc exp run --queue -n real-kappa4 "${BENCH[@]}" -S train.degradation=real -S kappa=4.0 >/dev/null
dvc exp run --queue -n real-steps2500 "${BENCH[@]}" -S train.degradation=real -S train.steps=2500 \
  >/dev/null
echo "queued ${NAMES[*]:1}"

run_queue

write_table "$STUDY/table.md" "$COLUMNS_KEPT" <<EOF
# The real-photo study: \`studies/real/run.sh\`, then \`dvc exp show --md\`

Generated $(date -u +%Y-%m-%d) on $(nproc) CPU cores (baseline $(git rev-parse --short HEAD)). Each row is one
experiment: the committed params.yaml plus the settings its name says. Columns without a prefix score clean
(bicubic) LR; \`real.\` columns the same images degraded once by the \`real\` pipeline (Real-ESRGAN's ranges,
fixed draws per image name). \`*_gain\` is over bicubic of the same LR. psnr_y: the validation images
(chelsea, coffee); patch_*: the fixed validation patches.
EOF
