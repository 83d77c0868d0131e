#!/usr/bin/env bash
# The photo model one command trains (`-S train.degradation=real`: the auto keys take the photo
# recipe) against the clean default model, the previous recipes and Real-ESRGAN's ranges, through
# DVC's experiment queue -> studies/photo/table.md.
#
#   studies/photo/run.sh [DATASETS]
#   DATASETS: a folder with Set5/ and Set14/ (default ../shared/datasets)
#
# Every row is scored by the evaluate stage on every named degradation (srcore.data.named): clean
# bicubic LR (no prefix), the real group's pipeline (real.), Real-ESRGAN's (realesrgan.) and four
# fixed everyday ones (jpeg., noise., blur., blur_jpeg.), on the validation images, Set5 and Set14.
#   clean             the default pipeline: the any-scale model on bicubic LR
#   photo             the one command: train.degradation real (x4, clean-up knob and level head,
#                     the milder antialiased ranges, final_share 1, 3,000 steps, 128-pixel patches);
#                     told 0 on clean and everyday inputs, 1 on real and realesrgan (the defaults)
#   clean-x4          a clean model trained as the photo one (x4 alone, 128 pixels, final_share 1,
#                     3,000 steps): the photo model's own clean pair
# studies/photo/levels.py then scores the photo model told 0, 1 and auto beside the clean model
# (levels.md), and photo_figure.py draws one photo through both (docs/figures/photo_models.png).
# One worker: on a 2-core CPU two trainings at once are slower. Needs the environment (make
# install, source .venv/bin/activate) and a reproduced, committed workspace.
set -euo pipefail
source "$(dirname "$0")/../lib.sh" "$@"
GAINS='psnr_y_gain|level|Set5\.psnr_y_gain|Set14\.psnr_y_gain'
BLOCKS='real|realesrgan|jpeg|noise|blur|blur_jpeg'
COLUMNS_KEPT="^(Experiment|train\\.degradation|evaluate\\.cleanup|$GAINS|($BLOCKS)\\.($GAINS))\$"

NAMES=(clean photo clean-x4)
study_begin "${NAMES[@]}"
queue() { dvc exp run --queue -n "$1" "${PHOTO_BENCH[@]}" "${@:2}" >/dev/null; }
queue clean
queue photo -S train.degradation=real
queue clean-x4 -S "model.scales=[]" -S prepare.patch=128 -S train.steps=3000 \
  -S train.final_share=1 -S "evaluate.scales=[]"
echo "queued ${NAMES[*]}"

run_queue

write_table "$STUDY/table.md" "$COLUMNS_KEPT" <<EOT
# The photo model one command trains: \`studies/photo/run.sh\`, then \`dvc exp show --md\`

Generated $(date -u +%Y-%m-%d) on $(nproc) CPU cores (baseline $(git rev-parse --short HEAD)). Rows:
studies/photo/run.sh. \`*_gain\` is PSNR-Y over bicubic of the same LR (dB); no prefix: clean
bicubic LR; real.: the real group's pipeline; realesrgan.: Real-ESRGAN's; jpeg., noise., blur.,
blur_jpeg.: the fixed everyday degradations (srcore.data.named). psnr_y: the validation images
(chelsea, coffee); Set5., Set14.: the benchmarks. level: the mean clean-up level a model told
auto picked for those inputs (none here: the defaults tell fixed levels; levels.py scores auto).
EOT
