"""The API's OpenAPI 3.1 description, made from the datasets' columns (never written by hand,
so it cannot drift from the answers; ``tests/test_api.py`` validates real answers with it)."""

from __future__ import annotations

from typing import Any

from fieldapp.api.catalogue import API_DATASETS, ApiDataset
from fieldapp.api.paging import LIMIT_DEFAULT, LIMIT_MAX

#: A column's kind as a JSON Schema type (every value may be null).
KIND_SCHEMA: dict[str, dict[str, Any]] = {
    "text": {"type": ["string", "null"]},
    "int": {"type": ["integer", "null"]},
    "decimal": {"type": ["number", "null"]},
    "date": {"type": ["string", "null"], "format": "date"},
    "datetime": {"type": ["string", "null"], "format": "date-time"},
    "bool": {"type": ["boolean", "null"]},
    "uuid": {"type": ["string", "null"], "format": "uuid"},
}

ERROR_CODES = (
    "token_missing", "token_invalid", "token_expired", "token_revoked", "dataset_not_granted",
    "unknown_dataset", "bad_page_size", "invalid_cursor", "cursor_other_dataset",
    "cursor_and_since", "cursor_ahead", "rate_limited",
)


def row_schema(api: ApiDataset) -> dict[str, Any]:
    """The JSON Schema of one row: every column; the personal ones only for tokens granted
    them, so not required."""
    properties = {}
    for col in api.dataset.columns():
        schema = dict(KIND_SCHEMA[col.kind])
        schema["title"] = str(col.label)
        if col.name in api.personal:
            schema["description"] = "Personal data: only for tokens granted it; null for a " \
                "family that withdrew its consent."
        properties[col.name] = schema
    required = [c.name for c in api.dataset.columns() if c.name not in api.personal]
    return {"type": "object", "properties": properties, "required": required,
            "additionalProperties": False}


def _page_schema(name: str) -> dict[str, Any]:
    return {
        "type": "object",
        "required": ["dataset", "columns", "rows", "next", "since"],
        "additionalProperties": False,
        "properties": {
            "dataset": {"const": name},
            "columns": {"type": "array", "items": {"type": "string"}},
            "rows": {"type": "array", "items": {"$ref": f"#/components/schemas/{name}_row"}},
            "next": {"type": ["string", "null"],
                     "description": "The next page's cursor; null on the last page."},
            "since": {"type": "string",
                      "description": "Give it as ?since= after the last page to fetch what "
                                     "changed since this fetch began."},
            "deleted": {"type": "array", "items": {"type": "string", "format": "uuid"},
                        "description": "Incremental fetches only: keys of rows gone."},
        },
    }


def _parameters() -> list[dict[str, Any]]:
    return [
        {"name": "limit", "in": "query", "required": False,
         "schema": {"type": "integer", "minimum": 1, "maximum": LIMIT_MAX,
                    "default": LIMIT_DEFAULT}},
        {"name": "cursor", "in": "query", "required": False, "schema": {"type": "string"},
         "description": "The previous page's next."},
        {"name": "since", "in": "query", "required": False, "schema": {"type": "string"},
         "description": "A previous fetch's since: only the rows changed after it."},
    ]


def openapi_document(url: str) -> dict[str, Any]:
    """The whole description; ``url`` is where it is served (its server is the folder)."""
    schemas: dict[str, Any] = {
        "error": {
            "type": "object", "required": ["error"],
            "properties": {"error": {
                "type": "object", "required": ["code", "message"],
                "properties": {"code": {"type": "string", "enum": list(ERROR_CODES)},
                               "message": {"type": "string"},
                               "details": {"type": "object"}}}},
        },
    }
    paths: dict[str, Any] = {}
    error = {"application/json": {"schema": {"$ref": "#/components/schemas/error"}}}
    for name, api in API_DATASETS.items():
        schemas[f"{name}_row"] = row_schema(api)
        schemas[f"{name}_page"] = _page_schema(name)
        paths[f"/{name}"] = {"get": {
            "operationId": f"get_{name}",
            "summary": str(api.dataset.title),
            "parameters": _parameters(),
            "responses": {
                "200": {"description": "A page of rows.", "content": {
                    "application/json": {
                        "schema": {"$ref": f"#/components/schemas/{name}_page"}},
                    "text/csv": {"schema": {"type": "string"}}}},
                **{status: {"description": text, "content": error} for status, text in (
                    ("400", "A bad limit or cursor."), ("401", "No valid token."),
                    ("403", "Outside the token's scope."), ("409", "A cursor ahead of the "
                                                                   "server."),
                    ("429", "Too many requests."))},
            },
        }}
    return {
        "openapi": "3.1.0",
        "info": {"title": "fieldapp read API", "version": "1",
                 "description": "The dashboard's datasets for analysts, by token."},
        "servers": [{"url": url.rsplit("/", 1)[0]}],
        "security": [{"bearer": []}],
        "paths": paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
    }
