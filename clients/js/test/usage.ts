// A TypeScript program using the package through its declarations
// (dist/types), type-checked by TestTypes as a user's code would be.
import { Hub, HubError, GenerationError, type HubEvent, type Status } from "../dist/types/index.js";

const hub = new Hub({ url: "/.well-known/mercure", token: async () => "a token", shared: true });
const sub = hub.subscribe(["chat", "books/{id}"], {
  lastEventID: "earliest",
  onEvent(ev: HubEvent) {
    const n: number = ev.data.length;
    void n;
    void ev.json();
  },
  onStatus(s: Status) {
    void s;
  },
  onGap(info) {
    void info;
  },
});
sub.close();

export async function use(): Promise<string> {
  const id: string = await hub.publish({ topic: "chat", data: "hi" });
  let text = "";
  for await (const chunk of hub.generate({ messages: [{ role: "user", content: "hi" }] })) text += chunk;
  for await (const chunk of hub.resumeGeneration(id)) text += chunk;
  await hub.stopGeneration(id);
  try {
    await hub.publish({ topic: "x", data: "y" });
  } catch (e) {
    if (e instanceof HubError || e instanceof GenerationError) text += e.message;
  }
  return text;
}
