# host:port/database/name,name. The user and password come from PGUSER and
# PGPASSWORD; the listed settings are read from the server.
PGUSER=postgres PGPASSWORD=... terraform import mcpai_postgres_tuning.db 10.0.1.20:5432/postgres/shared_buffers,work_mem
