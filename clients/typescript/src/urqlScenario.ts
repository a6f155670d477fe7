// The same frontend on urql with graphcache, run after the Apollo scenario on the same club: objects are
// keyed by `id` (UnreadCounts included), objects without one are embedded, the schema lets fragments on
// unions match, and threadUpdated places its edge in the cached list.
import { readFileSync } from "node:fs";

import { Client, fetchExchange, subscriptionExchange } from "@urql/core";
import { cacheExchange } from "@urql/exchange-graphcache";
import { buildSchema, introspectionFromSchema } from "graphql";
import { createClient } from "graphql-ws";
import WebSocket from "ws";

import type { ThreadListQuery, ThreadListQueryVariables, ThreadUpdatedSubscription } from "./gql/graphql.js";
import {
  MarkThreadRead,
  SetThreadArchived,
  SetThreadFavorite,
  SetThreadMuted,
  ThreadList,
  ThreadUpdated,
  UnreadCountsChanged,
  UnreadCountsQuery,
} from "./operations.js";
import { check, eventually, memberTexts, serverOrder, setup } from "./support.js";
import { placeThread } from "./threadList.js";

const embedded = ["PageInfo", "Address", "EmergencyContact", "Money", "Teacher", "Room", "SessionDay",
  "SmartlistFilter", "DeliverySummary", "UserError", "RateLimit", "SmartlistPreview", "ThreadUpdate",
  "StartThreadPayload", "SendMessagePayload", "ThreadPayload", "CreateSmartlistPayload",
  "ThreadConnection", "ThreadEdge", "MessageConnection", "MessageEdge", "MemberConnection", "MemberEdge",
  "SmartlistConnection", "SmartlistEdge", "SessionConnection", "SessionEdge", "DeliveryConnection",
  "DeliveryEdge"];
// graphcache needs the schema to match fragments on the ThreadTarget and MessageAuthor unions.
const sdl = readFileSync(new URL("../../../schema.graphql", import.meta.url), "utf8");
const schema = introspectionFromSchema(buildSchema(sdl));
const LIST: ThreadListQueryVariables = { category: "MEMBER", status: null, first: 20 };

const requests: string[] = [];
const countingFetch: typeof fetch = async (input, init) => {
  requests.push(JSON.parse(String(init?.body ?? "{}")).operationName ?? "?");
  return fetch(input, init);
};
const wsClient = createClient({
  url: setup.url.replace(/^http/, "ws") + "/graphql",
  webSocketImpl: WebSocket,
  connectionParams: async () => ({ Authorization: `Bearer ${setup.token}` }),
});

const client = new Client({
  url: `${setup.url}/graphql`,
  fetch: countingFetch,
  fetchOptions: () => ({ headers: { Authorization: `Bearer ${setup.token}` } }),
  exchanges: [
    cacheExchange({
      schema,
      keys: Object.fromEntries(embedded.map((name) => [name, () => null])),
      updates: {
        Subscription: {
          threadUpdated(result, _args, cache) {
            const update = (result as ThreadUpdatedSubscription).threadUpdated;
            cache.updateQuery<ThreadListQuery, ThreadListQueryVariables>({ query: ThreadList, variables: LIST },
              (data) => data && { ...data, threads: placeThread(data.threads, update.edge, LIST.status,
                                                                update.updatesCursor) });
          },
        },
      },
    }),
    fetchExchange,
    subscriptionExchange({
      forwardSubscription: (request) => ({
        subscribe: (sink) => ({ unsubscribe: wsClient.subscribe({ ...request, query: request.query ?? "" }, sink) }),
      }),
    }),
  ],
});

async function main(): Promise<void> {
  const [one, two, three] = setup.members;
  check(one && two && three, "three members are given");

  let list: ThreadListQuery["threads"] | undefined;
  client.query(ThreadList, LIST).subscribe((result) => { list = result.data?.threads ?? list; });
  await eventually("the list is loaded", () => list !== undefined);
  const ids = () => (list?.edges ?? []).map((edge) => edge.node.id);
  const threadOf = (member: { id: string }) =>
    list?.edges.find((edge) => edge.node.target.__typename === "Member" && edge.node.target.id === member.id)?.node.id;
  check(JSON.stringify(ids()) === JSON.stringify(await serverOrder()), `the server's order: ${ids()}`);
  const [first, second] = [threadOf(one), threadOf(two)];
  check(first && second && ids()[0] === first, "the Apollo scenario left the first member's thread on top");
  let total = -1;
  client.query(UnreadCountsQuery, {}).subscribe((result) => { total = result.data?.unreadCounts.total ?? total; });
  await eventually("the counts are loaded", () => total === 1);

  // A payload's counts update the cached counts (UnreadCounts:<id>).
  await client.mutation(MarkThreadRead, { input: { threadId: first } }).toPromise();
  await eventually("the payload updated the cached counts", () => total === 0);

  // threadUpdated places each edge: the unmuted thread follows its newer reply up, the restored one comes back.
  const archived = (await client.query(ThreadList, { ...LIST, status: "ARCHIVED" }).toPromise()).data;
  const restored = archived?.threads.edges[0]?.node.id;
  check(restored, "the Apollo scenario archived a thread");
  client.subscription(ThreadUpdated, { category: "MEMBER", after: list!.updatesCursor }).subscribe(() => {});
  const pushed: number[] = [];
  client.subscription(UnreadCountsChanged, {}).subscribe((result) => {
    if (result.data) pushed.push(result.data.unreadCountsChanged.total);
  });
  await eventually("the counts were pushed", () => pushed.length === 1);
  const fetchedBefore = requests.length;
  await client.mutation(SetThreadFavorite, { input: { threadId: first, value: false } }).toPromise();
  await client.mutation(SetThreadMuted, { input: { threadId: second, value: false } }).toPromise();
  await eventually("the unmuted thread went up", () => ids()[0] === second);
  await eventually("the unmuted thread's unread counts now", () => total === 1);
  await client.mutation(SetThreadArchived, { input: { threadId: restored, value: false } }).toPromise();
  await eventually("the restored thread is in the cached list", () => ids().includes(restored));
  check(JSON.stringify(ids()) === JSON.stringify(await serverOrder()), `after the flags: ${ids()}`);

  // A member's reply: the push moves the thread up and counts it.
  await memberTexts(one.phone, "One more question");
  await eventually("the reply moved its thread up", () => ids()[0] === first);
  await eventually("unreadCountsChanged updated the cached counts", () => total === 2);
  check(JSON.stringify(ids()) === JSON.stringify(await serverOrder()), `after the reply: ${ids()}`);
  const queries = requests.slice(fetchedBefore).filter((name) => name === "ThreadList" || name === "UnreadCounts");
  check(queries.length === 0, `pushes and payloads needed no refetch: ${queries}`);
  console.log(`urql scenario passed: ${requests.length} HTTP requests`);
}

const overall = setTimeout(() => {
  console.error("urql scenario timed out");
  process.exit(2);
}, 60_000);

main()
  .then(async () => {
    clearTimeout(overall);
    await wsClient.dispose();
    process.exit(0);
  })
  .catch((error: unknown) => {
    console.error(error);
    process.exit(1);
  });
