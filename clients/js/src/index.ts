// @ssehub/client: a browser and Node client of ssehub (and any Mercure hub).
export { Hub, HubError } from "./hub";
export type { HubOptions, HubEvent, Status, GapInfo, SubscribeOptions, Subscription, Update, Token } from "./hub";
export { Generation, GenerationError } from "./llm";
export type { GenerateRequest, GenerateOptions, Message, Usage } from "./llm";
export { Parser } from "./parser";
export type { ParsedEvent } from "./parser";
export { retryDelay, parseRetryAfter } from "./retry";
