#!/usr/bin/env bash
# One prepared check for a lent GPU machine (issues #7 and #8), at most 10 minutes (the sum of the step limits);
# logs and records go to OUTDIR.
# From the repository root on that machine (its own python3 and torch, no venv):
#     PYTHONPATH=src bash bench/gpu_check.sh "$OUT"
# 1. the training, SAM, stacked and distributed tests, which take the GPU as their default device;
# 2. bench/throughput.py: SGD vs SAM, this trainer (eager and torch.compile'd) vs the official-style loop, stacked
#    vs one by one (a JSON record);
# 3. one timed 200-epoch CE+DRW+SAM run of ResNet-32, bf16, on CIFAR-10-LT-shaped synthetic data (n_max 5000,
#    imbalance 100: 12,406 images; target <= 90 s on an H100);
# 4. 20 epochs of the same run compiled (inductor; compile time included) and 20 in float32, for the speed-ups
#    (the records' wall times).
# Not yet run: no session so far has had a GPU.
set -u
OUT=${1:?usage: bench/gpu_check.sh OUTDIR}
mkdir -p "$OUT"
export PYTHONPATH=${PYTHONPATH:-src}
run() {  # run NAME SECONDS CMD...: time one step, keep its output, go on if it fails
    local name=$1 limit=$2; shift 2
    local start=$SECONDS
    timeout "$limit" "$@" > "$OUT/$name.txt" 2>&1
    echo "$name: exit $? after $((SECONDS - start)) s" | tee -a "$OUT/summary.txt"
}
nvidia-smi > "$OUT/nvidia-smi.txt" 2>&1
run versions 30 python3 -c "import torch; print(torch.__version__, torch.cuda.get_device_name(0))"
run pytest 150 python3 -m pytest -q -x -p no:cacheprovider tests/test_optim.py tests/test_train.py \
    tests/test_stacked.py tests/test_distributed.py
run throughput 150 python3 bench/throughput.py --steps 20 --stacked 4
cp results/bench/throughput-*.json "$OUT/" 2>/dev/null
run paper_run_bf16 120 env SADDLE_CACHE="$OUT/cache" python3 -m saddle train --scale paper --dataset synthetic \
    --n-max 5000 --drw --sam --rho 0.5 --precision bf16 --out "$OUT/results" --quiet
run paper_run_bf16_compiled_20ep 90 env SADDLE_CACHE="$OUT/cache-compiled" python3 -m saddle train --scale paper \
    --dataset synthetic --n-max 5000 --drw --sam --rho 0.5 --precision bf16 --compile inductor --epochs 20 \
    --out "$OUT/results-compiled" --quiet
run paper_run_fp32_20ep 60 env SADDLE_CACHE="$OUT/cache-fp32" python3 -m saddle train --scale paper \
    --dataset synthetic --n-max 5000 --drw --sam --rho 0.5 --epochs 20 --out "$OUT/results-fp32" --quiet
