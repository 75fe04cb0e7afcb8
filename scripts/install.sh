#!/usr/bin/env bash
# Fresh-machine install: a virtual environment in .venv with assess, its models and test tools.
# torch is pinned first to the CPU build that lies on local disk (an unpinned torch would pull GBs of CUDA).
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q torch==2.13.0
.venv/bin/python -m pip install -q -e '.[test,llama,models,hf,inspect,docs]'
