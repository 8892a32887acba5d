// @ssehub/client: a browser and Node client of ssehub (and any Mercure hub).
export { Hub, HubError } from "./hub.js";
export type { HubOptions, HubEvent, Status, GapInfo, SubscribeOptions, Subscription, Update, Token } from "./hub.js";
export { Generation, GenerationError } from "./llm.js";
export type { GenerateRequest, GenerateOptions, Message, Usage } from "./llm.js";
export { Parser } from "./parser.js";
export type { ParsedEvent } from "./parser.js";
export { retryDelay, parseRetryAfter } from "./retry.js";

import { serveWorker } from "./shared.js";

// Loaded as a SharedWorker's script (HubOptions.worker), this module leads
// the shared streams of the tabs that connect to it.
const scope = globalThis as unknown as { SharedWorkerGlobalScope?: new () => unknown; onconnect: null };
if (typeof scope.SharedWorkerGlobalScope == "function" && scope instanceof scope.SharedWorkerGlobalScope) serveWorker(scope);
