"""Real time: the event bus between server processes, and the subscription resolvers."""
