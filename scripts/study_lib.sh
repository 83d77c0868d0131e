# What every study script does around its experiments; sourced by scripts/study*.sh.
#
#   study_begin NAME...   refuse a workspace that is not reproduced or not committed (the study
#                         restores it), drop earlier runs of these names, restore it on exit
#   run_queue             run the queued experiments with one worker and wait for them
#   write_table OUT KEEP  OUT: the header on stdin, a blank line, then `dvc exp show --md` of the
#                         columns that the regex KEEP matches (written whole or not at all)
#   LIGHT                 the -S settings of the lighter real preset

# The lighter real preset of the studies: Real-ESRGAN's kinds, milder ranges, rare sinc (with
# real.antialias=true in them).
LIGHT=(-S "real.blur_sigma=[0.2,1.5]" -S real.sinc_prob=0.05 -S "real.resize_range=[0.5,1.5]"
  -S "real.noise_range=[1,20]" -S "real.poisson_range=[0.05,2]" -S "real.jpeg_range=[50,95]"
  -S real.second_blur_prob=0.3 -S "real.blur_sigma2=[0.2,1.0]" -S "real.resize_range2=[0.7,1.2]"
  -S "real.noise_range2=[1,15]" -S "real.poisson_range2=[0.05,1.5]" -S "real.jpeg_range2=[50,95]"
  -S real.final_sinc_prob=0.1)

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
