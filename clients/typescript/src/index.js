export { Hookrelay, newEventId } from "./client.js";
export { HookrelayError } from "./errors.js";
export { DEFAULT_RETRY } from "./transport.js";
export * from "./verify.js";
