"""Query and mutation resolvers: thin translations between GraphQL arguments and the domain."""
