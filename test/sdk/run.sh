#!/usr/bin/env bash
# Runs the Stytch Node SDK (stytch@14.2.0) compatibility suite against a
# Sesame that is already running, with test/fakeproviders recording what the
# workers send. CI starts bin/api, the workers and the fakes first (see
# test/e2e/run.sh), then calls this.
#
#   SESAME_URL=http://127.0.0.1:8080/ SESAME_PROJECT_ID=project-test-… \
#   SESAME_SECRET=… FAKES_URL=http://127.0.0.1:4010 test/sdk/run.sh
#
# The suite reads codes and magic link tokens from FAKES_URL/messages only.
set -euo pipefail
cd "$(dirname "$0")"
: "${SESAME_URL:?set SESAME_URL, e.g. http://127.0.0.1:8080/}"
: "${SESAME_PROJECT_ID:?set SESAME_PROJECT_ID}"
: "${SESAME_SECRET:?set SESAME_SECRET}"
: "${FAKES_URL:?set FAKES_URL to a test/fakeproviders port, e.g. http://127.0.0.1:4010}"
export SESAME_URL SESAME_PROJECT_ID SESAME_SECRET FAKES_URL
if [ ! -f node_modules/stytch/package.json ] || ! grep -q '"version": "14.2.0"' node_modules/stytch/package.json; then
  npm ci --no-audit --no-fund --loglevel=error
fi
exec node --test "$@"
