"""Typed reads of one key of a JSON column, the same on PostgreSQL and SQLite.

Each expression is NULL unless the stored value has the wanted JSON type, so "a
number compared with an attribute that holds something else does not match (and
does not fail)" (conditions.md) holds by construction, and the comparisons need no
vendor-specific lookups. Keys are validated identifiers and still travel as
parameters, never spliced into SQL.
"""

from django.db.models import BooleanField, Expression, FloatField, TextField


class _JsonKey(Expression):
    def __init__(self, column: str, key: str, output_field):
        super().__init__(output_field=output_field)
        self.column = column
        self.key = key

    def resolve_expression(
        self, query=None, allow_joins=True, reuse=None, summarize=False, for_save=False
    ):
        clone = self.copy()
        clone.is_summary = summarize
        clone._alias = query.get_initial_alias() if query is not None else None
        return clone

    def _col(self, compiler, connection) -> str:
        quote = compiler.quote_name_unless_alias
        table = quote(self._alias) if getattr(self, "_alias", None) else ""
        return f"{table}.{quote(self.column)}" if table else quote(self.column)

    def get_group_by_cols(self):
        return [self]

    def as_sql(self, compiler, connection):  # SQLite and the rest
        col = self._col(compiler, connection)
        path = '$."{}"'.format(self.key.replace('"', ""))
        return self.sqlite_template.format(col=col), [path, path]

    def as_postgresql(self, compiler, connection):
        col = self._col(compiler, connection)
        return self.postgres_template.format(col=col), [self.key, self.key]


class JsonNumber(_JsonKey):
    postgres_template = (
        "(CASE WHEN jsonb_typeof({col} -> %s) = 'number' THEN ({col} ->> %s)::double precision END)"
    )
    sqlite_template = (
        "(CASE WHEN json_type({col}, %s) IN ('integer', 'real') THEN json_extract({col}, %s) END)"
    )

    def __init__(self, column: str, key: str):
        super().__init__(column, key, FloatField())


class JsonText(_JsonKey):
    postgres_template = "(CASE WHEN jsonb_typeof({col} -> %s) = 'string' THEN {col} ->> %s END)"
    sqlite_template = "(CASE WHEN json_type({col}, %s) = 'text' THEN json_extract({col}, %s) END)"

    def __init__(self, column: str, key: str):
        super().__init__(column, key, TextField())


class JsonBool(_JsonKey):
    postgres_template = (
        "(CASE WHEN jsonb_typeof({col} -> %s) = 'boolean' THEN ({col} ->> %s)::boolean END)"
    )
    sqlite_template = "(CASE json_type({col}, %s) WHEN 'true' THEN 1 WHEN 'false' THEN 0 END)"

    def __init__(self, column: str, key: str):
        super().__init__(column, key, BooleanField())

    def as_sql(self, compiler, connection):
        col = self._col(compiler, connection)
        path = '$."{}"'.format(self.key.replace('"', ""))
        return self.sqlite_template.format(col=col), [path]


class JsonMissing(_JsonKey):
    """TRUE when the key is absent, JSON null or the empty string: "missing" in the
    sense of conditions.md, whatever type the key should have."""

    postgres_template = (
        "(({col} -> %s) IS NULL OR ({col} -> %s) = 'null'::jsonb OR ({col} -> %s) = '\"\"'::jsonb)"
    )
    sqlite_template = (
        "(json_type({col}, %s) IS NULL OR json_type({col}, %s) = 'null' "
        "OR (json_type({col}, %s) = 'text' AND json_extract({col}, %s) = ''))"
    )

    def __init__(self, column: str, key: str):
        super().__init__(column, key, BooleanField())

    def as_sql(self, compiler, connection):
        col = self._col(compiler, connection)
        path = '$."{}"'.format(self.key.replace('"', ""))
        return self.sqlite_template.format(col=col), [path] * 4

    def as_postgresql(self, compiler, connection):
        col = self._col(compiler, connection)
        return self.postgres_template.format(col=col), [self.key] * 3
