"""The demo API: a real FastAPI app (Debian bookworm's python3-fastapi 0.92),
served by uvicorn 0.17.6 as `uvicorn main:app` in mcpai-demo-fastapi:latest
(built by scripts/sandbox.sh FROM mcpai-debian-stack:latest).

    GET  /health          200 {"status":"ok"}; touches no database
    POST /api/requests    inserts a row ({"payload": "..."} or no body) through
                          the worker's asyncpg pool, drops the cached summary;
                          201 {"id", "payload", "created_at"}
    GET  /api/requests    {"count", "last" (the newest rows), "cache": "hit",
                          "miss" or "off"}, the summary kept in Redis for
                          API_CACHE_TTL_SECONDS (default 5)
    GET  /api/compute?n=N N rounds of SHA-256 (0..1000000, default 1000) on a
                          worker thread; 422 otherwise
    GET  /slow?ms=N       sleeps N ms (0..600000), then {"slept_ms": N}
    GET  /status/<code>   answers <code> (200..599), {"status": <code>}
    GET  /metrics         Prometheus text (below)

/health, /slow, /status/<code> and /metrics answer as the Go stand-in
(internal/acctest/testdata/demoapi) does, so tests can use either.

The database: DATABASE_HOST (unset: /api/requests answers 503, the rest
works), DATABASE_PORT (5432), DATABASE_USER, DATABASE_PASSWORD,
DATABASE_NAME, as modules/mcpai-stack passes them; API_DB_POOL_SIZE
connections per worker (default 5). The pool is made at startup, or at the
first request when the database was not reachable then (503 until it is);
its table is created if missing. Prepared statements are not cached
(statement_cache_size 0), so the pool also works through PgBouncer in
transaction pooling. Redis: REDIS_URL, or REDIS_HOST, REDIS_PORT (6379) and
REDIS_PASSWORD; without either the summary is read from the database each
time ("cache": "off"), and a Redis that fails is logged and skipped.

Metrics, the names the Go stand-in exports, path being the route template
(/status/{code}; "none" for a 404):
    http_requests_total{method,path,status}          counter
    http_request_duration_seconds{method,path}       histogram
    http_requests_in_progress{method,path}           gauge, requests being served
    http_request_errors_total{method,path,status}    counter, 5xx answers
With PROMETHEUS_MULTIPROC_DIR set (the image sets it, and its uvicorn
command empties the folder before it starts the server), prometheus_client
runs in multiprocess mode: /metrics sums every uvicorn worker.
"""

import asyncio
import hashlib
import json
import logging
import os
import time
from typing import Optional

# prometheus_client picks its multiprocess mode when imported, and writes its
# files as soon as a metric is made: the folder must exist first.
MULTIPROC_DIR = os.environ.get("PROMETHEUS_MULTIPROC_DIR", "")
if MULTIPROC_DIR:
    os.makedirs(MULTIPROC_DIR, exist_ok=True)

import asyncpg  # noqa: E402
import redis.asyncio as aioredis  # noqa: E402
from fastapi import FastAPI, HTTPException, Path, Query  # noqa: E402
from fastapi.responses import JSONResponse, Response  # noqa: E402
from prometheus_client import (  # noqa: E402
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)
from pydantic import BaseModel, Field  # noqa: E402
from starlette.routing import Match  # noqa: E402

log = logging.getLogger("uvicorn.error")

TABLE = "mcpai_api_requests"
CACHE_KEY = "mcpai:api:requests:summary"
LAST_ROWS = 10
COMPUTE_MAX = 1_000_000


def env_int(name: str, default: int, low: int) -> int:
    raw = os.environ.get(name, "")
    if raw == "":
        return default
    value = int(raw)  # a bad value stops the worker at import, with the name in the traceback
    if value < low:
        raise ValueError(f"{name} must be at least {low}, got {value}")
    return value


POOL_SIZE = env_int("API_DB_POOL_SIZE", 5, 1)
CACHE_TTL = env_int("API_CACHE_TTL_SECONDS", 5, 1)

