#!/usr/bin/env bash
# The clean-up knob (model.cleanup) against the clean and the plain real model, and its PSNR over
# the level told at inference, through DVC's experiment queue -> studies/cleanup/table.md.
#
#   studies/cleanup/run.sh [DATASETS]
#   DATASETS: a folder with Set5/ and Set14/ (default ../shared/datasets)
#
# clean is the x4 model on bicubic LR, real the x4 model on the `real` group's pipeline
# (Real-ESRGAN's ranges), cleanup the x4 model trained on that pipeline at a level drawn per
# patch and told it. Every row is scored on clean LR (the knob told 0) and on the real pipeline
# (fixed draws per image name; the knob told evaluate.cleanup): the cleanup-<level> rows score
# the same model at other levels (queued, each trains it again, bit for bit the same).
# clean-light and cleanup-light train and score the same way on the lighter antialiased preset
# (LIGHT in studies/lib.sh, with real.antialias=true); the -3000 rows train twice as long.
# Models are x4 alone (model.scales [], 128-pixel patches), as in studies/real/table.md. One
# worker: on a 2-core CPU two trainings at once are slower. Needs the environment (make install,
# source .venv/bin/activate) and a reproduced workspace.
set -euo pipefail
source "$(dirname "$0")/../lib.sh" "$@"
COLUMNS_KEPT=$(kept_columns 'evaluate\.cleanup')
LEVELS=(0 0.25 0.5 0.75)

NAMES=(clean real cleanup "${LEVELS[@]/#/cleanup-}" clean-light cleanup-light cleanup-light-0.5
  cleanup-light-3000 clean-3000)
study_begin "${NAMES[@]}"

queue() { dvc exp run --queue -n "$1" "${X4[@]}" "${@:2}" >/dev/null; }
queue clean
queue real -S train.degradation=real
queue cleanup "${KNOB[@]}"
for level in "${LEVELS[@]}"; do
  queue "cleanup-$level" "${KNOB[@]}" -S "evaluate.cleanup=$level"
done
queue clean-light -S real.antialias=true "${LIGHT[@]}"
queue cleanup-light "${KNOB[@]}" -S real.antialias=true "${LIGHT[@]}"
queue cleanup-light-0.5 "${KNOB[@]}" -S real.antialias=true "${LIGHT[@]}" -S evaluate.cleanup=0.5
queue cleanup-light-3000 "${KNOB[@]}" -S real.antialias=true "${LIGHT[@]}" -S train.steps=3000
queue clean-3000 -S real.antialias=true "${LIGHT[@]}" -S train.steps=3000
echo "queued ${NAMES[*]}"

run_queue

write_table "$STUDY/table.md" "$COLUMNS_KEPT" <<EOT
# The clean-up knob: \`studies/cleanup/run.sh\`, then \`dvc exp show --md\`

Generated $(date -u +%Y-%m-%d) on $(nproc) CPU cores (baseline $(git rev-parse --short HEAD)). Each row is an
x4 model scored on clean LR (no prefix; the knob told 0) and on the \`real\` pipeline (\`real.\`,
fixed draws per image name; the knob told evaluate.cleanup; the -light and -3000 rows: the lighter
antialiased preset). \`*_gain\` is over bicubic of the
same LR; psnr_y: the validation images (chelsea, coffee).
EOT
