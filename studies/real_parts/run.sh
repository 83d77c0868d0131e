#!/usr/bin/env bash
# Where the real degradation's PSNR goes: one x4 model per part of the `real` pipeline, trained and
# scored on that part alone, through DVC's experiment queue -> studies/real_parts/table.md.
#
#   studies/real_parts/run.sh [DATASETS]
#   DATASETS: a folder with Set5/ and Set14/ (default ../shared/datasets)
#
# Each experiment turns every part of the `real` group off (real-off) or all but one (the group's
# own keys, no code of its own): real-noise keeps the second stage's Gaussian noise (sigma 5 to 25
# on the LR), real-jpeg the final JPEG (quality 30 to 95), real-blur the first stage's blur kernels
# (sigma 0.2 to 3, sinc at 10 %) without the final sinc. What cannot be switched off stays in every
# row, real-off included: the shrink to the LR size by a random one of area, bilinear and bicubic
# (not antialiased, as Real-ESRGAN's), a 0.1-sigma kernel and JPEG at quality 100 (4:2:0 chroma).
# Models are x4 alone (model.scales [], 128-pixel patches), as in studies/real/table.md. One
# worker: on a 2-core CPU two trainings at once are slower. Needs the environment (make install,
# source .venv/bin/activate) and a reproduced workspace.
set -euo pipefail
source "$(dirname "$0")/../lib.sh" "$@"
COLUMNS_KEPT=$(kept_columns)

NAMES=(real-off real-noise real-jpeg real-blur)
study_begin "${NAMES[@]}"

OFF=("${X4[@]}" -S train.degradation=real -S "real.blur_sigma=[0.1,0.1]" -S real.sinc_prob=0
  -S "real.resize_chances=[0,0,1]"
  -S real.gaussian_noise_prob=1 -S "real.noise_range=[0,0]" -S "real.jpeg_range=[100,100]"
  -S real.second_blur_prob=0 -S "real.resize_chances2=[0,0,1]" -S "real.noise_range2=[0,0]"
  -S "real.jpeg_range2=[100,100]" -S real.final_sinc_prob=0)
queue() { dvc exp run --queue -n "$1" "${OFF[@]}" "${@:2}" >/dev/null; }
queue real-off
queue real-noise -S "real.noise_range2=[5,25]"
queue real-jpeg -S "real.jpeg_range2=[30,95]"
queue real-blur -S "real.blur_sigma=[0.2,3.0]" -S real.sinc_prob=0.1
echo "queued ${NAMES[*]}"

run_queue

write_table "$STUDY/table.md" "$COLUMNS_KEPT" <<EOF
# The real degradation part by part: \`studies/real_parts/run.sh\`, then \`dvc exp show --md\`

Generated $(date -u +%Y-%m-%d) on $(nproc) CPU cores (baseline $(git rev-parse --short HEAD)). Each row is an
x4 model trained on one part of the \`real\` pipeline (real-off: none) and scored on clean LR (no
prefix) and on the same part (\`real.\`, fixed draws per image name). \`*_gain\` is over bicubic of
the same LR; psnr_y: the validation images (chelsea, coffee).
EOF
