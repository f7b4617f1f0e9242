/**
 * The meeting room's session side through a real DO over WebSockets (issue 13): chat per room and private to staff,
 * never to another room; chat in D1 only when the facilitator keeps it; deletion; moderation that holds (Twilio mode:
 * the local server's subscriptions show nobody receives a muted member's audio); hands; a blocked microphone cannot
 * be turned on by its owner; stepping out of a room and back; keeping rooms open; a staff visit answering help.
 */
import { describe, expect, inject, it } from "vitest";
import { Client, d1, flush, sleep, stubFor, sessionWithClients } from "./helpers";

const chats = (c: Client) => c.messages.filter((m) => m.type === "chat").map((m) => m.message);

describe("chat", () => {
  it("a breakout room's chat reaches that room and staff only; main's reaches main; private threads reach staff and that client", async () => {
    const { s, fac, people, stub } = await sessionWithClients(4);
    await fac.command({ type: "createBreakouts", count: 2, mode: "auto" });
    await fac.command({ type: "openBreakouts" });
    await sleep(30);
    const where = (await stub.debugState()).context!.members;
    const [a] = people;
    const room = where[a.memberId].location!;
    const mates = people.filter((p) => where[p.memberId].location === room);
    const others = people.filter((p) => where[p.memberId].location !== room);
    expect((await a.c.command({ type: "sendChat", channel: `room:${room}`, text: "hello room" })).type).toBe("ack");
    // A participant writes only in their own room.
    const wrong = await a.c.command({ type: "sendChat", channel: `room:${others.length ? where[others[0].memberId].location : "main"}`, text: "sneaky" });
    expect(wrong).toMatchObject({ type: "error", error: { code: "FORBIDDEN" } });
    expect((await a.c.command({ type: "sendChat", channel: `private:${a.memberId}`, text: "can we talk?" })).type).toBe("ack");
    const otherPrivate = await a.c.command({ type: "sendChat", channel: `private:${others[0].memberId}`, text: "psst" });
    expect(otherPrivate).toMatchObject({ type: "error", error: { code: "FORBIDDEN" } });
    expect((await fac.command({ type: "sendChat", channel: `private:${a.memberId}`, text: "Of course, in a minute" })).type).toBe("ack");
    await sleep(50);
    for (const p of mates)
      expect(
        chats(p.c).map((m) => m.text),
        p.c.name,
      ).toContain("hello room");
    for (const p of others)
      expect(
        chats(p.c).map((m) => m.text),
        p.c.name,
      ).not.toContain("hello room");
    expect(chats(fac).map((m) => m.text)).toEqual(expect.arrayContaining(["hello room", "can we talk?", "Of course, in a minute"]));
    expect(chats(a.c).map((m) => m.text)).toEqual(["hello room", "can we talk?", "Of course, in a minute"]);
    for (const p of people.slice(1))
      expect(
        chats(p.c).map((m) => m.text),
        p.c.name,
      ).not.toContain("can we talk?");
    // Participants never see who else was in a message's audience.
    expect(a.c.messages.find((m) => m.type === "chat")!.message).not.toHaveProperty("audience");
    // A fresh tab's snapshot carries the chat that member may read, and nothing else.
    const fresh = await Client.connect(s.sessionId, others[0].ticket, "fresh");
    const snap = await fresh.next((m) => m.type === "snapshot");
    expect(snap.chat.map((m: { text: string }) => m.text)).not.toContain("hello room");
    for (const c of [fac, fresh, ...people.map((p) => p.c)]) c.close();
  });

  it("chat is not written to D1 unless the facilitator keeps it; staff delete a message for everyone; broadcasts appear in chat", async () => {
    const { s, fac, people } = await sessionWithClients(2);
    const [a, b] = people;
    await a.c.command({ type: "sendChat", channel: "room:main", text: "off the record" });
    await flush(s.sessionId);
    expect(await d1(`SELECT COUNT(*) AS n FROM chat_messages WHERE session_id = ?`, s.sessionId)).toEqual([{ n: 0 }]);
    await fac.command({ type: "updateSettings", settings: { keepChatInRecord: true } });
    await a.c.command({ type: "sendChat", channel: "room:main", text: "kept" });
    await fac.command({ type: "broadcast", text: "Five minutes" });
    await flush(s.sessionId);
    const rows = await d1(`SELECT channel, kind, text FROM chat_messages WHERE session_id = ? ORDER BY at`, s.sessionId);
    expect(rows).toEqual([
      { channel: "room:main", kind: "message", text: "kept" },
      { channel: "all", kind: "broadcast", text: "Five minutes" },
    ]);
    const kept = chats(b.c).find((m) => m.text === "kept")!;
    expect((await fac.command({ type: "deleteChat", messageId: kept.id })).type).toBe("ack");
    await b.c.next((m) => m.type === "chatDeleted" && m.messageId === kept.id);
    await flush(s.sessionId);
    expect(await d1(`SELECT text, deleted_by FROM chat_messages WHERE id = ?`, `${s.sessionId}:${kept.id}`)).toEqual([{ text: "", deleted_by: s.memberId }]);
    expect((await a.c.command({ type: "deleteChat", messageId: kept.id })).type).toBe("error");
    for (const c of [fac, ...people.map((p) => p.c)]) c.close();
  });
});

