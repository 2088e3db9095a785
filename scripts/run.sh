#!/usr/bin/env bash
# Builds the release app and serves it on http://127.0.0.1:3000 with the embedded SQLite database.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
source scripts/env.sh
exec cargo leptos serve --release --precompress --split
