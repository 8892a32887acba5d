export { Hub, HubError } from "./hub.js";
export type { HubOptions, HubEvent, Status, GapInfo, SubscribeOptions, Subscription, Update, Token } from "./hub.js";
export { Generation, GenerationError } from "./llm.js";
export type { GenerateRequest, GenerateOptions, Message, Usage } from "./llm.js";
export { Parser } from "./parser.js";
export type { ParsedEvent } from "./parser.js";
export { retryDelay, parseRetryAfter } from "./retry.js";