describe("moderation", () => {
  it("a muted member cannot unmute themselves until staff allow it; staff and the member hear of it; hands are in order", async () => {
    const { fac, people } = await sessionWithClients(3);
    const [a, b, c] = people;
    await a.c.command({ type: "setMedia", mic: true, cam: true });
    expect((await fac.command({ type: "blockMedia", memberId: a.memberId, kind: "audio" })).type).toBe("ack");
    await a.c.next((m) => m.type === "notice" && m.notice.kind === "mediaBlocked" && m.notice.media === "audio");
    expect(await a.c.command({ type: "setMedia", mic: true })).toMatchObject({ type: "error", error: { code: "MEDIA_BLOCKED" } });
    // Room-mates see the mute on a's tile.
    await b.c.next((m) => m.type === "view" && m.view.roommates.some((r: any) => r.id === a.memberId && r.blocked.audio && !r.media.mic));
    await fac.command({ type: "allowMedia", memberId: a.memberId, kind: "audio" });
    await a.c.next((m) => m.type === "notice" && m.notice.kind === "mediaAllowed");
    expect((await a.c.command({ type: "setMedia", mic: true })).type).toBe("ack");
    // Staff do not moderate staff.
    expect(await fac.command({ type: "blockMedia", memberId: fac.messages[0].you.memberId, kind: "audio" })).toMatchObject({ error: { code: "FORBIDDEN" } });
    // Hands: raised in order, lowered by staff.
    await c.c.command({ type: "raiseHand" });
    await sleep(5);
    await b.c.command({ type: "raiseHand" });
    await sleep(30);
    const st = await stubFor(a.c.messages[0].sessionId).debugState();
    const hands = Object.values(st.context!.members)
      .filter((m: any) => m.hand !== null)
      .sort((x: any, y: any) => x.hand - y.hand)
      .map((m: any) => m.id);
    expect(hands).toEqual([c.memberId, b.memberId]);
    expect(await b.c.command({ type: "lowerHand", memberId: c.memberId })).toMatchObject({ error: { code: "FORBIDDEN" } });
    expect((await fac.command({ type: "lowerHand", memberId: c.memberId })).type).toBe("ack");
    // Mute everyone in the main room: participants only.
    await fac.command({ type: "muteAll" });
    await sleep(30);
    const after = (await stubFor(a.c.messages[0].sessionId).debugState()).context!.members;
    expect(people.every((p) => after[p.memberId].blocked.audio)).toBe(true);
    for (const x of [fac, ...people.map((p) => p.c)]) x.close();
  });

  it("Twilio mode: once a member is muted, the media server has nobody subscribed to their audio (within 2 s)", async () => {
    const { s, fac, people, stub } = await sessionWithClients(2, { mediaProvider: "twilio" });
    const base = `http://127.0.0.1:${inject("twilioPort")}/__local`;
    const local = async (path: string, body?: unknown) =>
      (await fetch(`${base}/${path}`, body === undefined ? {} : { method: "POST", body: JSON.stringify(body) })).json() as Promise<any>;
    for (let i = 0; i < 100 && (await stub.debugState()).context!.media.main?.status !== "ready"; i++) await sleep(20);
    const room = `mb-${s.sessionId}-main`;
    const ids = [s.memberId, ...people.map((p) => p.memberId)];
    for (const id of ids)
      await local(`rooms/${room}/participants`, {
        identity: id,
        tracks: [
          { kind: "audio", name: "microphone" },
          { kind: "video", name: "camera" },
        ],
      });
    // Twilio's callbacks tell the session who arrived (that is when their rules can be set).
    const { callbacks } = await local("callbacks");
    const { api } = await import("./helpers");
    for (const cb of callbacks.filter((x: any) => x.url.includes(`/status-callback/${s.sessionId}`)))
      await api(new URL(cb.url).pathname, {
        body: cb.body,
        headers: { "content-type": "application/x-www-form-urlencoded", "X-Twilio-Signature": cb.signature },
      });
    const [a] = people;
    await fac.command({ type: "blockMedia", memberId: a.memberId, kind: "audio" });
    const end = Date.now() + 2000;
    let subs: Record<string, { audio: string[]; video: string[] }> = {};
    for (;;) {
      subs = (await local(`rooms/${room}/subscriptions`)).subscriptions;
      if (ids.filter((id) => id !== a.memberId).every((id) => !subs[id].audio.includes(a.memberId))) break;
      if (Date.now() > end) throw new Error(`still subscribed after 2 s: ${JSON.stringify(subs)}`);
      await sleep(25);
    }
    for (const id of ids.filter((x) => x !== a.memberId)) expect(subs[id].video, id).toContain(a.memberId);
    const log = (await local("subscribe-rules-log")).entries.filter((e: any) => e.method === "POST");
    expect(log.length).toBeGreaterThanOrEqual(ids.length - 1);
    await fac.command({ type: "allowMedia", memberId: a.memberId, kind: "audio" });
    for (let i = 0; i < 80; i++) {
      subs = (await local(`rooms/${room}/subscriptions`)).subscriptions;
      if (ids.filter((id) => id !== a.memberId).every((id) => subs[id].audio.includes(a.memberId))) break;
      await sleep(25);
    }
    for (const id of ids.filter((x) => x !== a.memberId)) expect(subs[id].audio, id).toContain(a.memberId);
    for (const x of [fac, ...people.map((p) => p.c)]) x.close();
  });
});

