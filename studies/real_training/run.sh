#!/usr/bin/env bash
# How the clean-up knob model is trained, on the lighter antialiased preset: the share of patches
# at the chain's last step (train.final_share, the step the 1-step sampler uses), the DCT loss
# weight, kappa, the width and, with the best shares, the training length, through DVC's
# experiment queue -> studies/real_training/table.md.
#
#   studies/real_training/run.sh [DATASETS]
#   DATASETS: a folder with Set5/ and Set14/ (default ../shared/datasets)
#
# Every row is an x4 model (model.scales [], 128-pixel patches, as studies/cleanup/table.md)
# scored on clean LR (no prefix; the knob told 0) and on the lighter preset (`real.`, fixed draws
# per image name; the knob told 1). knob-light is the knob model of studies/cleanup/table.md's
# cleanup-light row; each other row changes what its name says (w48: model.width 48). default and
# default-final0.5 are the default pipeline's model (clean LR, x1 to x4, 192-pixel patches) without
# and with train.final_share 0.5 (their real. columns: the real group's defaults, Real-ESRGAN's).
# clean-light-final1-3000 is a clean x4 model trained as the best knob model, scored as the others.
# One worker: on a 2-core CPU two trainings at once are slower. Needs the environment (make
# install, source .venv/bin/activate) and a reproduced workspace.
set -euo pipefail
source "$(dirname "$0")/../lib.sh" "$@"
SETTINGS='kappa|train\.final_share|loss\.freq_weight|model\.width|train\.steps'
SCALES='x[23]\.(psnr_y_gain|Set5\.psnr_y_gain|Set14\.psnr_y_gain)'  # the default rows' other scales
COLUMNS_KEPT=$(kept_columns "params_count|$SETTINGS|$SCALES")

NAMES=(knob-light-final0.5 knob-light-final1 knob-light-freq0 knob-light-kappa1 knob-light-w48
  knob-light default default-final0.5 knob-light-final0.5-3000 knob-light-final1-3000
  clean-light-final1-3000)
study_begin "${NAMES[@]}"

X4_LIGHT=("${X4[@]}" -S real.antialias=true "${LIGHT[@]}")
queue() { dvc exp run --queue -n "$1" "${X4_LIGHT[@]}" "${@:2}" >/dev/null; }
queue knob-light-final0.5 "${KNOB[@]}" -S train.final_share=0.5
queue knob-light-final1 "${KNOB[@]}" -S train.final_share=1
queue knob-light-freq0 "${KNOB[@]}" -S loss.freq_weight=0
queue knob-light-kappa1 "${KNOB[@]}" -S kappa=1
queue knob-light-w48 "${KNOB[@]}" -S model.width=48
queue knob-light "${KNOB[@]}"
dvc exp run --queue -n default "${BENCH[@]}" >/dev/null
dvc exp run --queue -n default-final0.5 "${BENCH[@]}" -S train.final_share=0.5 >/dev/null
for share in 0.5 1; do
  queue "knob-light-final$share-3000" "${KNOB[@]}" -S train.final_share=$share -S train.steps=3000
done
queue clean-light-final1-3000 -S train.final_share=1 -S train.steps=3000
echo "queued ${NAMES[*]}"

run_queue

write_table "$STUDY/table.md" "$COLUMNS_KEPT" <<EOT
# Training the clean-up knob model: \`studies/real_training/run.sh\`, then \`dvc exp show --md\`

Generated $(date -u +%Y-%m-%d) on $(nproc) CPU cores (baseline $(git rev-parse --short HEAD)). Each row is an
x4 model (knob-: with the clean-up knob) scored on clean LR (no prefix; the knob told 0) and on the
lighter antialiased \`real\` preset (\`real.\`, fixed draws per image name; the knob told 1); the
default rows are the default any-scale clean model (\`x2.\`, \`x3.\`: its other scales), their \`real.\` columns on Real-ESRGAN's
reference pipeline. \`*_gain\` is over bicubic of the same LR; psnr_y: the validation images
(chelsea, coffee).
EOT
