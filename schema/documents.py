"""Parse and validate each distinct document once: a frontend sends the same few operations again and
again, and parsing plus validating a list page's document cost about a tenth of its request (bench/).

The limits that apply to a document's text (tokens, depth, aliases) are validation rules made once
here, so a cached document is exactly as limited as a fresh one.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass, field

from graphql import ASTValidationRule, DocumentNode, GraphQLError
from strawberry.extensions import SchemaExtension
from strawberry.extensions.max_aliases import create_validator as aliases_rule
from strawberry.extensions.query_depth_limiter import create_validator as depth_rule
from strawberry.schema.schema import validate_document

MAX_DEPTH = 10
MAX_ALIASES = 15
MAX_TOKENS = 2000
# Distinct documents kept; a document is at most MAX_TOKENS tokens, so the cache stays small.
CACHED_DOCUMENTS = 512

LIMIT_RULES: tuple[type[ASTValidationRule], ...] = (
    depth_rule(MAX_DEPTH, None, None),
    aliases_rule(MAX_ALIASES),
)


@dataclass
class ValidatedDocument:
    document: DocumentNode
    errors: list[GraphQLError] | None = None  # None until validated


@dataclass
class DocumentStore:
    """The parsed and validated documents of one schema, most recently used last."""

    size: int = CACHED_DOCUMENTS
    rules: tuple[type[ASTValidationRule], ...] = LIMIT_RULES  # beside graphql-core's own (the limits, ...)
    _entries: OrderedDict[str, ValidatedDocument] = field(default_factory=OrderedDict)
    _validation_rules: dict[tuple[type[ASTValidationRule], ...], tuple[type[ASTValidationRule], ...]] = field(
        default_factory=dict)

    def validation_rules(self, base: tuple[type[ASTValidationRule], ...]) -> tuple[type[ASTValidationRule], ...]:
        """`base` and this store's rules: one tuple for every operation (an idle subscription keeps its own
        execution context, and a tuple of some thirty rules is 300 bytes)."""
        known = self._validation_rules.get(base)
        if known is None:
            known = self._validation_rules[base] = (*base, *self.rules)
        return known

    def get(self, query: str) -> ValidatedDocument | None:
        entry = self._entries.get(query)
        if entry is not None:
            self._entries.move_to_end(query)
        return entry

    def put(self, query: str, document: DocumentNode) -> ValidatedDocument:
        entry = self._entries[query] = ValidatedDocument(document)
        while len(self._entries) > self.size:
            self._entries.popitem(last=False)
        return entry


class DocumentCache(SchemaExtension):
    """Serves a known document's parse and validation from the store (a fresh extension per
    operation, one store per schema)."""

    def __init__(self, store: DocumentStore) -> None:
        self.store = store
        self.entry: ValidatedDocument | None = None

    def on_parse(self) -> Iterator[None]:
        """The limits set before parsing (not in an operation hook, which a subscription holds open for its
        whole life), then the document served from the store when it is known."""
        context = self.execution_context
        context.parse_options["max_tokens"] = MAX_TOKENS
        context.validation_rules = self.store.validation_rules(context.validation_rules)
        query = context.query
        self.entry = self.store.get(query) if query else None
        if self.entry is not None:
            context.graphql_document = self.entry.document
        yield
        if self.entry is None and query and context.graphql_document is not None:
            self.entry = self.store.put(query, context.graphql_document)

    def on_validate(self) -> Iterator[None]:
        context = self.execution_context
        entry = self.entry
        if entry is not None and context.graphql_document is entry.document:
            if entry.errors is None:
                entry.errors = validate_document(context.schema._schema, entry.document, context.validation_rules)
            context.pre_execution_errors = list(entry.errors)
        yield
