#!/usr/bin/env bash
# Lighthouse's performance score of the executive dashboard on a phone (its default mobile
# emulation, --preset=perf), against a running Engage with the demo loaded:
#
#   make run PORT=8000            # in another terminal (or manage.py serve with DEBUG=1)
#   scripts/lighthouse.sh [BASE_URL] [PATH]
#
# BASE_URL defaults to http://127.0.0.1:8000, PATH to /dashboard/. Signs in as exec@demo.engage
# by a session made in the same database (DATABASE_URL as the server's), so the run needs no
# password. Needs `npm ci` (lighthouse is a pinned dev dependency) and Chromium (CHROME_PATH,
# Debian's /usr/bin/chromium by default). Not part of CI: a score depends on the machine.
# Writes the full report to var/lighthouse/ and prints the score and the main timings.
set -euo pipefail
cd "$(dirname "$0")/.."

base="${1:-http://127.0.0.1:8000}"
path="${2:-/dashboard/}"
export CHROME_PATH="${CHROME_PATH:-/usr/bin/chromium}"
lighthouse="${LIGHTHOUSE:-node_modules/.bin/lighthouse}"
if [ ! -x "$lighthouse" ]; then
  echo "lighthouse.sh: $lighthouse is missing; run npm ci" >&2
  exit 1
fi

cookie="$(DEBUG="${DEBUG:-1}" .venv/bin/python manage.py shell -v 0 -c '
from django.conf import settings
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
from importlib import import_module
from accounts.models import User
user = User.objects.get(email="exec@demo.engage")
session = import_module(settings.SESSION_ENGINE).SessionStore()
session[SESSION_KEY] = str(user.pk)
session[BACKEND_SESSION_KEY] = settings.AUTHENTICATION_BACKENDS[0]
session[HASH_SESSION_KEY] = user.get_session_auth_hash()
session.create()
print(f"{settings.SESSION_COOKIE_NAME}={session.session_key}")
')"

mkdir -p var/lighthouse
report="var/lighthouse/$(echo "$path" | tr -c 'a-z0-9\n' '-' | sed 's/^-*//; s/-*$//').json"
"$lighthouse" "$base$path" \
  --preset=perf \
  --chrome-flags="--headless=new --no-sandbox" \
  --extra-headers="{\"Cookie\": \"$cookie\"}" \
  --output=json --output-path="$report" --quiet

node -e '
const r = require(process.argv[1]);
const a = r.audits;
const ms = (k) => Math.round(a[k].numericValue) + " ms";
console.log("performance " + Math.round(r.categories.performance.score * 100) + " (" + r.finalDisplayedUrl + ")");
console.log("  first contentful paint " + ms("first-contentful-paint") + ", largest " + ms("largest-contentful-paint"));
console.log("  total blocking time " + ms("total-blocking-time") + ", speed index " + ms("speed-index") +
  ", layout shift " + a["cumulative-layout-shift"].numericValue.toFixed(3));
' "$PWD/$report"
