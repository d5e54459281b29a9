"""Chinese full-text search over the knowledge base.

SQLite: an FTS5 table with the trigram tokenizer (any substring of three or
more characters, no word splitting needed), kept in step by triggers.
PostgreSQL: a pg_trgm GIN index over title and body, which serves ILIKE."""

from __future__ import annotations

from typing import Any

from django.db import migrations

SQLITE_UP = [
    """CREATE VIRTUAL TABLE desk_knowledge_fts USING fts5(
        title, body, content='desk_knowledgeitem', content_rowid='id', tokenize='trigram')""",
    """CREATE TRIGGER desk_knowledge_ai AFTER INSERT ON desk_knowledgeitem BEGIN
        INSERT INTO desk_knowledge_fts(rowid, title, body) VALUES (new.id, new.title, new.body);
    END""",
    """CREATE TRIGGER desk_knowledge_ad AFTER DELETE ON desk_knowledgeitem BEGIN
        INSERT INTO desk_knowledge_fts(desk_knowledge_fts, rowid, title, body)
        VALUES ('delete', old.id, old.title, old.body);
    END""",
    """CREATE TRIGGER desk_knowledge_au AFTER UPDATE ON desk_knowledgeitem BEGIN
        INSERT INTO desk_knowledge_fts(desk_knowledge_fts, rowid, title, body)
        VALUES ('delete', old.id, old.title, old.body);
        INSERT INTO desk_knowledge_fts(rowid, title, body) VALUES (new.id, new.title, new.body);
    END""",
    "INSERT INTO desk_knowledge_fts(desk_knowledge_fts) VALUES ('rebuild')",
]
SQLITE_DOWN = [
    "DROP TRIGGER IF EXISTS desk_knowledge_ai",
    "DROP TRIGGER IF EXISTS desk_knowledge_ad",
    "DROP TRIGGER IF EXISTS desk_knowledge_au",
    "DROP TABLE IF EXISTS desk_knowledge_fts",
]
POSTGRES_UP = [
    "CREATE EXTENSION IF NOT EXISTS pg_trgm",
    """CREATE INDEX desk_knowledge_trgm ON desk_knowledgeitem
        USING gin ((title || ' ' || body) gin_trgm_ops)""",
]
POSTGRES_DOWN = ["DROP INDEX IF EXISTS desk_knowledge_trgm"]


def _run(statements: dict[str, list[str]]) -> Any:
    def run(apps: Any, schema_editor: Any) -> None:
        for sql in statements.get(schema_editor.connection.vendor, []):
            schema_editor.execute(sql)

    return run


class Migration(migrations.Migration):
    dependencies = [("desk", "0001_initial")]
    operations = [
        migrations.RunPython(
            _run({"sqlite": SQLITE_UP, "postgresql": POSTGRES_UP}),
            _run({"sqlite": SQLITE_DOWN, "postgresql": POSTGRES_DOWN}),
        )
    ]
