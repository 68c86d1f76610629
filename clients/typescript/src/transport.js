// One HTTP call to hookrelay on Node's built-in fetch: the Authorization header, JSON both
// ways, and retries with backoff for the calls that are safe to repeat.
import { setTimeout as sleep } from "node:timers/promises";

import { HookrelayError } from "./errors.js";

export const DEFAULT_RETRY = Object.freeze({ attempts: 4, baseDelayMs: 250, maxDelayMs: 5000 });

export class Transport {
  #baseUrl;
  #key;
  #retry;
  #timeoutMs;
  #fetch;

  constructor({ baseUrl, key, retry = {}, timeoutMs = 30_000, fetch = globalThis.fetch }) {
    if (!baseUrl) throw new TypeError("baseUrl is required, e.g. http://127.0.0.1:8080");
    this.#baseUrl = new URL(baseUrl);
    this.#key = key;
    this.#retry = { ...DEFAULT_RETRY, ...retry };
    this.#timeoutMs = timeoutMs;
    this.#fetch = fetch;
  }

  /**
   * `retryable` says the call may be sent again: reads, and writes that carry an idempotency
   * key. Only a 503 (hookrelay cannot reach its database: nothing was promised) and a failed
   * connection or timeout (the request may or may not have arrived) are retried; any other
   * answer is final.
   */
  async request(method, path, { query, body, retryable = method === "GET" } = {}) {
    const url = new URL(path.replace(/^\//, ""), this.#baseUrl.href.replace(/\/?$/, "/"));
    for (const [name, value] of Object.entries(query ?? {})) {
      if (value !== undefined && value !== null) url.searchParams.set(name, String(value));
    }
    const headers = { accept: "application/json" };
    // Never logged, never put in an error message.
    if (this.#key) headers.authorization = `Bearer ${this.#key}`;
    if (body !== undefined) headers["content-type"] = "application/json";
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const attempts = retryable ? Math.max(1, this.#retry.attempts) : 1;
    for (let attempt = 1; ; attempt += 1) {
      let response;
      try {
        response = await this.#fetch(url, {
          method,
          headers,
          body: payload,
          signal: AbortSignal.timeout(this.#timeoutMs),
        });
      } catch (error) {
        if (attempt >= attempts) {
          throw new HookrelayError(undefined, "connection_failed", `${method} ${url.pathname}: ${error.message}`, undefined, error);
        }
        await sleep(this.#delay(attempt));
        continue;
      }
      if (response.ok) {
        return response.status === 204 ? undefined : response.json();
      }
      if (response.status === 503 && attempt < attempts) {
        await response.body?.cancel();
        await sleep(this.#delay(attempt, response.headers.get("retry-after")));
        continue;
      }
      throw await HookrelayError.from(response);
    }
  }

  /** Exponential backoff with full jitter (so clients that failed together spread out). */
  #delay(attempt, retryAfter) {
    const { baseDelayMs, maxDelayMs } = this.#retry;
    const seconds = Number(retryAfter);
    if (retryAfter && Number.isFinite(seconds)) return Math.min(seconds * 1000, maxDelayMs);
    return Math.random() * Math.min(maxDelayMs, baseDelayMs * 2 ** (attempt - 1));
  }
}
