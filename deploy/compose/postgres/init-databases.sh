#!/bin/sh
# Creates one database per service on the first start of an empty PostgreSQL volume
# (the official image runs /docker-entrypoint-initdb.d/* only then).
# POSTGRES_DATABASES: space-separated names.
set -eu

for db in ${POSTGRES_DATABASES:?list the databases to create}; do
    echo "creating database $db"
    psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname postgres <<SQL
SELECT 'CREATE DATABASE "$db" OWNER "$POSTGRES_USER"'
WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = '$db')\gexec
SQL
done