describe("rounds", () => {
  it("stepping out to the main room and back; staff hear of it; keeping rooms open does not time an untimed round", async () => {
    const { fac, people, stub } = await sessionWithClients(4);
    await fac.command({ type: "createBreakouts", count: 2, mode: "auto" });
    await fac.command({ type: "openBreakouts" });
    const [a] = people;
    const room = (await stub.debugState()).context!.members[a.memberId].location;
    await a.c.command({ type: "returnToMain" });
    await fac.next((m) => m.type === "notice" && m.notice.kind === "memberReturned" && m.notice.memberId === a.memberId && m.notice.from === room);
    await a.c.next((m) => m.type === "view" && m.view.returnTo?.roomId === room);
    expect((await a.c.command({ type: "returnToRoom" })).type).toBe("ack");
    expect((await stub.debugState()).context!.members[a.memberId].location).toBe(room);
    await fac.command({ type: "closeAll", countdownSeconds: 60 });
    expect((await stub.debugState()).phase).toBe("closing");
    await fac.command({ type: "cancelClosing" });
    const st = await stub.debugState();
    expect(st.phase).toBe("open");
    expect(st.context!.round).toMatchObject({ closesAt: null, endsAt: null });
    for (const x of [fac, ...people.map((p) => p.c)]) x.close();
  });

  it("a staff visit answers the help requests of the room visited", async () => {
    const { fac, people, stub } = await sessionWithClients(4);
    await fac.command({ type: "createBreakouts", count: 2, mode: "auto" });
    await fac.command({ type: "openBreakouts" });
    const [a] = people;
    await a.c.command({ type: "requestHelp", message: "stuck" });
    const room = (await stub.debugState()).context!.members[a.memberId].location!;
    await fac.command({ type: "visitRoom", to: room });
    await a.c.next((m) => m.type === "notice" && m.notice.kind === "helpResolved" && m.notice.memberId === a.memberId);
    await a.c.next((m) => m.type === "view" && m.view.you.helpRequested === false);
    for (const x of [fac, ...people.map((p) => p.c)]) x.close();
  });
});
