"""The inbox domain: rules, queries and commands, free of GraphQL and HTTP."""
