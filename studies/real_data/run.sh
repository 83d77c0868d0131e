#!/usr/bin/env bash
# The best photo recipe (the clean-up knob on the lighter antialiased preset, train.final_share 1,
# 3,000 steps) trained on more photos: the 80 Sun_Hays80 scenes against the 13 of the embedded
# sample, with the same two validation images, through DVC's experiment queue ->
# studies/real_data/table.md (the sample's rows: studies/real_training/table.md).
#
#   studies/real_data/run.sh [DATASETS]
#   DATASETS: a folder with Set5/, Set14/ and Sun_Hays80/ (default ../shared/datasets)
#
# Every row is an x4 model (model.scales [], 128-pixel patches) scored on clean LR (no prefix; the
# knob told 0) and on the lighter preset (`real.`, fixed draws per image name; the knob told 1).
# -sun rows train on Sun_Hays80 (data.source folder) and validate on the embedded sample's two
# validation images, copied to a folder outside the repository, so that every row's psnr_y is
# scored on the same images. clean- rows: clean models trained the same way, for the comparison;
# -seed145 rows: the same with another train.seed, for the spread between seeds.
# One worker: on a 2-core CPU two trainings at once are slower. Needs the environment (make
# install, source .venv/bin/activate) and a reproduced workspace.
set -euo pipefail
source "$(dirname "$0")/../lib.sh" "$@"
SETTINGS='data\.source|train\.final_share|model\.cleanup|train\.steps|train\.seed'
COLUMNS_KEPT=$(kept_columns "$SETTINGS")

NAMES=(knob-sun clean-sun knob-sun-seed145 clean-sun-seed145)
study_begin "${NAMES[@]}"
# the sample's validation images, where data.source=folder can read them (a fixed path: the
# experiments' params name it)
VALID=${TMPDIR:-/tmp}/srcore-sample-valid
mkdir -p "$VALID" && cp data/raw/valid/* "$VALID"

RECIPE=("${X4[@]}" -S real.antialias=true "${LIGHT[@]}" -S train.final_share=1 -S train.steps=3000)
SUN=(-S data.source=folder -S "data.train_dir=$DATA/Sun_Hays80" -S "data.valid_dir=$VALID")
queue() { dvc exp run --queue -n "$1" "${RECIPE[@]}" "${@:2}" >/dev/null; }
queue knob-sun "${KNOB[@]}" "${SUN[@]}"
queue clean-sun "${SUN[@]}"
queue knob-sun-seed145 "${KNOB[@]}" "${SUN[@]}" -S train.seed=145  # a second seed of each
queue clean-sun-seed145 "${SUN[@]}" -S train.seed=145
echo "queued ${NAMES[*]}"

run_queue

write_table "$STUDY/table.md" "$COLUMNS_KEPT" <<EOT
# More photos for the clean-up model: \`studies/real_data/run.sh\`, then \`dvc exp show --md\`

Generated $(date -u +%Y-%m-%d) on $(nproc) CPU cores (baseline $(git rev-parse --short HEAD)). workspace and
main are the default pipeline's model; each other row is an x4 model trained as the best photo
recipe (clean-up knob, lighter antialiased preset, final_share 1, 3,000 steps; clean-: without the
knob, on clean LR) scored on clean LR (no prefix; the knob told 0)
and on the lighter preset (\`real.\`, fixed draws per image name; the knob told 1). -sun: trained on
Sun_Hays80's 80 photos instead of the sample's 13. \`*_gain\` is over bicubic of the same LR;
psnr_y: the validation images (chelsea, coffee). -seed145: train.seed 145 (the others: 144).
EOT
