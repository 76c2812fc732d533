"""the inbox's search on PostgreSQL: one lower-case text a case (case_search), kept by triggers, with a
trigram index when the pg_trgm extension can be had (models/search_index.py says why and how it is read)

PostgreSQL only: SQLite searches the inbox's few thousand rows directly (fast enough there, and it has no
triggers' language to keep such a table by). Triggers, not the Python write paths: every writer (intake,
the case page, the CLI, a merge) changes a case's parties, names and numbers in its own way, and the
database sees them all.

Revision ID: 0012_case_search
Revises: 0011_next_deadline
"""

from collections.abc import Sequence

from alembic import op
from sqlalchemy import text

revision: str = "0012_case_search"
down_revision: str | None = "0011_next_deadline"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# What a case is found by: its reference, LA, the child's name as extracted, the referrer's email, and
# its parties' names, email addresses and phone numbers (E.164), lower-cased once here. Each party's
# name and numbers are looked up by key, never joined: without statistics (a table just loaded) the
# planner hashed every contact for each case (45 ms a case, measured).
_REFRESH = """
CREATE FUNCTION case_search_refresh(target integer) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO case_search (case_id, doc)
    SELECT c.id, lower(concat_ws(' ', c.reference, c.local_authority, c.draft ->> 'child_name', c.referrer_email,
        (SELECT string_agg(concat_ws(' ', (SELECT ct.name FROM contact ct WHERE ct.id = pa.contact_id),
                    (SELECT string_agg(p.value, ' ') FROM contactpoint p WHERE p.contact_id = pa.contact_id)), ' ')
           FROM party pa WHERE pa.case_id = c.id)))
    FROM "case" c WHERE c.id = target
    ON CONFLICT (case_id) DO UPDATE SET doc = EXCLUDED.doc;
END $$
"""
_ON_CASE = """
CREATE FUNCTION case_search_on_case() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        DELETE FROM case_search WHERE case_id = OLD.id;
        RETURN OLD;
    END IF;
    PERFORM case_search_refresh(NEW.id);
    RETURN NEW;
END $$
"""
_ON_PARTY = """
CREATE FUNCTION case_search_on_party() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        PERFORM case_search_refresh(OLD.case_id);
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        PERFORM case_search_refresh(NEW.case_id);
    END IF;
    RETURN NULL;
END $$
"""
_ON_CONTACT = """
CREATE FUNCTION case_search_on_contact() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    found integer;
BEGIN
    FOR found IN SELECT DISTINCT case_id FROM party WHERE contact_id IN (OLD.id, NEW.id) LOOP
        PERFORM case_search_refresh(found);
    END LOOP;
    RETURN NULL;
END $$
"""
_ON_POINT = """
CREATE FUNCTION case_search_on_point() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    found integer;
    owners integer[];
BEGIN
    IF TG_OP = 'INSERT' THEN
        owners := ARRAY[NEW.contact_id];
    ELSIF TG_OP = 'DELETE' THEN
        owners := ARRAY[OLD.contact_id];
    ELSE
        owners := ARRAY[OLD.contact_id, NEW.contact_id];
    END IF;
    FOR found IN SELECT DISTINCT case_id FROM party WHERE contact_id = ANY(owners) LOOP
        PERFORM case_search_refresh(found);
    END LOOP;
    RETURN NULL;
END $$
"""
_TRIGGERS = (
    "CREATE TRIGGER case_search_case AFTER INSERT OR UPDATE OF reference, local_authority, draft, referrer_email "
    'OR DELETE ON "case" FOR EACH ROW EXECUTE FUNCTION case_search_on_case()',
    "CREATE TRIGGER case_search_party AFTER INSERT OR UPDATE OR DELETE ON party "
    "FOR EACH ROW EXECUTE FUNCTION case_search_on_party()",
    "CREATE TRIGGER case_search_contact AFTER UPDATE OF name ON contact "
    "FOR EACH ROW EXECUTE FUNCTION case_search_on_contact()",
    "CREATE TRIGGER case_search_point AFTER INSERT OR UPDATE OR DELETE ON contactpoint "
    "FOR EACH ROW EXECUTE FUNCTION case_search_on_point()",
)


def _trigram_opclass() -> str | None:
    """gin_trgm_ops, schema-qualified (the extension is installed once a database, in `public`, where a
    schema of our own would take it with it when dropped); None when it cannot be had."""
    bind = op.get_bind()
    query = text(
        "SELECT n.nspname FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace WHERE e.extname = 'pg_trgm'"
    )
    schema = bind.execute(query).scalar()
    if schema is None:
        try:
            with bind.begin_nested():
                bind.execute(text("CREATE EXTENSION IF NOT EXISTS pg_trgm SCHEMA public"))
        except Exception:  # not available, or no right to create it: the search works without the index
            return None
        schema = bind.execute(query).scalar()
    return f'"{schema}".gin_trgm_ops' if schema else None


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("CREATE TABLE case_search (case_id integer PRIMARY KEY, doc text NOT NULL)")
    for function in (_REFRESH, _ON_CASE, _ON_PARTY, _ON_CONTACT, _ON_POINT):
        op.execute(function)
    for trigger in _TRIGGERS:
        op.execute(trigger)
    op.execute('SELECT case_search_refresh(id) FROM "case"')  # the cases already there
    opclass = _trigram_opclass()
    if opclass:
        op.execute(f"CREATE INDEX ix_case_search_doc ON case_search USING gin (doc {opclass})")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for name, table in (("case", '"case"'), ("party", "party"), ("contact", "contact"), ("point", "contactpoint")):
        op.execute(f"DROP TRIGGER case_search_{name} ON {table}")
    for function in ("on_case", "on_party", "on_contact", "on_point"):
        op.execute(f"DROP FUNCTION case_search_{function}()")
    op.execute("DROP FUNCTION case_search_refresh(integer)")
    op.execute("DROP TABLE case_search")
