#!/usr/bin/env bash
# The synthetic baseline table: the paper's two stages for the four variants on one preset and
# one seed, on CPU. Every step is skipped when its output exists, so a cut-off run resumes
# where it stopped. Usage (from anywhere, with vpsbench[model] installed):
#
#   reference_model/recipes/synthetic_baseline.sh standard 0 runs/      # or: hard 1 runs/
#   VARIANTS="image track" reference_model/recipes/synthetic_baseline.sh standard 0 runs/
#
# Writes RUNS/data/PRESET_{train,val}.h5, RUNS/PRESET_sSEED/{stage1,VARIANT}/ (checkpoints,
# losses), VARIANT.pred.h5 and VARIANT.json (vpsbench eval). Stage 1 trains `image` for 1200
# steps; stage 2 trains each variant from it for 600 steps (--init: new Fuse/Track parts start
# fresh), `image` included, so every variant gets 1800 steps. EXTRA holds further train
# options for stage 2 (e.g. EXTRA="--set model.loss_hard_negative_weight=0").
set -euo pipefail
preset=${1:?usage: synthetic_baseline.sh PRESET SEED RUNS}
seed=${2:?usage: synthetic_baseline.sh PRESET SEED RUNS}
runs=${3:?usage: synthetic_baseline.sh PRESET SEED RUNS}
variants=${VARIANTS-image fuse track fusetrack}
threads=${THREADS:-2}  # CPU runs repeat bit for bit only at one thread count
extra=${EXTRA:-}

data="$runs/data"
dir="$runs/${preset}_s${seed}"
mkdir -p "$data" "$dir"
train="$data/${preset}_train.h5"
val="$data/${preset}_val.h5"
if [[ ! -f $val || ! -f $train ]]; then
  vpsbench synth -o "$val" --train-out "$train" --videos 16 --seed 0 --preset "$preset" --force
fi

run_train() {  # OUT, then train options
  local out=$1
  shift
  local start=--force
  [[ -f $out/last.pt ]] && start=--resume
  if [[ ! -f $out/model_final.pt ]]; then
    python -m vpsbench_model.train --config synthetic-tiny --data "$train" --out "$out" \
      --seed "$seed" --device cpu --threads "$threads" --no-progress "$start" "$@" \
      2>&1 | tee "$out.log"
  fi
}

run_train "$dir/stage1" --variant image
for v in $variants; do
  # shellcheck disable=SC2086  # EXTRA is a list of options
  run_train "$dir/$v" --variant "$v" --init "$dir/stage1/model_final.pt" --steps 600 $extra
  if [[ ! -f $dir/$v.pred.h5 ]]; then
    python -m vpsbench_model.infer --checkpoint "$dir/$v/model_final.pt" --data "$val" \
      -o "$dir/$v.pred.h5" --device cpu --force 2>&1 | tr '\r' '\n' | tail -1 | tee "$dir/$v.infer.log"
  fi
  if [[ ! -f $dir/$v.json ]]; then
    vpsbench --quiet eval --gt "$val" --pred "$dir/$v.pred.h5" --json "$dir/$v.json.partial"
    mv "$dir/$v.json.partial" "$dir/$v.json"
  fi
done