REQUESTS = Counter("http_requests_total", "Total number of requests by method, path and status.",
                   ["method", "path", "status"])
# The Go client's default buckets, as the Go stand-in has them.
DURATION = Histogram("http_request_duration_seconds", "Duration of requests in seconds, by method and path.",
                     ["method", "path"], buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10))
IN_PROGRESS = Gauge("http_requests_in_progress", "Requests being served, by method and path.",
                    ["method", "path"], multiprocess_mode="livesum")
ERRORS = Counter("http_request_errors_total", "Requests answered with a 5xx status, by method, path and status.",
                 ["method", "path", "status"])

app = FastAPI(title="mcpai demo API", version="1.0")


def route_of(scope) -> str:
    """The template of the route scope matches ("none" when none does)."""
    partial = None
    for route in app.router.routes:
        match, _ = route.matches(scope)
        if match == Match.FULL:
            return route.path
        if match == Match.PARTIAL and partial is None:
            partial = route.path  # the path matched, the method did not: 405
    return partial or "none"


class Metrics:
    """ASGI middleware that counts and times every HTTP request by route."""

    def __init__(self, app):  # Starlette passes the inner app as app=
        self.asgi = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            await self.asgi(scope, receive, send)
            return
        method, path = scope["method"], route_of(scope)
        status = 500  # unless a response starts: an exception is answered 500 further out

        async def send_status(message):
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        in_progress = IN_PROGRESS.labels(method, path)
        in_progress.inc()
        start = time.perf_counter()
        try:
            await self.asgi(scope, receive, send_status)
        finally:
            DURATION.labels(method, path).observe(time.perf_counter() - start)
            REQUESTS.labels(method, path, str(status)).inc()
            if status >= 500:
                ERRORS.labels(method, path, str(status)).inc()
            in_progress.dec()


app.add_middleware(Metrics)


class Database:
    """The worker's asyncpg pool, made once the database answers."""

    def __init__(self):
        self.host = os.environ.get("DATABASE_HOST", "")
        self.pool: Optional[asyncpg.Pool] = None
        self.lock = asyncio.Lock()

    async def connect(self) -> asyncpg.Pool:
        if not self.host:
            raise HTTPException(503, "no database configured: set DATABASE_HOST (and DATABASE_PORT, DATABASE_USER, "
                                     "DATABASE_PASSWORD, DATABASE_NAME)")
        async with self.lock:
            if self.pool is None:
                try:
                    self.pool = await self.open()
                except (OSError, asyncio.TimeoutError, asyncpg.PostgresError) as e:
                    raise HTTPException(503, f"database {self.host} not reachable: {type(e).__name__}: {e}") from e
        return self.pool

    async def open(self) -> asyncpg.Pool:
        pool = await asyncpg.create_pool(
            host=self.host,
            port=int(os.environ.get("DATABASE_PORT") or 5432),
            user=os.environ.get("DATABASE_USER") or None,
            password=os.environ.get("DATABASE_PASSWORD") or None,
            database=os.environ.get("DATABASE_NAME") or None,
            min_size=1,
            max_size=POOL_SIZE,
            timeout=5,
            command_timeout=30,
            statement_cache_size=0,  # PgBouncer in transaction pooling keeps no prepared statements
        )
        try:
            async with pool.acquire() as conn, conn.transaction():
                # Workers start together: one creates the table at a time.
                await conn.execute("SELECT pg_advisory_xact_lock(hashtext($1))", TABLE)
                await conn.execute(f"CREATE TABLE IF NOT EXISTS {TABLE} (id bigserial PRIMARY KEY, payload text NOT NULL, "
                                   "created_at timestamptz NOT NULL DEFAULT now())")
        except BaseException:
            await pool.close()
            raise
        return pool

    async def close(self):
        if self.pool is not None:
            await self.pool.close()


