#!/usr/bin/env bash
# The any-scale study behind metrics/study_scales.md: one model trained over x1..x4 (both ways of
# telling it the scale) against dedicated x2, x3 and x4 models of the same budget, on Set5 and
# Set14 at x2, x2.5, x3, x3.5 and x4, through DVC's experiment queue.
#
#   scripts/study_scales.sh [DATASETS]
#   DATASETS: a folder with Set5/ and Set14/ (default ../shared/datasets)
#
# `x4` is the committed default model, scored in the workspace (only the evaluate stage runs); the
# others go through `dvc exp run --queue` and `dvc queue start`, one worker (on a 2-core CPU two
# trainings at once are slower than one after the other). Each is scored on clean (bicubic) LR
# only. scripts/scales_table.py turns `dvc exp show --json` into the table. Needs the environment
# (make install, source .venv/bin/activate) and a reproduced workspace.
set -euo pipefail
cd "$(dirname "$0")/.."
DATA=$(cd "${1:-../shared/datasets}" && pwd)
COMMON=(-S "evaluate.benchmarks=[$DATA/Set5,$DATA/Set14]" -S "evaluate.degradations=[bicubic]")
ANY=(-S "model.scales=[1,4]" -S "evaluate.scales=[2,2.5,3,3.5]")

dvc status --quiet || { echo "run dvc repro first: the workspace must hold the default model" >&2; exit 1; }
git diff --quiet HEAD -- params.yaml dvc.lock metrics dvclive ||
  { echo "commit params.yaml, dvc.lock, metrics/ and dvclive/ first: the study restores them" >&2; exit 1; }
NAMES=(x4 x2 x3 any any-channel any-2to4)
dvc exp remove -q "${NAMES[@]}" 2>/dev/null || true  # a second run replaces the first
restore() { git checkout -q HEAD -- params.yaml dvc.lock metrics dvclive && dvc checkout -q; }
trap restore EXIT  # whatever happens, the workspace ends at HEAD

dvc exp run -n x4 "${COMMON[@]}" >/dev/null && echo "ran x4"
restore  # the workspace back at HEAD before queueing (a queued experiment copies the workspace)
dvc exp run --queue -n x2 "${COMMON[@]}" -S prepare.scale=2 >/dev/null
dvc exp run --queue -n x3 "${COMMON[@]}" -S prepare.scale=3 >/dev/null
dvc exp run --queue -n any "${COMMON[@]}" "${ANY[@]}" >/dev/null
dvc exp run --queue -n any-channel "${COMMON[@]}" "${ANY[@]}" -S model.scale_input=channel >/dev/null
dvc exp run --queue -n any-2to4 "${COMMON[@]}" -S "model.scales=[2,4]" \
  -S "evaluate.scales=[2,2.5,3,3.5]" >/dev/null
echo "queued ${NAMES[*]:1}"

dvc queue start -j 1
while s=$(dvc queue status) && grep -qE "Queued|Running" <<<"$s"; do sleep 30; done
dvc queue status

dvc exp show --json --no-pager >metrics/study_scales.json.tmp
python scripts/scales_table.py metrics/study_scales.json.tmp "${NAMES[@]}" >metrics/study_scales.md.tmp
rm metrics/study_scales.json.tmp
mv metrics/study_scales.md.tmp metrics/study_scales.md
echo "wrote metrics/study_scales.md"
