# What every study does around its experiments; sourced by studies/*/run.sh as
#
#   set -euo pipefail
#   source "$(dirname "$0")/../lib.sh" "$@"
#
# Sourcing it goes to the repository's root (where the dvc commands run) and sets:
#
#   STUDY                 the study's folder, from the root (studies/NAME): its table goes there
#   DATA                  the datasets folder: the run script's first argument, a folder with
#                         Set5/ and Set14/ (default ../shared/datasets, from the root)
#   BENCH                 the -S settings that score Set5 and Set14 besides the validation images,
#                         with BEFORE: the defaults the studies before studies/photo ran under
#   PHOTO_BENCH           Set5 and Set14 scored under today's defaults (studies/photo)
#   X4                    BENCH and an x4 model alone on 128-pixel patches, as the photo studies
#                         train (model.scales [], evaluate.scales [], prepare.patch 128)
#   KNOB                  the -S settings of the clean-up knob (model.cleanup on real LR)
#   LIGHT                 the -S settings of the lighter real preset
#   SCORES                the regex of a row's scores: PSNR-Y and its gain over bicubic on the
#                         validation images, Set5 and Set14
#
# and defines:
#
#   kept_columns [RE]     the regex of a table's columns: Experiment, the columns RE matches (the
#                         settings the study varies), SCORES on clean LR and under `real.`
#   study_begin NAME...   refuse a workspace that is not reproduced or not committed (the study
#                         restores it), drop earlier runs of these names, restore it on exit
#   run_queue             run the queued experiments with one worker and wait for them
#   write_table OUT KEEP  OUT: the header on stdin, a blank line, then `dvc exp show --md` of the
#                         columns that the regex KEEP matches (written whole or not at all)

STUDY=$(cd "$(dirname "$0")" && pwd)
cd "$(dirname "${BASH_SOURCE[0]}")/.."
STUDY=${STUDY#"$PWD"/}
DATA=$(cd "${1:-../shared/datasets}" && pwd)

# The defaults the studies before studies/photo ran under (the real group at Real-ESRGAN's ranges,
# the auto keys at the clean model's values, the knob off): pinned first, so that their settings
# (set after, the last -S of a key wins) still mean what they meant.
BEFORE=(-S train.steps=1500 -S train.final_share=0 -S model.cleanup=false -S prepare.patch=192
  -S "model.scales=[1,4]" -S "evaluate.scales=[2,3]" -S evaluate.cleanup=1
  -S "evaluate.degradations=[bicubic,real]" -S real.antialias=false
  -S "real.blur_sigma=[0.2,3]" -S real.sinc_prob=0.1 -S "real.resize_range=[0.15,1.5]"
  -S "real.noise_range=[1,30]" -S "real.poisson_range=[0.05,3]" -S "real.jpeg_range=[30,95]"
  -S real.second_blur_prob=0.8 -S "real.blur_sigma2=[0.2,1.5]" -S "real.resize_range2=[0.3,1.2]"
  -S "real.noise_range2=[1,25]" -S "real.poisson_range2=[0.05,2.5]" -S "real.jpeg_range2=[30,95]"
  -S real.final_sinc_prob=0.8)
BENCH=(-S "evaluate.benchmarks=[$DATA/Set5,$DATA/Set14]" "${BEFORE[@]}")
PHOTO_BENCH=(-S "evaluate.benchmarks=[$DATA/Set5,$DATA/Set14]")  # today's defaults (studies/photo)
X4=("${BENCH[@]}" -S "model.scales=[]" -S "evaluate.scales=[]" -S prepare.patch=128)
KNOB=(-S train.degradation=real -S model.cleanup=true)

# The lighter real preset of the studies: Real-ESRGAN's kinds, milder ranges, rare sinc (with
# real.antialias=true in them).
LIGHT=(-S "real.blur_sigma=[0.2,1.5]" -S real.sinc_prob=0.05 -S "real.resize_range=[0.5,1.5]"
  -S "real.noise_range=[1,20]" -S "real.poisson_range=[0.05,2]" -S "real.jpeg_range=[50,95]"
  -S real.second_blur_prob=0.3 -S "real.blur_sigma2=[0.2,1.0]" -S "real.resize_range2=[0.7,1.2]"
  -S "real.noise_range2=[1,15]" -S "real.poisson_range2=[0.05,1.5]" -S "real.jpeg_range2=[50,95]"
  -S real.final_sinc_prob=0.1)

SCORES='psnr_y|psnr_y_gain|Set5\.(psnr_y|psnr_y_gain)|Set14\.(psnr_y|psnr_y_gain)'

kept_columns() { printf '%s\n' "^(Experiment|${1:+$1|}$SCORES|real\\.($SCORES))\$"; }

restore() { git checkout -q HEAD -- params.yaml dvc.lock metrics dvclive && dvc checkout -q; }

study_begin() {
  dvc status --quiet || { echo "run dvc repro first: the workspace must hold the default model" >&2; exit 1; }
  git diff --quiet HEAD -- params.yaml dvc.lock metrics dvclive ||
    { echo "commit params.yaml, dvc.lock, metrics/ and dvclive/ first: the study restores them" >&2; exit 1; }
  dvc exp remove -q "$@" 2>/dev/null || true  # a second run replaces the first
  trap restore EXIT  # whatever happens, the workspace ends at HEAD
}

# One worker: on a 2-core CPU two trainings at once are much slower than one after the other. A
# worker can exit with experiments still queued; a new one is started only when none is left and
# nothing runs (the status can report no worker while one runs a task).
run_queue() {
  local s
  while s=$(dvc queue status) && grep -qE "Queued|Running" <<<"$s"; do
    ! grep -q Running <<<"$s" && grep -q "Worker status: 0 active, 0 idle" <<<"$s" &&
      dvc queue start -j 1 >/dev/null
    sleep 30
  done
  dvc queue status
}

write_table() {
  { cat; echo; dvc exp show --md --no-pager --drop '.*' --keep "$2"; } >"$1.tmp"
  mv "$1.tmp" "$1"
  echo "wrote $1"
}
