"""Exit 0 when PostgreSQL and Redis answer; create the PostgreSQL database if it is missing."""

import sys
from urllib.parse import urlparse

import psycopg
import redis


def main(pg_url: str) -> int:
    url = urlparse(pg_url)
    name = url.path.lstrip("/")
    try:
        with psycopg.connect(
            pg_url.replace(f"/{name}", "/postgres"), autocommit=True, connect_timeout=3
        ) as conn:
            if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone():
                conn.execute(f'CREATE DATABASE "{name}"')
        redis.Redis(host="127.0.0.1", port=6379, socket_connect_timeout=2).ping()
    except Exception as exc:  # any failure means "not ready"
        print(f"services not ready: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
