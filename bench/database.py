"""Shared by the benchmarks: a fresh PostgreSQL database for a run."""

from __future__ import annotations


def recreate_database() -> str:
    """Drop and create the database DATABASE_URL names (PostgreSQL only; the name must contain
    "bench", so a benchmark never drops a real database). Returns its name."""
    import psycopg
    from django.conf import settings
    from psycopg import sql

    db = settings.DATABASES["default"]
    if db["ENGINE"] != "django.db.backends.postgresql":
        raise SystemExit("This benchmark needs PostgreSQL: set DATABASE_URL=postgres://…")
    name = db["NAME"]
    if "bench" not in name:
        raise SystemExit(f"Refusing to drop database {name!r}: its name must contain 'bench'.")
    with psycopg.connect(
        dbname="postgres",
        host=db.get("HOST") or None,
        port=db.get("PORT") or None,
        user=db.get("USER") or None,
        password=db.get("PASSWORD") or None,
        autocommit=True,
    ) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    return name
