#!/usr/bin/env bash
# End to end on a machine with an NVIDIA GPU: a server whose head node is the worker `local`
# (real NVML through the agent), a custom backend that takes GPU memory with PyTorch, a chat
# completion through /v1 with an API key, and the GPU seen busy by nvidia-smi. Prints as it goes.
set -euo pipefail
cd "$(dirname "$0")/.."
out="${OUT:-/tmp/gpu-e2e}"; mkdir -p "$out"
data="$(mktemp -d)"; port=9555; gt() { python3 -m gpustack_tui --data-dir "$data" "$@"; }
python3 -m gpustack_tui server --data-dir "$data" --port "$port" >"$out/server.log" 2>&1 &
for _ in $(seq 50); do curl -sf "http://127.0.0.1:$port/healthz" >/dev/null && break; sleep 0.2; done
sleep 3
echo "== workers"; gt workers ls; gt workers ls --json >"$out/workers.json"
mkdir -p "$data/model" && echo '{}' >"$data/model/config.json"
gt deploy gpu-echo --local-path "$data/model" --vram-gib 4 \
  --command "${BACKEND:-python3 $PWD/scripts/gpu_backend.py} --port {port} --model-name {model_name}"
running() { gt instances ls --json | python3 -c 'import json,sys; sys.exit(not any(i["state"] == "running" for i in json.load(sys.stdin)))'; }
for _ in $(seq 120); do running && break; sleep 1; done
echo "== deployments"; gt ls
key="$(gt keys create e2e --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["key"])')"
echo "== chat"
curl -s "http://127.0.0.1:$port/v1/chat/completions" -H "Authorization: Bearer $key" \
  -H "Content-Type: application/json" \
  -d '{"model":"gpu-echo","messages":[{"role":"user","content":"hello from the H100 check"}]}'
echo; echo "== nvidia-smi"; nvidia-smi --query-compute-apps=pid,used_memory --format=csv || true
instance="$(gt instances ls --json | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["name"])')"
echo "== log of $instance"; gt logs "$instance" --tail 5
gt rm gpu-echo --yes; sleep 3; gt server stop
echo "== after delete"; nvidia-smi --query-compute-apps=pid,used_memory --format=csv || true
