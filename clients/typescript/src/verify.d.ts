// Types of verify.js (hand-written: the receiving side is not in the OpenAPI document).
import type { components } from "./schema.js";

export declare const DEFAULT_TOLERANCE: number;

export type VerifyFailure =
  | "missing_header"
  | "malformed_header"
  | "timestamp_out_of_tolerance"
  | "no_matching_signature";

export declare class WebhookVerificationError extends Error {
  readonly reason: VerifyFailure;
  constructor(reason: VerifyFailure, message: string);
}

/** Node's `req.headers`, a fetch `Headers`, or a `Map`; names match in any case. */
export type HeadersLike =
  | Record<string, string | string[] | undefined>
  | { get(name: string): string | null | undefined };

/** The raw body, exactly as received. */
export type Body = Uint8Array | ArrayBuffer | string;

/** A secret (`whsec_…`, or the text of an HMAC scheme's) or public key (`whpk_…`), or several during a rotation. */
export type Secrets = string | readonly string[];

export interface VerifyOptions {
  /** Unix seconds; default: the clock. */
  now?: number;
  /** Seconds either way (default 300); null skips the timestamp check. */
  tolerance?: number | null;
}

export interface Verified {
  /** The event id (`webhook-id`), for deduplication; absent for the schemes that do not sign it. */
  msgId: string | undefined;
  /** The signed unix timestamp, where the scheme signs one. */
  timestamp: number | undefined;
}

export type SignatureConfig = components["schemas"]["SignatureConfig"];

export declare function verify(
  signature: SignatureConfig | SignatureConfig["scheme"],
  secrets: Secrets,
  headers: HeadersLike,
  body: Body,
  options?: VerifyOptions,
): Verified;

export declare function verifyStandardWebhooks(
  secrets: Secrets,
  headers: HeadersLike,
  body: Body,
  options?: VerifyOptions,
): { msgId: string; timestamp: number };

export declare function verifyHmacSha256(
  secrets: Secrets,
  headers: HeadersLike,
  body: Body,
  config: { header: string; prefix?: string; encoding?: "hex" | "base64" },
): Verified;

export declare function verifyTimestampedKey(
  secrets: Secrets,
  headers: HeadersLike,
  body: Body,
  config: { header: string } & VerifyOptions,
): { msgId: undefined; timestamp: number };
