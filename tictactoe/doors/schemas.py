"""JSON Schemas of the typed models, as the doors publish them (MCP outputSchema, OpenAPI): lean, and the same
generator for both."""

from __future__ import annotations

from pydantic import TypeAdapter
from pydantic.json_schema import GenerateJsonSchema


class Lean(GenerateJsonSchema):
    """JSON Schema without the titles pydantic derives from names: they say nothing a name does not, and every
    schema a model reads costs it tokens."""

    def field_title_should_be_set(self, schema) -> bool:
        return False

    def generate(self, schema, mode="validation"):
        generated = super().generate(schema, mode)
        generated.pop("title", None)
        for definition in generated.get("$defs", {}).values():
            definition.pop("title", None)
        return generated


def schema_of(answer: object) -> dict:
    """The JSON Schema of an answer type (or a union of them, which is an object all the same), as clients are
    told it."""
    schema = TypeAdapter(answer).json_schema(mode="serialization", schema_generator=Lean)
    return {"type": "object", **schema} if "anyOf" in schema else schema
