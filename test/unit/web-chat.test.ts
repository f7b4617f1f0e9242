/** The chat list as the web client keeps it (web/src/lib/chat.ts): frames applied, what the panel shows, channels. */
import { describe, expect, it } from "vitest";
import type { ChatMessage } from "../../lib/protocol";
import { applyChatFrame, BROWSER_CHAT_LIMIT, channelFor, chatErrorText, privateMemberOf, roomOfChannel, visibleChat } from "../../web/src/lib/chat";

const m = (id: string, channel: string, from = "m2", at = 1): ChatMessage => ({
  id,
  channel,
  kind: channel === "all" ? "broadcast" : "message",
  from,
  fromName: from,
  fromRole: from === "m1" ? "facilitator" : "participant",
  text: `text ${id}`,
  at,
});

describe("chat frames", () => {
  it("a snapshot replaces the list, a message is added once, a deletion removes it", () => {
    let list = applyChatFrame([m("old", "room:main")], { type: "snapshot", chat: [m("c1", "room:main")] });
    expect(list.map((x) => x.id)).toEqual(["c1"]);
    list = applyChatFrame(list, { type: "chat", message: m("c2", "room:main") });
    list = applyChatFrame(list, { type: "chat", message: m("c2", "room:main") });
    expect(list.map((x) => x.id)).toEqual(["c1", "c2"]);
    list = applyChatFrame(list, { type: "chatDeleted", messageId: "c1" });
    expect(list.map((x) => x.id)).toEqual(["c2"]);
  });

  it("keeps the browser's list bounded, dropping the oldest", () => {
    let list: ChatMessage[] = [];
    for (let i = 0; i < BROWSER_CHAT_LIMIT + 5; i++) list = applyChatFrame(list, { type: "chat", message: m(`c${i}`, "room:main") });
    expect(list).toHaveLength(BROWSER_CHAT_LIMIT);
    expect(list[0]?.id).toBe("c5");
  });
});

describe("what the chat panel shows", () => {
  const list = [m("main1", "room:main"), m("r1a", "room:r1"), m("r2a", "room:r2"), m("all1", "all", "m1"), m("p2", "private:m2"), m("p3", "private:m3")];

  it("a client sees their room, broadcasts and their own private thread", () => {
    expect(visibleChat(list, { place: "r1", selfId: "m2", staff: false }).map((x) => x.id)).toEqual(["r1a", "all1", "p2"]);
    expect(visibleChat(list, { place: "main", selfId: "m3", staff: false }).map((x) => x.id)).toEqual(["main1", "all1", "p3"]);
  });

  it("staff see every room's chat, broadcasts and every private thread", () => {
    expect(visibleChat(list, { place: "r2", selfId: "m1", staff: true }).map((x) => x.id)).toEqual(list.map((x) => x.id));
  });

  it("someone with no place sees no room's chat", () => {
    expect(visibleChat(list, { place: null, selfId: "m2", staff: false }).map((x) => x.id)).toEqual(["all1", "p2"]);
  });
});

describe("channels", () => {
  it("room messages go to the sender's place, private ones to the client's thread", () => {
    expect(channelFor({ kind: "room" }, "r3")).toBe("room:r3");
    expect(channelFor({ kind: "room" }, "main")).toBe("room:main");
    expect(channelFor({ kind: "private", memberId: "m4" }, "main")).toBe("private:m4");
    expect(privateMemberOf("private:m4")).toBe("m4");
    expect(privateMemberOf("room:main")).toBeNull();
    expect(privateMemberOf("all")).toBeNull();
    expect(roomOfChannel("room:r2")).toBe("r2");
    expect(roomOfChannel("private:m2")).toBeNull();
  });

  it("refusals read calmly, with what to do", () => {
    expect(chatErrorText("RATE_LIMITED", "x")).toMatch(/wait a few seconds/i);
    expect(chatErrorText("INTERNAL", "the server said so")).toBe("the server said so");
  });
});
