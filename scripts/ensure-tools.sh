#!/usr/bin/env bash
# Installs the real components the tests run besides the control plane, from Debian's packages, when
# they are missing: Prometheus and promtool (package prometheus: the e2e scrape, `promtool check` and
# `promtool test rules`) and Chromium (the dashboard's browser test). Used by .ci/run and by the e2e
# global setup; does nothing when both are there.
set -euo pipefail
missing=()
command -v prometheus >/dev/null && command -v promtool >/dev/null || missing+=(prometheus)
[ -x /usr/bin/chromium ] || missing+=(chromium)
[ ${#missing[@]} -eq 0 ] && exit 0
echo "installing ${missing[*]} (apt-get)…" >&2
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq >&2
# No recommends: the prometheus package would bring exporters and start nothing we use.
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
