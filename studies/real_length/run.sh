#!/usr/bin/env bash
# How far training length and the learning rate take the best photo recipe (the clean-up knob on
# the lighter antialiased preset, train.final_share 1, Sun_Hays80's 80 photos): two, four and eight
# times the 3,000 steps that fit the 10-minute budget, a clean model trained four times as long, and
# the budget's 3,000 steps at twice the learning rate, through DVC's experiment queue ->
# studies/real_length/table.md (the 3,000-step rows: studies/real_data/table.md).
#
#   [ROWS="NAME..."] studies/real_length/run.sh [DATASETS]
#   DATASETS: a folder with Set5/, Set14/ and Sun_Hays80/ (default ../shared/datasets)
#   ROWS: run only these of NAMES below; the others' earlier runs on the same commit stay in the
#   table (dvc exp show lists the experiments of HEAD)
#
# Rows are x4 models scored as in studies/real_data/run.sh: clean LR (no prefix; the knob told
# 0) and the lighter preset (`real.`, fixed draws per image name; the knob told 1), on the embedded
# sample's two validation images, Set5 and Set14. One worker; needs the environment (make install,
# source .venv/bin/activate) and a reproduced workspace. About 3 hours on 2 cores.
set -euo pipefail
source "$(dirname "$0")/../lib.sh" "$@"
SETTINGS='model\.cleanup|train\.steps|params\.yaml:train\.lr'  # train.lr is a metric too
COLUMNS_KEPT=$(kept_columns "$SETTINGS")

NAMES=(knob-sun-12000 clean-sun-12000 knob-sun-lr2e-3 knob-sun-24000 knob-sun-6000)
read -ra ROWS <<<"${ROWS:-${NAMES[*]}}"
((${#ROWS[@]})) || { echo "ROWS: no names (one or more of: ${NAMES[*]})" >&2; exit 1; }
for row in "${ROWS[@]}"; do
  [[ " ${NAMES[*]} " == *" $row "* ]] ||
    { echo "ROWS: no row $row (one of: ${NAMES[*]})" >&2; exit 1; }
done
study_begin "${ROWS[@]}"
VALID=${TMPDIR:-/tmp}/srcore-sample-valid  # as in studies/real_data/run.sh
mkdir -p "$VALID" && cp data/raw/valid/* "$VALID"

RECIPE=("${X4[@]}" -S real.antialias=true "${LIGHT[@]}" -S train.final_share=1
  -S data.source=folder -S "data.train_dir=$DATA/Sun_Hays80" -S "data.valid_dir=$VALID")
queue() {
  [[ " ${ROWS[*]} " == *" $1 "* ]] || return 0
  dvc exp run --queue -n "$1" "${RECIPE[@]}" "${@:2}" >/dev/null
}
queue knob-sun-12000 "${KNOB[@]}" -S train.steps=12000
queue clean-sun-12000 -S train.steps=12000
queue knob-sun-lr2e-3 "${KNOB[@]}" -S train.steps=3000 -S train.lr=0.002
queue knob-sun-24000 "${KNOB[@]}" -S train.steps=24000
queue knob-sun-6000 "${KNOB[@]}" -S train.steps=6000
echo "queued ${ROWS[*]}"

run_queue

write_table "$STUDY/table.md" "$COLUMNS_KEPT" <<EOT
# Training length and learning rate of the photo recipe: \`studies/real_length/run.sh\`, then \`dvc exp show --md\`

Generated $(date -u +%Y-%m-%d) on $(nproc) CPU cores (baseline $(git rev-parse --short HEAD)). workspace and
main are the default pipeline's model; each other row is an x4 model trained on Sun_Hays80's 80
photos as the best photo recipe (clean-up knob, lighter antialiased preset, final_share 1; clean-:
without the knob, on clean LR) scored on clean LR (no prefix; the knob told 0) and on the lighter
preset (\`real.\`, fixed draws per image name; the knob told 1). -6000, -12000, -24000: two,
four and eight times the budget's 3,000 steps; -lr2e-3: 3,000 steps at train.lr 0.002 (the
others: 0.001). \`*_gain\` is over bicubic of the same LR; psnr_y: the validation images
(chelsea, coffee).
EOT
