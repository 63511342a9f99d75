# The performance guide's index advice for the API database: the hot
# queries filter by tenant and read the newest rows first.
resource "mcpai_postgres_index" "orders_recent" {
  postgres = {
    host     = "10.0.2.10"
    user     = "app_owner" # must own the table
    password = var.db_password
    database = "app"
  }

  name  = "orders_tenant_created_at"
  table = "orders"
  columns = [
    { name = "tenant_id" },
    { name = "created_at", order = "desc", nulls = "last" },
  ]
}

# A partial index: only the open orders, which most queries ask for. The
# predicate is SQL you own, passed to the server as written.
resource "mcpai_postgres_index" "orders_open" {
  postgres = {
    host     = "10.0.2.10"
    user     = "app_owner"
    password = var.db_password
    database = "app"
  }

  name   = "orders_open_by_customer"
  schema = "sales"
  table  = "orders"
  columns = [
    { name = "customer_id" },
  ]
  where = "status = 'open' AND deleted_at IS NULL"

  timeouts = {
    create = "1h" # a concurrent build on a large table takes a while
  }
}

# Through an SSH tunnel, so the server's port need not be exposed: a GIN
# index for jsonb containment queries (attributes @> '{"color": "red"}').
resource "mcpai_postgres_index" "products_attributes" {
  ssh = {
    host = "10.0.2.10"
  }
  postgres = {
    user     = "app_owner"
    password = var.db_password
    database = "app"
  }

  name    = "products_attributes_gin"
  table   = "products"
  method  = "gin"
  columns = [{ name = "attributes" }]
}

variable "db_password" {
  type      = string
  sensitive = true
}
