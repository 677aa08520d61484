#!/bin/sh
# Run once by the postgres image on an empty data directory (compose.yaml): the bot's runtime
# role, which owns nothing, is no superuser and cannot bypass row-level security.
# `nezuko migrate` (as the owner) then grants it exactly the rights it needs.
set -eu
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" \
    -v password="$NEZUKO_DB_PASSWORD" <<'SQL'
CREATE ROLE nezuko LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE PASSWORD :'password';
SQL
