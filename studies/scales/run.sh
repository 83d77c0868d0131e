#!/usr/bin/env bash
# The any-scale study behind studies/scales/table.md: one model trained over x1..x4 (the three
# ways of telling it the scale, and a narrower range) against dedicated x2, x3 and x4 models of the
# same budget, on Set5 and Set14 at x2, x2.5, x3, x3.5 and x4; the x4 model and every scale input
# again with another seed, to see how far a difference is noise; the input-plane model and the x2
# model with 4,500 steps (the 10-minute budget of a training on a 2-core CPU) and both at width 48;
# FiLM with half or all of the patches at the integer scales 2, 3 and 4 (train.integer_share);
# that model and the dedicated ones on 192-pixel patches (prepare.patch); the integer-scale
# patches drawn more often at x2 (train.integer_bias 1 or 2), on 128- and 192-pixel patches; the
# dedicated models with seed 7 too.
# Through DVC's experiment queue.
#
#   studies/scales/run.sh [DATASETS]
#   DATASETS: a folder with Set5/ and Set14/ (default ../shared/datasets)
#
# Every experiment is queued (`dvc exp run --queue`, `dvc queue start`, one worker: on a 2-core
# CPU two trainings at once are slower than one after the other) and scored on clean (bicubic) LR
# only. `any-int50-bias2-p192` is the default model (model.scales [1, 4], scale_input film,
# integer_share 0.5, integer_bias 2, prepare.patch 192); the other rows pin the settings they
# were run with (scale_input, integer_share 0, integer_bias 0, prepare.patch 128).
# studies/scales/scales_table.py turns `dvc exp show --json` into the table. Needs the environment
# (make install, source .venv/bin/activate) and a reproduced workspace.
set -euo pipefail
source "$(dirname "$0")/../lib.sh" "$@"
COMMON=("${BENCH[@]}" -S "evaluate.degradations=[bicubic]")
SINGLE=(-S "model.scales=[]" -S "evaluate.scales=[]")
ANY=(-S "evaluate.scales=[2,2.5,3,3.5]" -S train.integer_share=0)
CHANNEL=("${ANY[@]}" -S model.scale_input=channel)

NAMES=(x4 x2 x3 any any-channel any-2to4 x4-seed7 any-channel-seed7 any-seed7
  any-channel-steps4500 x2-steps4500 any-channel-w48 x2-w48 any-film any-film-seed7 any-int50
  any-int50-seed7 any-int100 any-int50-p192 any-int50-p192-seed7 x2-p192 x3-p192 x4-p192
  any-int50-bias1 any-int50-bias2 any-int50-bias1-seed7 any-int50-bias1-p192
  any-int50-bias1-p192-seed7 x2-seed7 x3-seed7 x2-p192-seed7 x3-p192-seed7 any-int50-bias2-p192
  any-int50-bias2-p192-seed7 x4-p192-seed7)
study_begin "${NAMES[@]}"

queue() {  # 128-pixel patches unless the row names prepare.patch
  local patch=(-S prepare.patch=128)
  [[ " ${*:2} " == *" prepare.patch="* ]] && patch=()
  dvc exp run --queue -n "$1" "${COMMON[@]}" "${patch[@]}" "${@:2}" >/dev/null
}
queue x4 "${SINGLE[@]}"
queue x2 "${SINGLE[@]}" -S prepare.scale=2
queue x3 "${SINGLE[@]}" -S prepare.scale=3
queue any "${ANY[@]}" -S model.scale_input=embedding
queue any-channel "${CHANNEL[@]}"
queue any-2to4 "${ANY[@]}" -S "model.scales=[2,4]" -S model.scale_input=embedding
queue x4-seed7 "${SINGLE[@]}" -S train.seed=7
queue any-channel-seed7 "${CHANNEL[@]}" -S train.seed=7
queue any-seed7 "${ANY[@]}" -S model.scale_input=embedding -S train.seed=7
queue any-channel-steps4500 "${CHANNEL[@]}" -S train.steps=4500
queue x2-steps4500 "${SINGLE[@]}" -S prepare.scale=2 -S train.steps=4500
queue any-channel-w48 "${CHANNEL[@]}" -S model.width=48
queue x2-w48 "${SINGLE[@]}" -S prepare.scale=2 -S model.width=48
queue any-film "${ANY[@]}" -S model.scale_input=film
queue any-film-seed7 "${ANY[@]}" -S model.scale_input=film -S train.seed=7
FILM=(-S "evaluate.scales=[2,2.5,3,3.5]" -S model.scale_input=film)
EVEN=("${FILM[@]}" -S train.integer_bias=0)  # the integer scales drawn evenly
queue any-int50 "${EVEN[@]}" -S train.integer_share=0.5
queue any-int50-seed7 "${EVEN[@]}" -S train.integer_share=0.5 -S train.seed=7
queue any-int100 "${EVEN[@]}" -S train.integer_share=1.0
P192=(-S prepare.patch=192)  # 2.25x the pixels of a step; 2, 3 and 4 all divide it
queue any-int50-p192 "${EVEN[@]}" -S train.integer_share=0.5 "${P192[@]}"
queue any-int50-p192-seed7 "${EVEN[@]}" -S train.integer_share=0.5 "${P192[@]}" -S train.seed=7
queue x2-p192 "${SINGLE[@]}" -S prepare.scale=2 "${P192[@]}"
queue x3-p192 "${SINGLE[@]}" -S prepare.scale=3 "${P192[@]}"
queue x4-p192 "${SINGLE[@]}" "${P192[@]}"
INT50=("${FILM[@]}" -S train.integer_share=0.5)
queue any-int50-bias1 "${INT50[@]}" -S train.integer_bias=1
queue any-int50-bias2 "${INT50[@]}" -S train.integer_bias=2
queue any-int50-bias1-seed7 "${INT50[@]}" -S train.integer_bias=1 -S train.seed=7
queue any-int50-bias1-p192 "${INT50[@]}" -S train.integer_bias=1 "${P192[@]}"
queue any-int50-bias1-p192-seed7 "${INT50[@]}" -S train.integer_bias=1 "${P192[@]}" -S train.seed=7
queue x2-seed7 "${SINGLE[@]}" -S prepare.scale=2 -S train.seed=7
queue x3-seed7 "${SINGLE[@]}" -S prepare.scale=3 -S train.seed=7
queue x2-p192-seed7 "${SINGLE[@]}" -S prepare.scale=2 "${P192[@]}" -S train.seed=7
queue x3-p192-seed7 "${SINGLE[@]}" -S prepare.scale=3 "${P192[@]}" -S train.seed=7
queue any-int50-bias2-p192 "${INT50[@]}" -S train.integer_bias=2 "${P192[@]}"
queue any-int50-bias2-p192-seed7 "${INT50[@]}" -S train.integer_bias=2 "${P192[@]}" -S train.seed=7
queue x4-p192-seed7 "${SINGLE[@]}" "${P192[@]}" -S train.seed=7
echo "queued ${NAMES[*]}"

run_queue

dvc exp show --json --no-pager >"$STUDY/table.json.tmp"
python "$STUDY/scales_table.py" "$STUDY/table.json.tmp" "${NAMES[@]}" >"$STUDY/table.md.tmp"
rm "$STUDY/table.json.tmp"
mv "$STUDY/table.md.tmp" "$STUDY/table.md"
echo "wrote $STUDY/table.md"
