#!/usr/bin/env bash
# The real pipeline with antialiased resizes (real.antialias=true), against Real-ESRGAN's plain
# ones, through DVC's experiment queue -> studies/real_antialias/table.md.
#
#   studies/real_antialias/run.sh [DATASETS]
#   DATASETS: a folder with Set5/ and Set14/ (default ../shared/datasets)
#
# Every row trains and scores with real.antialias=true, so its `real.` columns score the
# antialiased pipeline (fixed draws per image name): clean-aa is the clean x4 model on it, real-aa
# a model trained on it, real-off-aa a model trained on its shrink alone (the keys of
# studies/real_parts/run.sh's real-off); clean-light and light-aa do the same on a lighter preset
# (LIGHT in studies/lib.sh: Real-ESRGAN's kinds, milder ranges, rare sinc). Models are x4 alone
# (model.scales [], 128-pixel patches), as in studies/real/table.md and
# studies/real_parts/table.md. One worker: on a 2-core CPU two trainings at once are slower. Needs
# the environment (make install, source .venv/bin/activate) and a reproduced workspace.
set -euo pipefail
source "$(dirname "$0")/../lib.sh" "$@"
COLUMNS_KEPT=$(kept_columns)

NAMES=(clean-aa real-aa real-off-aa clean-light light-aa)
study_begin "${NAMES[@]}"

AA=("${X4[@]}" -S real.antialias=true)
OFF=(-S "real.blur_sigma=[0.1,0.1]" -S real.sinc_prob=0 -S "real.resize_chances=[0,0,1]"
  -S real.gaussian_noise_prob=1 -S "real.noise_range=[0,0]" -S "real.jpeg_range=[100,100]"
  -S real.second_blur_prob=0 -S "real.resize_chances2=[0,0,1]" -S "real.noise_range2=[0,0]"
  -S "real.jpeg_range2=[100,100]" -S real.final_sinc_prob=0)
queue() { dvc exp run --queue -n "$1" "${AA[@]}" "${@:2}" >/dev/null; }
queue clean-aa
queue real-aa -S train.degradation=real
queue real-off-aa -S train.degradation=real "${OFF[@]}"
queue clean-light "${LIGHT[@]}"
queue light-aa -S train.degradation=real "${LIGHT[@]}"
echo "queued ${NAMES[*]}"

run_queue

write_table "$STUDY/table.md" "$COLUMNS_KEPT" <<EOF
# The real pipeline with antialiased resizes: \`studies/real_antialias/run.sh\`, then \`dvc exp show --md\`

Generated $(date -u +%Y-%m-%d) on $(nproc) CPU cores (baseline $(git rev-parse --short HEAD)). Each row is an
x4 model scored on clean LR (no prefix) and on the \`real\` pipeline with real.antialias=true
(\`real.\`, fixed draws per image name; real-off-aa: its shrink alone; clean-light, light-aa:
the lighter preset). \`*_gain\` is over bicubic of the same LR; psnr_y: the validation images
(chelsea, coffee).
EOF
