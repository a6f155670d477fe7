// What both client scenarios share: the setup the test passes, checks, and the club's members texting.
import { createHmac } from "node:crypto";

export interface Setup {
  url: string; // http://127.0.0.1:PORT
  token: string; // a staff token (Bearer)
  shortToken: string; // the same staff user's, expiring seconds after the start: the socket must reconnect
  members: { id: string; phone: string }[]; // three members of the club, global ids
  sms: { to: string; publicUrl: string; authToken: string }; // the club's number and the webhook's signing
}

export const setup: Setup = JSON.parse(process.env.INBOX_SCENARIO ?? "{}");
const STEP_TIMEOUT_MS = 10_000;

export function check(condition: unknown, message: string): asserts condition {
  if (!condition) throw new Error(`check failed: ${message}`);
}

export async function eventually(what: string, predicate: () => boolean, timeoutMs = STEP_TIMEOUT_MS): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

// --- what the test does as the club's members -----------------------------------------------------

export async function memberTexts(phone: string, body: string): Promise<void> {
  const params: Record<string, string> = { From: phone, To: setup.sms.to, Body: body, MessageSid: `SM${Date.now()}` };
  const signed = `${setup.sms.publicUrl}/webhooks/sms` + Object.keys(params).sort().map((k) => k + params[k]).join("");
  const signature = createHmac("sha1", setup.sms.authToken).update(signed).digest("base64");
  const response = await fetch(`${setup.url}/webhooks/sms`, {
    method: "POST", body: new URLSearchParams(params), headers: { "X-Twilio-Signature": signature },
  });
  check(response.ok, `the SMS webhook answered ${response.status}`);
}

export async function serverOrder(): Promise<string[]> {
  const response = await fetch(`${setup.url}/graphql`, {
    method: "POST",
    headers: { "Content-Type": "application/json", Authorization: `Bearer ${setup.token}` },
    body: JSON.stringify({ query: "{ threads(category: MEMBER) { edges { node { id } } } }" }),
  });
  const body = (await response.json()) as { data: { threads: { edges: { node: { id: string } }[] } } };
  return body.data.threads.edges.map((edge) => edge.node.id);
}