def redis_client() -> Optional[aioredis.Redis]:
    if url := os.environ.get("REDIS_URL"):
        return aioredis.from_url(url, socket_timeout=2, socket_connect_timeout=2)
    if host := os.environ.get("REDIS_HOST"):
        return aioredis.Redis(host=host, port=int(os.environ.get("REDIS_PORT") or 6379),
                              password=os.environ.get("REDIS_PASSWORD") or None,
                              socket_timeout=2, socket_connect_timeout=2)
    return None


db = Database()
cache = redis_client()


@app.exception_handler(asyncpg.PostgresError)
@app.exception_handler(asyncpg.InterfaceError)
@app.exception_handler(OSError)
async def database_failed(request, exc):
    # The pool was made, but the database went away or refused a statement.
    return JSONResponse({"detail": f"database error: {type(exc).__name__}: {exc}"}, status_code=503)


@app.on_event("startup")
async def startup():
    if not db.host:
        log.warning("DATABASE_HOST is not set: /api/requests answers 503")
        return
    try:
        await db.connect()
    except HTTPException as e:
        log.warning("%s; trying again at the next request", e.detail)


@app.on_event("shutdown")
async def shutdown():
    await db.close()
    if cache is not None:
        await cache.close()
    if MULTIPROC_DIR:
        multiprocess.mark_process_dead(os.getpid())


@app.get("/health")
async def health():
    return {"status": "ok"}


class NewRequest(BaseModel):
    payload: str = Field("", max_length=1000)


def row_json(row) -> dict:
    return {"id": row["id"], "payload": row["payload"], "created_at": row["created_at"].isoformat()}


async def cache_call(what: str, call):
    """call() on Redis; None when Redis is off or fails (logged)."""
    if cache is None:
        return None
    try:
        return await call()
    except (aioredis.RedisError, OSError, asyncio.TimeoutError) as e:
        log.warning("redis %s failed: %s: %s", what, type(e).__name__, e)
        return None


@app.post("/api/requests", status_code=201)
async def create_request(body: Optional[NewRequest] = None):
    pool = await db.connect()
    row = await pool.fetchrow(f"INSERT INTO {TABLE} (payload) VALUES ($1) RETURNING id, payload, created_at",
                              body.payload if body else "")
    await cache_call("delete", lambda: cache.delete(CACHE_KEY))
    return row_json(row)


@app.get("/api/requests")
async def list_requests():
    cached = await cache_call("get", lambda: cache.get(CACHE_KEY))
    if cached is not None:
        return {"cache": "hit", **json.loads(cached)}
    pool = await db.connect()
    async with pool.acquire() as conn:
        count = await conn.fetchval(f"SELECT count(*) FROM {TABLE}")
        rows = await conn.fetch(f"SELECT id, payload, created_at FROM {TABLE} ORDER BY id DESC LIMIT {LAST_ROWS}")
    summary = {"count": count, "last": [row_json(r) for r in rows]}
    stored = await cache_call("set", lambda: cache.set(CACHE_KEY, json.dumps(summary), ex=CACHE_TTL))
    return {"cache": "off" if cache is None else "miss" if stored else "error", **summary}


@app.get("/api/compute")
def compute(n: int = Query(1000, ge=0, le=COMPUTE_MAX)):
    # A plain def: FastAPI runs it on a worker thread, so /health still
    # answers while it works (the GIL still makes it one core per worker).
    start = time.perf_counter()
    digest = b"mcpai"
    for _ in range(n):
        digest = hashlib.sha256(digest).digest()
    return {"n": n, "sha256": digest.hex(), "elapsed_ms": round((time.perf_counter() - start) * 1000, 3)}


@app.get("/slow")
async def slow(ms: int = Query(..., ge=0, le=600000)):
    await asyncio.sleep(ms / 1000)
    return {"slept_ms": ms}


@app.get("/status/{code}")
async def status(code: int = Path(..., ge=200, le=599)):
    if code in (204, 304):  # no body allowed
        return Response(status_code=code)
    return JSONResponse({"status": code}, status_code=code)


@app.get("/metrics")
async def metrics():
    if MULTIPROC_DIR:
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
    else:
        registry = REGISTRY
    return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)
