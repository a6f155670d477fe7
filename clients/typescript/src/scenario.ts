// An Apollo Client 4 frontend against a live `inbox serve` (driven by tests/test_typescript_client.py).
// The cache has no policy but pagination; the checks read what the cache holds after each push or payload.
import { createHmac } from "node:crypto";

import { ApolloClient, ApolloLink, HttpLink, InMemoryCache } from "@apollo/client";
import { SetContextLink } from "@apollo/client/link/context";
import { GraphQLWsLink } from "@apollo/client/link/subscriptions";
import { getMainDefinition, relayStylePagination } from "@apollo/client/utilities";
import { OperationTypeNode } from "graphql";
import { createClient } from "graphql-ws";
import WebSocket from "ws";

import type { ThreadListQuery } from "./gql/graphql.js";
import {
  MarkThreadRead,
  MarkThreadUnread,
  MessageAdded,
  SendMessage,
  SetThreadArchived,
  SetThreadFavorite,
  SetThreadMuted,
  StartThread,
  ThreadHistory,
  ThreadList,
  ThreadUpdated,
  UnreadCountsChanged,
  UnreadCountsQuery,
} from "./operations.js";
import { placeThread } from "./threadList.js";

interface Setup {
  url: string; // http://127.0.0.1:PORT
  token: string; // a staff token (Bearer)
  shortToken: string; // the same staff user's, expiring seconds after the start: the socket must reconnect
  members: { id: string; phone: string }[]; // three members of the club, global ids
  sms: { to: string; publicUrl: string; authToken: string }; // the club's number and the webhook's signing
}

const setup: Setup = JSON.parse(process.env.INBOX_SCENARIO ?? "{}");
const STEP_TIMEOUT_MS = 10_000;

function check(condition: unknown, message: string): asserts condition {
  if (!condition) throw new Error(`check failed: ${message}`);
}

async function eventually(what: string, predicate: () => boolean, timeoutMs = STEP_TIMEOUT_MS): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

// --- the client a frontend would build ------------------------------------------------------------

const requests: string[] = []; // operation names sent over HTTP, to prove pushes need no refetch
const countingFetch: typeof fetch = async (input, init) => {
  requests.push(JSON.parse(String(init?.body ?? "{}")).operationName ?? "?");
  return fetch(input, init);
};

// The first connection attempt gets a token about to expire; every later attempt reads the fresh one.
let attempts = 0;
let connections = 0;
const closeCodes: number[] = [];
const freshToken = async (): Promise<string> => (attempts++ === 0 ? setup.shortToken : setup.token);
const wsClient = createClient({
  url: setup.url.replace(/^http/, "ws") + "/graphql",
  webSocketImpl: WebSocket,
  connectionParams: async () => ({ Authorization: `Bearer ${await freshToken()}` }),
  retryAttempts: 5,
  on: {
    connected: () => { connections += 1; },
    closed: (event) => { closeCodes.push((event as { code: number }).code); },
  },
});
const auth = new SetContextLink(async (prevContext) => ({
  headers: { ...prevContext.headers, Authorization: `Bearer ${setup.token}` },
}));

const client = new ApolloClient({
  link: ApolloLink.split(
    ({ query }) => {
      const definition = getMainDefinition(query);
      return definition.kind === "OperationDefinition" && definition.operation === OperationTypeNode.SUBSCRIPTION;
    },
    new GraphQLWsLink(wsClient),
    auth.concat(new HttpLink({ uri: `${setup.url}/graphql`, fetch: countingFetch })),
  ),
  cache: new InMemoryCache({
    typePolicies: {
      Query: { fields: { threads: relayStylePagination(["category", "status", "search"]) } },
      Thread: { fields: { messages: relayStylePagination() } },
    },
  }),
});

// --- what the test does as the club's members and other staff ---------------------------------------

async function memberTexts(phone: string, body: string): Promise<void> {
  const params: Record<string, string> = { From: phone, To: setup.sms.to, Body: body, MessageSid: `SM${Date.now()}` };
  const signed = `${setup.sms.publicUrl}/webhooks/sms` + Object.keys(params).sort().map((k) => k + params[k]).join("");
  const signature = createHmac("sha1", setup.sms.authToken).update(signed).digest("base64");
  const response = await fetch(`${setup.url}/webhooks/sms`, {
    method: "POST", body: new URLSearchParams(params), headers: { "X-Twilio-Signature": signature },
  });
  check(response.ok, `the SMS webhook answered ${response.status}`);
}

