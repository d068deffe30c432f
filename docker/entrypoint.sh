#!/bin/sh
# entrypoint.sh: the container's command. Builds `convbert serve` flags from the
# environment and exec's node in this shell's place, so node is the process the
# supervisor (tini, docker stop, Kubernetes) signals: SIGTERM drains and exits.
# Extra arguments are passed on as serve flags (docker run IMAGE --pooling cls).
#   CONVBERT_MODEL      model directory or Hub id (required)
#   CONVBERT_TASK       default feature-extraction
#   CONVBERT_HOST       default 0.0.0.0;  CONVBERT_PORT  default 8080
#   CONVBERT_DTYPE, CONVBERT_DEVICE, CONVBERT_REVISION, CONVBERT_LOG_LEVEL,
#   CONVBERT_MODEL_ID   optional, each its flag; CONVBERT_API_KEY is read by serve itself
set -eu

if [ -z "${CONVBERT_MODEL:-}" ]; then
  echo "entrypoint: set CONVBERT_MODEL to a model directory (mounted) or a Hub id like org/name" >&2
  exit 2
fi

here=$(dirname "$0")
cli="${CONVBERT_CLI:-$here/../bin/convbert.js}"

set -- serve --model "$CONVBERT_MODEL" --task "${CONVBERT_TASK:-feature-extraction}" \
  --host "${CONVBERT_HOST:-0.0.0.0}" --port "${CONVBERT_PORT:-8080}" "$@"
if [ -n "${CONVBERT_DTYPE:-}" ]; then set -- "$@" --dtype "$CONVBERT_DTYPE"; fi
if [ -n "${CONVBERT_DEVICE:-}" ]; then set -- "$@" --device "$CONVBERT_DEVICE"; fi
if [ -n "${CONVBERT_REVISION:-}" ]; then set -- "$@" --revision "$CONVBERT_REVISION"; fi
if [ -n "${CONVBERT_LOG_LEVEL:-}" ]; then set -- "$@" --log-level "$CONVBERT_LOG_LEVEL"; fi
if [ -n "${CONVBERT_MODEL_ID:-}" ]; then set -- "$@" --model-id "$CONVBERT_MODEL_ID"; fi

exec node "$cli" "$@"
