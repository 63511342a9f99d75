# host:port/database/schema.name. The user, password and sslmode come from
# PGUSER, PGPASSWORD and PGSSLMODE. Columns, order, uniqueness, method and
# predicate are read from the catalog; the predicate in the server's
# spelling, e.g. ((status = 'open'::text) AND (deleted_at IS NULL)).
PGUSER=app_owner PGPASSWORD=... terraform import mcpai_postgres_index.orders_recent 10.0.2.10:5432/app/public.orders_tenant_created_at
