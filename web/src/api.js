// The page's only two ways to the server: GraphQL over HTTP, and graphql-transport-ws subscriptions.
import { createClient } from "graphql-ws";

const TOKEN_KEY = "inbox.token";

/** Thrown when the server no longer accepts the token (HTTP 401, WebSocket close 4403). */
export class SessionExpired extends Error {}

export function storedToken() {
  return sessionStorage.getItem(TOKEN_KEY);
}

export function storeToken(token) {
  if (token) sessionStorage.setItem(TOKEN_KEY, token);
  else sessionStorage.removeItem(TOKEN_KEY);
}

/** Take `#token=…` out of the address bar into sessionStorage. */
export function adoptTokenFromFragment() {
  const params = new URLSearchParams(location.hash.slice(1));
  const token = params.get("token");
  if (!token) return;
  storeToken(token);
  history.replaceState(null, "", location.pathname + location.search);
}

export class Api {
  constructor(onExpired) {
    this.onExpired = onExpired;
    this.ws = createClient({
      url: `${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/graphql`,
      connectionParams: () => ({ Authorization: `Bearer ${storedToken()}` }),
      lazy: true,
      retryAttempts: Infinity,
      shouldRetry: (event) => !(event && event.code === 4403),
      retryWait: (retries) => new Promise((resolve) => setTimeout(resolve,
        Math.min(500 * 2 ** retries, 4000) + Math.random() * 300)),
      on: {
        closed: (event) => {
          if (event && event.code === 4403) this.onExpired();
        },
      },
    });
  }

  /** Run a query or mutation; GraphQL errors reject, user errors are the caller's to read. */
  async request(query, variables = {}) {
    const response = await fetch("/graphql", {
      method: "POST",
      headers: { "Content-Type": "application/json", Authorization: `Bearer ${storedToken()}` },
      body: JSON.stringify({ query, variables }),
    });
    if (response.status === 401) {
      this.onExpired();
      throw new SessionExpired("Your session has expired");
    }
    const body = await response.json();
    if (body.errors && body.errors.length) throw new Error(body.errors.map((e) => e.message).join("; "));
    return body.data;
  }

  /**
   * Subscribe; `variables` is kept by reference: graphql-ws sends the same payload again on each
   * reconnect, so a cursor the caller updates in it resumes the stream where it stopped.
   */
  subscribe(query, variables, onData) {
    const payload = { query, variables };
    const dispose = this.ws.subscribe(payload, {
      next: (result) => result.data && onData(Object.values(result.data)[0], payload.variables),
      error: (error) => console.warn("subscription error", error),
      complete: () => {},
    });
    return { variables: payload.variables, dispose };
  }

  close() {
    this.ws.dispose();
  }
}
