#!/usr/bin/env bash
# Installs the Debian packages sparsepim needs (Debian bookworm). Nothing is downloaded from
# anywhere but the Debian archive. Works as root, or through sudo otherwise.
set -euo pipefail

PACKAGES=(
  g++ cmake ninja-build ccache pkg-config       # toolchain
  libsystemc-dev                               # SystemC 2.3.4 + TLM-2.0
  libgtest-dev libgmock-dev                    # GoogleTest
  nlohmann-json3-dev libcli11-dev              # configs, command line
  verilator iverilog yosys                     # PIM ALU RTL: co-simulation, lint, synthesis
  gtkwave                                      # waveform viewing
  python3 python3-numpy python3-matplotlib     # plots and VCD rendering (/usr/bin/python3)
)

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "setup: all ${#PACKAGES[@]} packages present"
  exit 0
fi

SUDO=()
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "setup: not root and no sudo: install ${missing[*]} by hand" >&2; exit 1; }
  SUDO=(sudo)
fi
echo "setup: installing ${missing[*]}"
"${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq
"${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
