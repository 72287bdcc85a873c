#!/usr/bin/env bash
# One prepared check for a lent GPU machine, inside one global time budget (default 500 s); everything it writes is
# packed into OUTDIR/gpu_check.tar.gz after every step, so a call stopped at its limit still returns what finished.
# From the repository root on that machine (its own python3 and torch, no venv); the device's copy of the tree keeps
# a stale .git, so name the commit being measured:
#     SADDLE_GIT_COMMIT=<git describe --always --dirty --abbrev=40, here> PYTHONPATH=src bash bench/gpu_check.sh "$OUT" [BUDGET_S]
# 1. the training, SAM, stacked and distributed tests, which take the GPU as their default device (test_stacked
#    imports pyhessian, which that machine lacks: carry its folder and put it on PYTHONPATH);
# 2. 30 epochs of the paper-scale CE+DRW+SAM run of ResNet-32, bf16, on CIFAR-10-LT-shaped synthetic data (n_max
#    5000, imbalance 100: 12,406 images), with its progress bar (s/epoch) in the log: on an H200 (2026-11-29) its
#    first 50 epochs took 3.3 s each, so the whole 200-epoch run (about 11 minutes) does not fit in a lease;
# 3. bench/throughput.py: SGD vs SAM, this trainer (eager and torch.compile'd) vs the official-style loop, stacked
#    vs one by one (a JSON record);
# 4. bench/gpu_step.py graph and compiled: a step eager against the same step replayed as a CUDA graph;
# 5. 10 epochs of the run in float32 and 10 compiled (inductor; compile time included), for their wall times.
set -u
OUT=${1:?usage: bench/gpu_check.sh OUTDIR [BUDGET_S]}
BUDGET=${2:-500}
WORK=/tmp/gpu_check
rm -rf "$WORK" && mkdir -p "$WORK" "$OUT"
export PYTHONPATH=${PYTHONPATH:-src} PYTHONUNBUFFERED=1
pack() { tar czf "$OUT/gpu_check.tar.gz.part" -C "$WORK" --exclude='cache*' . && mv "$OUT/gpu_check.tar.gz.part" "$OUT/gpu_check.tar.gz"; }
run() {  # run NAME SECONDS CMD...: time one step (never past the budget), keep its output, go on if it fails
    local name=$1 limit=$2; shift 2
    local left=$((BUDGET - SECONDS))
    if ((left < 10)); then echo "$name: skipped, budget spent" | tee -a "$WORK/summary.txt"; return; fi
    ((limit > left)) && limit=$left
    local start=$SECONDS
    timeout "$limit" "$@" > "$WORK/$name.txt" 2>&1
    echo "$name: exit $? after $((SECONDS - start)) s (limit $limit s)" | tee -a "$WORK/summary.txt"
    pack
}
echo "${SADDLE_GIT_COMMIT:-unnamed (see usage)}" > "$WORK/commit.txt"
nvidia-smi > "$WORK/nvidia-smi.txt" 2>&1
run versions 30 python3 -c "import torch; print(torch.__version__, torch.cuda.get_device_name(0))"
run pytest 120 python3 -m pytest -q -rf --durations=8 -p no:cacheprovider tests/test_optim.py tests/test_train.py \
    tests/test_stacked.py tests/test_distributed.py
run paper_run_bf16_30ep 150 env SADDLE_CACHE="$WORK/cache" python3 -m saddle train --scale paper \
    --dataset synthetic --n-max 5000 --drw --sam --rho 0.5 --precision bf16 --epochs 30 --out "$WORK/results"
run throughput 120 python3 bench/throughput.py --steps 20 --stacked 4
run gpu_step_graph 30 python3 bench/gpu_step.py graph
run gpu_step_compiled 70 python3 bench/gpu_step.py compiled
find results/bench -name '*.json' -newer "$WORK/commit.txt" -exec cp {} "$WORK/" \;
run paper_run_fp32_10ep 60 env SADDLE_CACHE="$WORK/cache-fp32" python3 -m saddle train --scale paper \
    --dataset synthetic --n-max 5000 --drw --sam --rho 0.5 --epochs 10 --out "$WORK/results-fp32" --quiet
run paper_run_bf16_compiled_10ep 90 env SADDLE_CACHE="$WORK/cache-compiled" python3 -m saddle train --scale paper \
    --dataset synthetic --n-max 5000 --drw --sam --rho 0.5 --precision bf16 --compile inductor --epochs 10 \
    --out "$WORK/results-compiled" --quiet
pack
