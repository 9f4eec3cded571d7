#!/bin/sh
# Writes a compose .env with fresh random secrets and a new auth signing key.
# Usage: sh deploy/compose/generate-env.sh [path]   (default: .env; never overwrites)
set -eu

target="${1:-.env}"
if [ -e "$target" ]; then
    echo "$target exists; not overwriting it" >&2
    exit 1
fi
command -v openssl >/dev/null || { echo "openssl is needed" >&2; exit 1; }

umask 077
key="$(openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 2>/dev/null)"
{
    echo "POSTGRES_USER=suite"
    echo "POSTGRES_PASSWORD=$(openssl rand -hex 32)"
    echo "REDIS_PASSWORD=$(openssl rand -hex 32)"
    printf 'AUTH_SIGNING_KEY_PEM="%s"\n' "$key"
} > "$target"
echo "wrote $target (mode 600)"