async function serverOrder(): Promise<string[]> {
  const response = await fetch(`${setup.url}/graphql`, {
    method: "POST",
    headers: { "Content-Type": "application/json", Authorization: `Bearer ${setup.token}` },
    body: JSON.stringify({ query: "{ threads(category: MEMBER) { edges { node { id } } } }" }),
  });
  const body = (await response.json()) as { data: { threads: { edges: { node: { id: string } }[] } } };
  return body.data.threads.edges.map((edge) => edge.node.id);
}

// --- the scenario ---------------------------------------------------------------------------------

async function main(): Promise<void> {
  const [one, two, three] = setup.members;
  check(one && two && three, "three members are given");

  const threadIds: string[] = [];
  for (const member of [one, two, three]) {
    const started = await client.mutate({ mutation: StartThread, variables: { targetId: member.id } });
    const thread = started.data?.startThread.thread;
    check(thread, "startThread answers the thread");
    threadIds.push(thread.id);
    const sent = await client.mutate({ mutation: SendMessage,
      variables: { input: { threadId: thread.id, channel: "EMAIL", body: `Hello ${member.id}` } } });
    check(sent.data?.sendMessage.userErrors.length === 0, "sendMessage succeeds");
  }
  const [first, second, third] = threadIds as [string, string, string];

  // The list, kept in order by threadUpdated.
  const list = client.watchQuery({ query: ThreadList, variables: { category: "MEMBER", status: null, first: 20 } });
  let cachedList: ThreadListQuery["threads"] | undefined;
  list.subscribe({ next: (result) => { if (result.dataState === "complete") cachedList = result.data.threads; } });
  await eventually("the list is loaded", () => cachedList !== undefined);
  const ids = () => (cachedList?.edges ?? []).map((edge) => edge.node.id);
  check(JSON.stringify(ids()) === JSON.stringify([third, second, first]), `newest first: ${ids()}`);
  list.subscribeToMore({
    document: ThreadUpdated,
    variables: { category: "MEMBER", after: cachedList!.updatesCursor },
    updateQuery: (_, { previousData, complete, subscriptionData }) => {
      const update = subscriptionData.data.threadUpdated;
      if (!complete || !previousData) return undefined;
      return { ...previousData, threads: placeThread(previousData.threads, update.edge, null, update.updatesCursor) };
    },
  });

  // The counts, updated by mutation payloads (no subscription yet).
  const counts = client.watchQuery({ query: UnreadCountsQuery });
  let cachedTotal = -1;
  counts.subscribe({ next: (result) => {
    if (result.dataState === "complete") cachedTotal = result.data.unreadCounts.total;
  } });
  await eventually("the counts are loaded", () => cachedTotal === 0);
  const unread = await client.mutate({ mutation: MarkThreadUnread, variables: { input: { threadId: second } } });
  check(unread.data?.markThreadUnread.unreadCounts?.total === 1, "the payload counts the unread thread");
  await eventually("the payload updated the cached counts", () => cachedTotal === 1);
  await client.mutate({ mutation: MarkThreadRead, variables: { input: { threadId: second } } });
  await eventually("the read payload updated the cached counts", () => cachedTotal === 0);
  check(requests.filter((name) => name === "UnreadCounts").length === 1, `counts fetched once: ${requests}`);

  // The flags: each payload and each threadUpdated re-sorts the cached list like the server's.
  await client.mutate({ mutation: SetThreadFavorite, variables: { input: { threadId: first, value: true } } });
  await eventually("the favorite leads the cached list", () => ids()[0] === first);
  check(JSON.stringify(ids()) === JSON.stringify(await serverOrder()), `favorite order: ${ids()}`);
  await client.mutate({ mutation: SetThreadMuted, variables: { input: { threadId: second, value: true } } });
  await client.mutate({ mutation: SetThreadArchived, variables: { input: { threadId: third, value: true } } });
  await eventually("the archived thread left the cached list", () => !ids().includes(third));
  check(JSON.stringify(ids()) === JSON.stringify(await serverOrder()), `after archive: ${ids()}`);

  // A thread's history: the newest page first, an older page on demand, then live messages.
  for (const body of ["first words", "second words"]) {
    await client.mutate({ mutation: SendMessage, variables: { input: { threadId: second, channel: "EMAIL", body } } });
  }
  const history = client.watchQuery({ query: ThreadHistory, variables: { id: second, last: 2 } });
  let bodies: string[] = [];
  let latestCursor = "";
  history.subscribe({ next: (result) => {
    const thread = result.dataState === "complete" ? result.data.thread : null;
    if (thread) {
      bodies = thread.messages.edges.map((edge) => edge.node.body);
      latestCursor = thread.latestCursor;
    }
  } });
  await eventually("the newest page is loaded", () => bodies.length === 2);
  check(JSON.stringify(bodies) === JSON.stringify(["first words", "second words"]), `newest page: ${bodies}`);
  const current = history.getCurrentResult();
  const older = current.dataState === "complete" ? current.data.thread?.messages.pageInfo.startCursor : null;
  await history.fetchMore({ variables: { before: older, last: 20 } });
  await eventually("the older page is prepended", () => bodies.length === 3 && bodies[0] === `Hello ${two.id}`);
  history.subscribeToMore({
    document: MessageAdded,
    variables: { threadId: second, after: latestCursor },
    updateQuery: (_, { previousData, complete, subscriptionData }) => {
      const message = subscriptionData.data.messageAdded;
      const thread = complete ? previousData?.thread : undefined;
      if (!thread || thread.messages.edges.some((edge) => edge.node.id === message.id)) return undefined;
      const edges = [...thread.messages.edges, { __typename: "MessageEdge" as const, cursor: message.cursor, node: message }];
      return { ...previousData, thread: { ...thread, messages: { ...thread.messages, edges } } };
    },
  });

  // Live counts, then a member's reply through the SMS webhook.
  const pushed: number[] = [];
  client.subscribe({ query: UnreadCountsChanged }).subscribe({
    next: (result) => { if (result.data) pushed.push(result.data.unreadCountsChanged.total); },
  });
  await eventually("the subscription sent the current counts", () => pushed.length >= 1);

  // The short token expires: the server closes with 4403, graphql-ws reconnects with the fresh token and
  // resubscribes; what it sends again (catch-up, counts, messages) changes nothing in the cache.
  await eventually("the expired socket was closed and reopened with a fresh token",
                   () => closeCodes.includes(4403) && connections >= 2, 30_000);
  const listBefore = JSON.stringify(ids());
  await eventually("the counts were sent again on the new socket", () => pushed.length >= 2);
  const unchanged = JSON.stringify(ids()) === listBefore && bodies.length === 3 && cachedTotal === 0;
  check(unchanged, "the replays after the reconnect changed nothing");
  const fetchedBefore = requests.length;
  await memberTexts(one.phone, "See you at yoga!");
  await eventually("the reply moved its thread up", () => ids()[0] === first && cachedList!.edges[0]!.node.unreadCount === 1);
  await eventually("unreadCountsChanged updated the cached counts", () => cachedTotal === 1);
  await memberTexts(two.phone, "Is the class full?");
  await eventually("the reply is in the cached history", () => bodies[bodies.length - 1] === "Is the class full?");
  await eventually("the muted thread's unread shows in the list", () =>
    cachedList!.edges.find((edge) => edge.node.id === second)?.node.unreadCount === 1);
  check(JSON.stringify(ids()) === JSON.stringify(await serverOrder()), `after replies: ${ids()}`);
  check(cachedTotal === 1, "a muted thread's reply does not change the counts");
  check(requests.length === fetchedBefore, `pushes needed no request: ${requests.slice(fetchedBefore)}`);
  const history_ = client.readQuery({ query: ThreadHistory, variables: { id: second, last: 2 } });
  const reply = history_?.thread?.messages.edges.at(-1)?.node;
  check(reply?.direction === "INBOUND" && reply.author?.__typename === "Member", "the reply is the member's");

  console.log(`scenario passed: ${requests.length} HTTP requests, counts pushed ${pushed.join(",")}, `
              + `socket closes ${closeCodes.join(",")}`);
}

const overall = setTimeout(() => {
  console.error("scenario timed out");
  process.exit(2);
}, 60_000);

main()
  .then(async () => {
    clearTimeout(overall);
    await wsClient.dispose();
    client.stop();
    process.exit(0);
  })
  .catch((error: unknown) => {
    console.error(error);
    process.exit(1);
  });
