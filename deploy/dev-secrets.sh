#!/usr/bin/env sh
# Creates random local credentials for deploy/docker-compose.yml under deploy/secrets/ (git-ignored).
# Existing files are kept, so re-running is safe.
set -eu
dir="$(cd "$(dirname "$0")" && pwd)/secrets"
mkdir -p "$dir"
chmod 700 "$dir"
rand() { head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n'; }
[ -s "$dir/redis_password" ] || rand > "$dir/redis_password"
[ -s "$dir/redis_url" ] || printf 'redis://default:%s@redis:6379/0' "$(cat "$dir/redis_password")" > "$dir/redis_url"
[ -s "$dir/grafana_admin_password" ] || rand > "$dir/grafana_admin_password"
# Bind-mounted secrets keep host permissions; the worker runs as uid 10001, so files must be readable.
# The 0700 directory still keeps them from other host users.
chmod 644 "$dir"/*
echo "secrets in $dir"
